"""Payment state rules."""

from __future__ import annotations

import uuid

import pytest

from services.payments.errors import IllegalTransition
from services.payments.models import TRANSITIONS, Currency, Payment, PaymentState
from services.payments.service import transition


def payment(state: PaymentState) -> Payment:
    return Payment(id=uuid.uuid4(), state=state, amount=1, currency=Currency.EUR)


@pytest.mark.parametrize("source", list(PaymentState))
@pytest.mark.parametrize("target", list(PaymentState))
def test_only_listed_transitions_are_allowed(source: PaymentState, target: PaymentState) -> None:
    p = payment(source)
    if target in TRANSITIONS[source]:
        transition(p, target)
        assert p.state is target
    else:
        with pytest.raises(IllegalTransition) as error:
            transition(p, target)
        assert error.value.status == 409 and p.state is source


def test_settled_states_are_final() -> None:
    assert TRANSITIONS[PaymentState.SUCCEEDED] == frozenset() == TRANSITIONS[PaymentState.FAILED]


def test_two_settlements_racing_cannot_both_win(payments_db_url: str) -> None:
    """Both read the payment as created; the second write finds it changed and is refused."""
    from services.common.db import Database
    from services.common.outbox import Outbox, Subscriptions
    from services.payments.models import OUTBOX_TABLES
    from services.payments.providers import ChargeOutcome
    from services.payments.service import get_payment, settle

    database = Database(payments_db_url)
    outbox = Outbox(OUTBOX_TABLES, Subscriptions())
    try:
        with database.sessionmaker() as session:
            payment = Payment(
                id=uuid.uuid4(),
                amount=100,
                currency=Currency.EUR,
                reference="r",
                description="d",
                return_url="https://x.test/",
                created_by="k",
                provider="sandbox",
            )
            session.add(payment)
            session.commit()
        with database.sessionmaker() as first, database.sessionmaker() as second:
            mine = get_payment(first, payment_id=payment.id)
            theirs = get_payment(second, payment_id=payment.id)
            outcome = ChargeOutcome(succeeded=True, provider="sandbox", transaction_id="t1")
            settle(first, payment=mine, outcome=outcome, outbox=outbox, now=mine.created_at)
            first.commit()
            with pytest.raises(IllegalTransition, match="concurrently"):
                settle(second, payment=theirs, outcome=outcome, outbox=outbox, now=mine.created_at)
            second.rollback()
        with database.sessionmaker() as session:
            assert get_payment(session, payment_id=payment.id).state is PaymentState.SUCCEEDED
            assert session.query(Payment).count() == 1
    finally:
        database.dispose()
