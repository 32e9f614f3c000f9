"""Payment rules: the state machine, settlement races, the expiry sweep with an injected clock,
stuck payments re-checked with the provider, refunds, and what a payment request accepts."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.outbox import Outbox, Subscriptions
from services.payments import service
from services.payments.errors import (
    AmountMismatch,
    AmountNotChargeable,
    AmountOverMaximum,
    CurrencyMismatch,
    IllegalTransition,
    InstalmentAlreadyPaid,
    RefundAmountAvailableMismatch,
    RefundExceedsAvailable,
    RequestAlreadyPaid,
    RequestNotPayable,
    RequestPastDue,
)
from services.payments.models import (
    OUTBOX_TABLES,
    TRANSITIONS,
    UNFINISHED,
    Currency,
    Payment,
    PaymentRequest,
    PaymentState,
    RequestState,
)
from services.payments.providers import ChargeOutcome, Checkout, RefundOutcome, SandboxProvider
from services.payments.schemas import PaymentCreate, PaymentRequestCreate, RefundCreate

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LIMITS = service.Limits(max_amount={Currency.EUR: 100_000, Currency.HUF: 10_000_000})
OUTBOX = Outbox(OUTBOX_TABLES, Subscriptions())


def payment(state: PaymentState) -> Payment:
    return Payment(id=uuid.uuid4(), state=state, amount=1, currency=Currency.EUR)


@pytest.mark.parametrize("source", list(PaymentState))
@pytest.mark.parametrize("target", list(PaymentState))
def test_only_listed_transitions_are_allowed(source: PaymentState, target: PaymentState) -> None:
    p = payment(source)
    if target in TRANSITIONS[source]:
        service.transition(p, target)
        assert p.state is target
    else:
        with pytest.raises(IllegalTransition) as error:
            service.transition(p, target)
        assert error.value.status == 409 and p.state is source


def test_finished_states_are_final_and_only_unfinished_ones_move() -> None:
    for state in PaymentState:
        assert bool(TRANSITIONS[state]) == (state in UNFINISHED)


def owed(session: Session, **overrides: object) -> PaymentRequest:
    body: dict[str, object] = {
        "payer": {"name": "Maria Rossi", "tax_code": "RSSMRA80A01H501U"},
        "description": "Waste tax",
        "category": "TARI",
        "amount": 10_000,
        "currency": "EUR",
        "due_date": "2026-12-31",
    }
    body.update(overrides)
    request = service.create_payment_request(
        session, data=PaymentRequestCreate.model_validate(body), created_by="k", limits=LIMITS
    )
    session.commit()
    return request


def pay_for(session: Session, request_id: uuid.UUID, amount: int, **extra: object) -> Payment:
    data = PaymentCreate.model_validate(
        {
            "amount": amount,
            "currency": extra.pop("currency", "EUR"),
            "reference": "r",
            "description": "d",
            "return_url": "https://x.test/",
            "payment_request_id": str(request_id),
            **extra,
        }
    )
    return service.create_payment(
        session, data=data, provider=SandboxProvider("http://p.test"), created_by="k", limits=LIMITS, now=NOW
    )


def succeed(session: Session, p: Payment, at: datetime = NOW) -> None:
    outcome = ChargeOutcome(succeeded=True, provider="sandbox", transaction_id=f"t-{p.id}")
    service.settle(session, payment=p, outcome=outcome, outbox=OUTBOX, now=at)
    session.commit()


def test_paying_a_request_in_full_marks_it_paid_and_refuses_more(session: Session) -> None:
    request = owed(session)
    p = pay_for(session, request.id, 10_000)
    succeed(session, p)
    assert (request.state, request.amount_paid) == (RequestState.PAID, 10_000)
    with pytest.raises(RequestAlreadyPaid):
        pay_for(session, request.id, 10_000)


def test_instalments_are_paid_one_by_one(session: Session) -> None:
    request = owed(
        session,
        amount=9_000,
        instalments=[
            {"amount": 3_000, "due_date": "2026-11-30"},
            {"amount": 6_000, "due_date": "2026-12-31"},
        ],
    )
    with pytest.raises(AmountMismatch):
        pay_for(session, request.id, 9_000)  # the first instalment is what is due now
    first = pay_for(session, request.id, 3_000)
    assert first.instalment_number == 1
    succeed(session, first)
    assert (request.state, request.amount_paid) == (RequestState.PARTIALLY_PAID, 3_000)
    with pytest.raises(InstalmentAlreadyPaid):
        pay_for(session, request.id, 3_000, instalment_number=1)
    second = pay_for(session, request.id, 6_000)
    assert second.instalment_number == 2
    succeed(session, second)
    assert (request.state, request.amount_paid) == (RequestState.PAID, 9_000)


@pytest.mark.parametrize(
    ("overrides", "amount", "error"),
    [
        ({"due_date": "2026-11-21"}, 10_000, RequestPastDue),
        ({}, 9_999, AmountMismatch),
        ({"currency": "HUF", "amount": 100_000}, 100_000, CurrencyMismatch),
    ],
)
def test_requests_refuse_what_they_do_not_ask_for(
    session: Session, overrides: dict[str, object], amount: int, error: type[Exception]
) -> None:
    request = owed(session, **overrides)
    with pytest.raises(error):
        pay_for(session, request.id, amount)


def test_cancelled_request_cannot_be_paid_and_amount_rules(session: Session) -> None:
    request = owed(session)
    service.cancel_payment_request(session, request_id=request.id)
    with pytest.raises(RequestNotPayable):
        pay_for(session, request.id, 10_000)
    with pytest.raises(AmountOverMaximum):
        owed(session, amount=100_001)
    with pytest.raises(AmountNotChargeable, match="whole units"):
        owed(session, currency="HUF", amount=123_450)


def test_creditor_references_are_valid_and_distinct(session: Session) -> None:
    from services.payments import references

    made = {owed(session).creditor_reference for _ in range(20)}
    assert len(made) == 20
    assert all(references.normalise(r) == r for r in made)


class SlowProvider(SandboxProvider):
    """A provider whose payments stay undecided until told otherwise."""

    def __init__(self) -> None:
        super().__init__("http://p.test")
        self.outcomes: dict[str, ChargeOutcome | None] = {}
        self.cancellable = True
        self.cancelled: list[str] = []

    def begin(self, *, payment_id: uuid.UUID, amount: int, currency: str, description: str) -> Checkout:
        self.outcomes[f"pi_{payment_id}"] = None
        return Checkout(provider_id=f"pi_{payment_id}", client_secret="secret")

    def lookup(self, provider_id: str) -> ChargeOutcome | None:
        return self.outcomes[provider_id]

    def cancel(self, provider_id: str) -> bool:
        self.cancelled.append(provider_id)
        return self.cancellable

    def refund(self, *, refund_id: uuid.UUID, provider_id: str, amount: int) -> RefundOutcome:
        return RefundOutcome(provider_refund_id=f"re_{refund_id}", succeeded=None)


def new_payment(session: Session, provider: SandboxProvider, at: datetime) -> Payment:
    data = PaymentCreate(amount=500, reference="r", description="d", return_url="https://x.test/")
    p = service.create_payment(session, data=data, provider=provider, created_by="k", limits=LIMITS, now=at)
    session.commit()
    return p


def events_of(session: Session) -> list[str]:
    return list(
        session.scalars(select(OUTBOX_TABLES.events.c.type).order_by(OUTBOX_TABLES.events.c.sequence))
    )


def test_sweep_expires_unfinished_payments_after_90_minutes(session: Session) -> None:
    provider = SandboxProvider("http://p.test")
    old = new_payment(session, provider, NOW - timedelta(minutes=91))
    young = new_payment(session, provider, NOW - timedelta(minutes=89))
    result = service.sweep(session, provider=provider, outbox=OUTBOX, now=NOW)
    session.commit()
    assert (result.expired, old.state, young.state) == (1, PaymentState.EXPIRED, PaymentState.CREATED)
    assert events_of(session) == ["payment.failed"]
    assert service.payment_view(session, old, provider).state.status == "expired"
    # Ten minutes later the young one goes too; the expired one is not touched again.
    result = service.sweep(session, provider=provider, outbox=OUTBOX, now=NOW + timedelta(minutes=10))
    assert (result.expired, young.state) == (1, PaymentState.EXPIRED)


def test_stuck_payment_is_asked_about_not_guessed(session: Session) -> None:
    provider = SlowProvider()
    stuck = new_payment(session, provider, NOW - timedelta(minutes=30))
    service.mark_submitted(session, payment=stuck, now=NOW - timedelta(minutes=30))
    session.commit()
    # Undecided at the provider: left as it is, not expired (the card may have been charged).
    assert service.sweep(session, provider=provider, outbox=OUTBOX, now=NOW).still_pending == 1
    assert stuck.state is PaymentState.SUBMITTED
    # Later than 90 minutes and the provider refuses to cancel (it is charging): still left.
    provider.cancellable = False
    later = NOW + timedelta(minutes=70)
    assert service.sweep(session, provider=provider, outbox=OUTBOX, now=later).still_pending == 1
    assert stuck.state is PaymentState.SUBMITTED
    # The provider now knows: the sweep settles it with the provider's outcome.
    provider.outcomes[str(stuck.provider_transaction_id)] = ChargeOutcome(
        succeeded=True, provider="sandbox", transaction_id=str(stuck.provider_transaction_id), fee=15, net=485
    )
    assert service.sweep(session, provider=provider, outbox=OUTBOX, now=later).settled == 1
    assert (stuck.state, stuck.fee, stuck.net_amount) == (PaymentState.SUCCEEDED, 15, 485)
    assert events_of(session) == ["payment.succeeded"]


def test_expired_payment_at_a_provider_is_cancelled_there(session: Session) -> None:
    provider = SlowProvider()
    p = new_payment(session, provider, NOW - timedelta(hours=2))
    assert service.sweep(session, provider=provider, outbox=OUTBOX, now=NOW).expired == 1
    assert provider.cancelled == [p.provider_transaction_id] and p.state is PaymentState.EXPIRED


def test_overdue_open_requests_expire(session: Session) -> None:
    request = owed(session, due_date="2026-11-21")
    paid_part = owed(session, due_date="2026-12-31")
    assert service.expire_overdue_requests(session, today=date(2026, 11, 22)) == 1
    assert request.state is RequestState.EXPIRED and paid_part.state is RequestState.OPEN


def test_refunds_check_the_amount_available(session: Session) -> None:
    provider = SandboxProvider("http://p.test")
    p = new_payment(session, provider, NOW)
    with pytest.raises(IllegalTransition.__mro__[1]):  # not refundable before it succeeds (409)
        service.create_refund(
            session,
            payment_id=p.id,
            data=RefundCreate(amount=100, refund_amount_available=500),
            provider=provider,
            outbox=OUTBOX,
            created_by="k",
        )
    succeed(session, p)

    def refund(amount: int, available: int) -> None:
        service.create_refund(
            session,
            payment_id=p.id,
            data=RefundCreate(amount=amount, refund_amount_available=available),
            provider=provider,
            outbox=OUTBOX,
            created_by="k",
        )
        session.commit()

    refund(200, 500)
    with pytest.raises(RefundAmountAvailableMismatch) as stale:
        refund(100, 500)
    assert stale.value.status == 412 and stale.value.extra["refund_amount_available"] == 300
    session.rollback()
    with pytest.raises(RefundExceedsAvailable):
        refund(301, 300)
    session.rollback()
    refund(300, 300)
    view = service.payment_view(session, p, provider)
    assert (view.refund_summary.status, view.refund_summary.amount_available) == ("full", 0)
    assert events_of(session) == ["payment.succeeded", "payment.refunded", "payment.refunded"]


def test_two_settlements_racing_cannot_both_win(payments_db_url: str) -> None:
    """Both read the payment as created; the second write finds it changed and is refused."""
    database = Database(payments_db_url)
    try:
        with database.sessionmaker() as session:
            p = new_payment(session, SandboxProvider("http://p.test"), NOW)
        with database.sessionmaker() as first, database.sessionmaker() as second:
            mine = service.get_payment(first, payment_id=p.id)
            theirs = service.get_payment(second, payment_id=p.id)
            outcome = ChargeOutcome(succeeded=True, provider="sandbox", transaction_id="t1")
            service.settle(first, payment=mine, outcome=outcome, outbox=OUTBOX, now=NOW)
            first.commit()
            with pytest.raises(IllegalTransition, match="concurrently"):
                service.settle(second, payment=theirs, outcome=outcome, outbox=OUTBOX, now=NOW)
            second.rollback()
        with database.sessionmaker() as session:
            assert service.get_payment(session, payment_id=p.id).state is PaymentState.SUCCEEDED
    finally:
        database.dispose()


def test_the_app_runs_the_sweep_in_the_background_with_its_clock(payments_settings: object) -> None:
    from fastapi.testclient import TestClient

    from services.payments.app import create_app

    settings = payments_settings.model_copy(update={"sweep_interval_seconds": 0.05})  # type: ignore[attr-defined]
    late = datetime.now(UTC) + timedelta(minutes=91)
    app = create_app(settings, clock=lambda: late)
    database = Database(settings.resolved_database_url())
    try:
        with database.sessionmaker() as session:
            p = new_payment(session, SandboxProvider("http://p.test"), datetime.now(UTC))
        with TestClient(app):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with database.sessionmaker() as session:
                    if service.get_payment(session, payment_id=p.id).state is PaymentState.EXPIRED:
                        break
                time.sleep(0.05)
        with database.sessionmaker() as session:
            assert service.get_payment(session, payment_id=p.id).state is PaymentState.EXPIRED
    finally:
        database.dispose()


def test_money_for_a_request_cancelled_meanwhile_is_not_credited(session: Session) -> None:
    request = owed(session)
    p = pay_for(session, request.id, 10_000)
    service.cancel_payment_request(session, request_id=request.id)
    succeed(session, p)
    assert (request.state, request.amount_paid, p.state) == (
        RequestState.CANCELLED,
        0,
        PaymentState.SUCCEEDED,
    )
    payload = session.scalars(select(OUTBOX_TABLES.events.c.payload)).one()
    assert payload["credited_to_request"] is False
