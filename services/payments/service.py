"""Payment rules: what is owed (payment requests), payments and their legal state moves,
settling a provider's outcome together with the event that tells the rest of Tessera (in the
same transaction, through the outbox), refunds, idempotent creation, and the expiry sweep.

Services only add and flush; the request-scoped session commits at the edge.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.common.db import utcnow
from services.common.outbox import Outbox, record_event
from services.payments import references, repository
from services.payments.currencies import amount_problem, format_amount
from services.payments.errors import (
    AmountMismatch,
    AmountNotChargeable,
    AmountOverMaximum,
    CurrencyMismatch,
    IdempotencyKeyReused,
    IllegalTransition,
    InstalmentAlreadyPaid,
    InvalidCreditorReference,
    PaymentNotFound,
    PaymentNotRefundable,
    PaymentRequestNotFound,
    RefundAmountAvailableMismatch,
    RefundExceedsAvailable,
    RequestAlreadyPaid,
    RequestNotPayable,
    RequestPastDue,
)
from services.payments.models import (
    EXTERNAL,
    TRANSITIONS,
    UNFINISHED,
    Currency,
    ExternalStatus,
    Instalment,
    Payment,
    PaymentRequest,
    PaymentState,
    Refund,
    RefundState,
    RequestState,
)
from services.payments.providers import CardDetails, ChargeOutcome, PaymentProvider, SandboxProvider
from services.payments.schemas import (
    BalanceTransactionRead,
    InstalmentRead,
    Payer,
    PaymentCreate,
    PaymentEventRead,
    PaymentEvents,
    PaymentLinks,
    PaymentRead,
    PaymentRequestCreate,
    PaymentRequestRead,
    PaymentStateRead,
    RefundCreate,
    RefundRead,
    RefundSummary,
    RequestLinks,
)

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"
PAYMENT_REFUNDED = "payment.refunded"

# GOV.UK Pay's error codes for unsuccessful payments, so callers can tell the reasons apart.
STATE_CODES: dict[PaymentState, tuple[str, str]] = {
    PaymentState.DECLINED: ("P0010", "Payment method rejected"),
    PaymentState.EXPIRED: ("P0020", "Payment expired"),
    PaymentState.USER_CANCELLED: ("P0030", "Payment was cancelled by the user"),
    PaymentState.SYSTEM_CANCELLED: ("P0040", "Payment was cancelled by the service"),
    PaymentState.ERROR: ("P0050", "Payment provider returned an error"),
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-currency maximum payment amounts (minor units)."""

    max_amount: dict[Currency, int]


def today() -> date:
    return utcnow().date()


def instalments_of(session: Session, request: PaymentRequest) -> list[Instalment]:
    return repository.instalments(session, request.id)


# --- payment requests -------------------------------------------------------------------------


def _check_amount(amount: int, currency: Currency, limits: Limits) -> None:
    problem = amount_problem(amount, currency)
    if problem:
        raise AmountNotChargeable(problem, field="amount")
    ceiling = limits.max_amount.get(currency)
    if ceiling is not None and amount > ceiling:
        raise AmountOverMaximum(
            f"{format_amount(amount, currency)} is over the maximum of {format_amount(ceiling, currency)}",
            field="amount",
            maximum=ceiling,
        )


def check_request_amounts(data: PaymentRequestCreate, limits: Limits) -> None:
    _check_amount(data.amount, data.currency, limits)
    for part in data.instalments or []:
        problem = amount_problem(part.amount, data.currency)
        if problem:
            raise AmountNotChargeable(problem, field="instalments")


def create_payment_request(
    session: Session, *, data: PaymentRequestCreate, created_by: str, limits: Limits
) -> PaymentRequest:
    check_request_amounts(data, limits)
    request = PaymentRequest(
        id=uuid.uuid4(),
        creditor_reference=references.generate(),
        state=RequestState.OPEN,
        payer_name=data.payer.name,
        payer_tax_code=data.payer.tax_code,
        payer_email=data.payer.email,
        description=data.description,
        category=data.category,
        amount=data.amount,
        amount_paid=0,
        currency=data.currency,
        due_date=data.due_date,
        extra=dict(data.metadata),
        created_by=created_by,
    )
    session.add(request)
    session.flush()  # the instalments refer to it (no ORM relationship orders the inserts)
    for number, part in enumerate(data.instalments or [], start=1):
        session.add(
            Instalment(
                payment_request_id=request.id, number=number, amount=part.amount, due_date=part.due_date
            )
        )
    session.flush()
    return request


def get_payment_request(
    session: Session, *, request_id: uuid.UUID, for_update: bool = False
) -> PaymentRequest:
    request = repository.get_request(session, request_id, for_update=for_update)
    if request is None:
        raise PaymentRequestNotFound(f"No payment request {request_id}")
    return request


def find_payment_request(session: Session, *, creditor_reference: str) -> PaymentRequest:
    try:
        reference = references.normalise(creditor_reference)
    except references.InvalidReference as error:
        raise InvalidCreditorReference(str(error), field="creditor_reference") from error
    request = repository.request_by_reference(session, reference)
    if request is None:
        raise PaymentRequestNotFound(f"No payment request with reference {references.display(reference)}")
    return request


def search_payment_requests(
    session: Session, *, state: RequestState | None, payer_tax_code: str | None, page: int, display_size: int
) -> tuple[list[PaymentRequest], int]:
    filters: list[ColumnElement[bool]] = []
    if state is not None:
        filters.append(PaymentRequest.state == state)
    if payer_tax_code:
        filters.append(PaymentRequest.payer_tax_code == payer_tax_code)
    return repository.search_requests(
        session, filters=filters, offset=(page - 1) * display_size, limit=display_size
    )


def cancel_payment_request(session: Session, *, request_id: uuid.UUID) -> PaymentRequest:
    request = get_payment_request(session, request_id=request_id, for_update=True)
    if request.state not in (RequestState.OPEN, RequestState.EXPIRED):
        raise RequestNotPayable(
            f"Payment request {request.creditor_reference} is {request.state.value} and cannot be cancelled",
            state=request.state.value,
        )
    request.state = RequestState.CANCELLED
    session.flush()
    return request


def request_view(session: Session, request: PaymentRequest, *, public_url: str) -> PaymentRequestRead:
    parts = repository.instalments(session, request.id)
    return PaymentRequestRead(
        payment_request_id=request.id,
        creditor_reference=request.creditor_reference,
        creditor_reference_display=references.display(request.creditor_reference),
        state=request.state,
        payer=Payer(name=request.payer_name, tax_code=request.payer_tax_code, email=request.payer_email),
        description=request.description,
        category=request.category,
        amount=request.amount,
        amount_paid=request.amount_paid,
        amount_due=request.amount - request.amount_paid,
        currency=request.currency,
        due_date=request.due_date,
        instalments=[
            InstalmentRead(
                number=p.number,
                amount=p.amount,
                due_date=p.due_date,
                paid=p.paid_at is not None,
                payment_id=p.payment_id,
            )
            for p in parts
        ],
        metadata=dict(request.extra),
        created_at=request.created_at,
        links=RequestLinks(
            self_=f"/v1/payment-requests/{request.id}",
            pay=f"{public_url}/pay/owed/{request.creditor_reference}",
        ),
    )


@dataclass(frozen=True, slots=True)
class Due:
    """What paying a request (or one of its instalments) takes now."""

    amount: int
    due_date: date
    instalment_number: int | None


def next_due(session: Session, request: PaymentRequest, *, instalment_number: int | None = None) -> Due:
    """What is to be paid on ``request`` (its next unpaid instalment, or the rest), with clear
    refusals when nothing can be paid."""
    if request.state is RequestState.PAID or request.amount_paid >= request.amount:
        raise RequestAlreadyPaid(f"Payment request {request.creditor_reference} is already paid")
    if request.state is RequestState.CANCELLED:
        raise RequestNotPayable(
            f"Payment request {request.creditor_reference} was cancelled", state="cancelled"
        )
    parts = repository.instalments(session, request.id)
    if instalment_number is not None:
        match = [p for p in parts if p.number == instalment_number]
        if not match:
            raise AmountMismatch(
                f"Payment request {request.creditor_reference} has no instalment {instalment_number}",
                field="instalment_number",
            )
        if match[0].paid_at is not None:
            raise InstalmentAlreadyPaid(f"Instalment {instalment_number} is already paid")
        return Due(amount=match[0].amount, due_date=match[0].due_date, instalment_number=instalment_number)
    unpaid = [p for p in parts if p.paid_at is None]
    if unpaid:
        first = unpaid[0]
        return Due(amount=first.amount, due_date=first.due_date, instalment_number=first.number)
    return Due(amount=request.amount - request.amount_paid, due_date=request.due_date, instalment_number=None)


def _check_payable(session: Session, request: PaymentRequest, data: PaymentCreate, today: date) -> Due:
    if data.currency is not request.currency:
        raise CurrencyMismatch(
            f"Payment request {request.creditor_reference} is in {request.currency.value}, "
            f"not {data.currency.value}",
            field="currency",
        )
    due = next_due(session, request, instalment_number=data.instalment_number)
    if request.state is RequestState.EXPIRED or due.due_date < today:
        raise RequestPastDue(
            f"Payment request {request.creditor_reference} was due on {due.due_date.isoformat()}",
            due_date=due.due_date.isoformat(),
        )
    if data.amount != due.amount:
        raise AmountMismatch(
            f"Payment request {request.creditor_reference} asks for "
            f"{format_amount(due.amount, request.currency)} now, not {format_amount(data.amount, data.currency)}",
            field="amount",
            amount_due=due.amount,
        )
    return due


CITIZEN = "citizen"  # created_by of payments a payer opened on the citizen pages


def open_citizen_payment(session: Session, *, request: PaymentRequest, due: Due) -> Payment | None:
    """The payment a payer already opened for what is due now, if still unfinished and not stale."""
    payment = repository.unfinished_for_request(
        session, request.id, due.instalment_number, created_by=CITIZEN
    )
    if payment is None or payment.amount != due.amount:
        return None
    return payment


def expire_overdue_requests(session: Session, *, today: date) -> int:
    """Open requests whose due date has passed with nothing paid become expired."""
    overdue = repository.open_requests_due_before(session, today)
    for request in overdue:
        request.state = RequestState.EXPIRED
    session.flush()
    return len(overdue)


# --- payments ---------------------------------------------------------------------------------


def create_payment(
    session: Session,
    *,
    data: PaymentCreate,
    provider: PaymentProvider,
    created_by: str,
    limits: Limits,
    now: datetime | None = None,
    payment_id: uuid.UUID | None = None,
) -> Payment:
    now = now or utcnow()
    _check_amount(data.amount, data.currency, limits)
    instalment_number = data.instalment_number
    reference, description = data.reference, data.description
    if data.payment_request_id is not None:
        request = get_payment_request(session, request_id=data.payment_request_id, for_update=True)
        instalment_number = _check_payable(session, request, data, now.date()).instalment_number
        reference = reference or request.creditor_reference
        description = description or request.description
    if reference is None or description is None:  # pragma: no cover  (the schema requires them)
        raise AmountMismatch("reference and description are required", field="reference")
    elif data.instalment_number is not None:
        raise AmountMismatch("instalment_number needs a payment_request_id", field="instalment_number")
    payment = Payment(
        id=payment_id or uuid.uuid4(),
        state=PaymentState.CREATED,
        amount=data.amount,
        currency=data.currency,
        reference=reference,
        description=description,
        return_url=str(data.return_url),
        language=data.language,
        created_by=created_by,
        provider=provider.name,
        payment_request_id=data.payment_request_id,
        instalment_number=instalment_number,
        created_at=now,
    )
    checkout = provider.begin(
        payment_id=payment.id,
        amount=payment.amount,
        currency=payment.currency.value,
        description=description,
    )
    payment.provider_transaction_id = checkout.provider_id
    payment.provider_client_secret = checkout.client_secret
    repository.add_new(session, payment)
    return payment


def get_payment(session: Session, *, payment_id: uuid.UUID, for_update: bool = False) -> Payment:
    payment = repository.get(session, payment_id, for_update=for_update)
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id}")
    return payment


def search_payments(
    session: Session,
    *,
    reference: str | None = None,
    status: ExternalStatus | None = None,
    from_date: datetime | None = None,
    to_date: datetime | None = None,
    payment_request_id: uuid.UUID | None = None,
    page: int = 1,
    display_size: int = 50,
) -> tuple[list[Payment], int]:
    filters: list[ColumnElement[bool]] = []
    if reference:
        filters.append(Payment.reference == reference)
    if status is not None:
        filters.append(Payment.state.in_([s for s, ext in EXTERNAL.items() if ext is status]))
    if from_date is not None:
        filters.append(Payment.created_at >= from_date)
    if to_date is not None:
        filters.append(Payment.created_at < to_date)
    if payment_request_id is not None:
        filters.append(Payment.payment_request_id == payment_request_id)
    return repository.search(session, filters=filters, offset=(page - 1) * display_size, limit=display_size)


def transition(payment: Payment, target: PaymentState) -> None:
    if target not in TRANSITIONS[payment.state]:
        raise IllegalTransition(
            f"Payment {payment.id} is {payment.state.value} and cannot become {target.value}",
            state=EXTERNAL[payment.state].value,
        )
    payment.state = target


def _move(session: Session, payment: Payment, target: PaymentState, now: datetime) -> None:
    transition(payment, target)
    payment.updated_at = now
    payment_id = payment.id
    try:
        session.flush()
    except StaleDataError as error:
        raise IllegalTransition(f"Payment {payment_id} was changed concurrently", state="unknown") from error
    repository.add_event(session, payment_id, target, now)


def mark_started(session: Session, *, payment: Payment, now: datetime) -> None:
    """The payer opened the payment page (once; later visits change nothing)."""
    if payment.state is PaymentState.CREATED:
        _move(session, payment, PaymentState.STARTED, now)


def mark_submitted(session: Session, *, payment: Payment, now: datetime) -> None:
    """The provider is processing the payer's card: the outcome will follow."""
    _move(session, payment, PaymentState.SUBMITTED, now)


def _payer_payload(session: Session, payment: Payment) -> dict[str, Any]:
    if payment.payment_request_id is None:
        return {"payer": None, "category": None, "creditor_reference": None, "payment_request_id": None}
    request = get_payment_request(session, request_id=payment.payment_request_id)
    return {
        "payer": {
            "name": request.payer_name,
            "tax_code": request.payer_tax_code,
            "email": request.payer_email,
            "language": payment.language,
        },
        "category": request.category,
        "creditor_reference": request.creditor_reference,
        "payment_request_id": request.id,
    }


def event_payload(session: Session, payment: Payment) -> dict[str, Any]:
    """What every payment event carries: enough for a receipt without calling back."""
    return {
        "payment_id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "reference": payment.reference,
        "description": payment.description,
        "purpose": payment.description,
        "language": payment.language,
        "state": EXTERNAL[payment.state],
        "provider": payment.provider,
        "provider_transaction_id": payment.provider_transaction_id,
        "method": "card",
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
        "fee": payment.fee,
        "net_amount": payment.net_amount,
        "instalment_number": payment.instalment_number,
        **_payer_payload(session, payment),
    }


def _apply_to_request(session: Session, payment: Payment, now: datetime) -> bool:
    """Credit a successful payment to its request; False when the request was already paid
    (a second payment raced the first: the money is there, an officer refunds it)."""
    if payment.payment_request_id is None:
        return True
    request = get_payment_request(session, request_id=payment.payment_request_id, for_update=True)
    if request.state is RequestState.CANCELLED:
        return False
    if payment.instalment_number is not None:
        part = next(
            (p for p in repository.instalments(session, request.id) if p.number == payment.instalment_number),
            None,
        )
        if part is None or part.paid_at is not None:
            return False
        part.paid_at, part.payment_id = now, payment.id
    elif request.amount_paid + payment.amount > request.amount:
        return False
    request.amount_paid = min(request.amount, request.amount_paid + payment.amount)
    request.state = (
        RequestState.PAID if request.amount_paid >= request.amount else RequestState.PARTIALLY_PAID
    )
    session.flush()
    return True


def settle(
    session: Session, *, payment: Payment, outcome: ChargeOutcome, outbox: Outbox, now: datetime
) -> Payment:
    """Apply a provider's outcome and record ``payment.succeeded`` or ``payment.failed``."""
    if outcome.succeeded:
        target = PaymentState.SUCCEEDED
    elif outcome.cancelled:
        target = PaymentState.SYSTEM_CANCELLED
    else:
        target = PaymentState.DECLINED
    transition(payment, target)
    payment.provider = outcome.provider
    payment.provider_transaction_id = outcome.transaction_id
    payment.card_brand = outcome.card_brand or payment.card_brand
    payment.card_last4 = outcome.card_last4 or payment.card_last4
    payment.failure_code = outcome.decline_code
    if outcome.fee is not None:
        payment.fee, payment.net_amount = outcome.fee, outcome.net
    if outcome.balance_transaction_id:
        repository.add_balance_transaction(
            session,
            {
                "provider": outcome.provider,
                "transaction_id": outcome.balance_transaction_id,
                "payment_id": payment.id,
                "kind": "charge",
                "amount": payment.amount,
                "fee": outcome.fee or 0,
                "net": outcome.net if outcome.net is not None else payment.amount,
                "currency": payment.currency.value,
                "created_at": now,
            },
        )
    if outcome.succeeded:
        payment.paid_at = now
    payment.updated_at = now
    payment_id = payment.id
    try:
        session.flush()
    except StaleDataError as error:
        raise IllegalTransition(f"Payment {payment_id} was settled concurrently", state="unknown") from error
    repository.add_event(session, payment_id, target, now)
    payload = event_payload(session, payment)
    if outcome.succeeded:
        payload["paid_at"] = now
        payload["balance_transaction_id"] = outcome.balance_transaction_id
        payload["credited_to_request"] = _apply_to_request(session, payment, now)
        event_type = PAYMENT_SUCCEEDED
    else:
        payload["failure_code"] = payment.failure_code or STATE_CODES[target][0]
        event_type = PAYMENT_FAILED
    record_event(session, outbox, event_type=event_type, resource_id=payment.id, payload=payload)
    return payment


def _finish_without_charge(
    session: Session, *, payment: Payment, target: PaymentState, outbox: Outbox, now: datetime
) -> None:
    _move(session, payment, target, now)
    payload = event_payload(session, payment)
    payload["failure_code"] = STATE_CODES[target][0]
    record_event(session, outbox, event_type=PAYMENT_FAILED, resource_id=payment.id, payload=payload)


def pay_with_sandbox_card(
    session: Session,
    *,
    payment_id: uuid.UUID,
    card: CardDetails,
    provider: SandboxProvider,
    outbox: Outbox,
    now: datetime | None = None,
) -> Payment:
    now = now or utcnow()
    # Row lock on PostgreSQL so two submissions of the same page cannot both settle it.
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    if payment.state not in (PaymentState.CREATED, PaymentState.STARTED):
        raise IllegalTransition(
            f"Payment {payment.id} is already {EXTERNAL[payment.state].value}",
            state=EXTERNAL[payment.state].value,
        )
    outcome = provider.charge(card)
    return settle(session, payment=payment, outcome=outcome, outbox=outbox, now=now)


def cancel_payment(
    session: Session,
    *,
    payment_id: uuid.UUID,
    provider: PaymentProvider,
    outbox: Outbox,
    by_payer: bool = False,
    now: datetime | None = None,
) -> Payment:
    """Cancel an unfinished payment (the service through the API, or the payer on the page)."""
    now = now or utcnow()
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    target = PaymentState.USER_CANCELLED if by_payer else PaymentState.SYSTEM_CANCELLED
    if target not in TRANSITIONS[payment.state]:
        raise IllegalTransition(
            f"Payment {payment.id} is {EXTERNAL[payment.state].value} and cannot be cancelled",
            state=EXTERNAL[payment.state].value,
        )
    if payment.provider_transaction_id and not provider.cancel(payment.provider_transaction_id):
        # The provider settled it meanwhile: take its word rather than cancelling.
        outcome = provider.lookup(payment.provider_transaction_id)
        if outcome is not None:
            return settle(session, payment=payment, outcome=outcome, outbox=outbox, now=now)
        raise IllegalTransition(f"Payment {payment.id} is being processed by the provider", state="submitted")
    _finish_without_charge(session, payment=payment, target=target, outbox=outbox, now=now)
    return payment


@dataclass(frozen=True, slots=True)
class SweepResult:
    expired: int = 0
    settled: int = 0
    still_pending: int = 0
    requests_expired: int = 0


def sweep(
    session: Session,
    *,
    provider: PaymentProvider,
    outbox: Outbox,
    now: datetime,
    expiry: timedelta = timedelta(minutes=90),
    recheck_after: timedelta = timedelta(minutes=5),
) -> SweepResult:
    """Expire unfinished payments older than ``expiry`` and re-check with the provider those
    left submitted: a payment the provider may have charged is asked about, never guessed."""
    expired = settled = pending = 0
    seen: set[uuid.UUID] = set()
    candidates = repository.submitted_before(
        session, before=now - recheck_after
    ) + repository.stale_unfinished(session, created_before=now - expiry)
    for payment in candidates:
        if payment.id in seen or payment.state not in UNFINISHED:
            continue
        seen.add(payment.id)
        too_old = payment.created_at < now - expiry
        if payment.provider_transaction_id:
            outcome = provider.lookup(payment.provider_transaction_id)
            if outcome is not None:
                settle(session, payment=payment, outcome=outcome, outbox=outbox, now=now)
                settled += 1
                continue
            if not too_old or not provider.cancel(payment.provider_transaction_id):
                pending += 1
                continue
        elif not too_old:
            continue
        _finish_without_charge(session, payment=payment, target=PaymentState.EXPIRED, outbox=outbox, now=now)
        expired += 1
    requests_expired = expire_overdue_requests(session, today=now.date())
    return SweepResult(
        expired=expired, settled=settled, still_pending=pending, requests_expired=requests_expired
    )


def payment_view(session: Session, payment: Payment, provider: PaymentProvider) -> PaymentRead:
    unfinished = payment.state in UNFINISHED
    code = STATE_CODES.get(payment.state)
    # Only a successful payment can have refunds: skip the query for the others (every creation).
    succeeded = payment.state is PaymentState.SUCCEEDED
    refunded, submitted = repository.refunded_amounts(session, payment.id) if succeeded else (0, 0)
    available = payment.amount - refunded - submitted if succeeded else 0
    if not succeeded:
        refund_status = "unavailable"
    elif available > 0:
        refund_status = "available"
    elif submitted:
        refund_status = "pending"
    else:
        refund_status = "full"
    base = f"/v1/payments/{payment.id}"
    return PaymentRead(
        payment_id=payment.id,
        state=PaymentStateRead(
            status=EXTERNAL[payment.state],
            finished=not unfinished,
            code=code[0] if code else None,
            message=code[1] if code else None,
        ),
        amount=payment.amount,
        currency=payment.currency,
        reference=payment.reference,
        description=payment.description,
        return_url=payment.return_url,
        language=payment.language,
        provider=payment.provider,
        provider_id=payment.provider_transaction_id,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        fee=payment.fee,
        net_amount=payment.net_amount,
        payment_request_id=payment.payment_request_id,
        instalment_number=payment.instalment_number,
        refund_summary=RefundSummary(
            status=refund_status, amount_available=available, amount_submitted=submitted
        ),
        created_at=payment.created_at,
        paid_at=payment.paid_at,
        links=PaymentLinks(
            self_=base,
            next_url=provider.checkout_url(payment.id) if unfinished else None,
            events=f"{base}/events",
            refunds=f"{base}/refunds",
            cancel=f"{base}/cancel" if unfinished else None,
        ),
    )


def payment_events(session: Session, *, payment_id: uuid.UUID) -> PaymentEvents:
    get_payment(session, payment_id=payment_id)
    return PaymentEvents(
        payment_id=payment_id,
        events=[
            PaymentEventRead(
                state=PaymentStateRead(
                    status=EXTERNAL[e.state],
                    finished=e.state not in UNFINISHED,
                    code=STATE_CODES[e.state][0] if e.state in STATE_CODES else None,
                    message=STATE_CODES[e.state][1] if e.state in STATE_CODES else None,
                ),
                internal_state=e.state.value,
                occurred_at=e.occurred_at,
            )
            for e in repository.events(session, payment_id)
        ],
    )


def balance_transactions(session: Session, *, payment_id: uuid.UUID) -> list[BalanceTransactionRead]:
    get_payment(session, payment_id=payment_id)
    return [
        BalanceTransactionRead(
            transaction_id=t.transaction_id,
            kind=t.kind,
            amount=t.amount,
            fee=t.fee,
            net=t.net,
            currency=t.currency,
            payout_id=t.payout_id,
            created_at=t.created_at,
        )
        for t in repository.balance_transactions(session, payment_id)
    ]


# --- refunds ----------------------------------------------------------------------------------


def refund_view(refund: Refund) -> RefundRead:
    return RefundRead(
        refund_id=refund.id,
        payment_id=refund.payment_id,
        amount=refund.amount,
        status=refund.state,
        provider_refund_id=refund.provider_refund_id,
        created_at=refund.created_at,
    )


def create_refund(
    session: Session,
    *,
    payment_id: uuid.UUID,
    data: RefundCreate,
    provider: PaymentProvider,
    outbox: Outbox,
    created_by: str,
    now: datetime | None = None,
) -> Refund:
    now = now or utcnow()
    # Locking the payment row serialises refunds of one payment (and the version bump below
    # makes a racing refund on SQLite fail instead of both passing the availability check).
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    if payment.state is not PaymentState.SUCCEEDED or not payment.provider_transaction_id:
        raise PaymentNotRefundable(
            f"Payment {payment.id} is {EXTERNAL[payment.state].value}: only successful payments are refunded",
            state=EXTERNAL[payment.state].value,
        )
    refunded, submitted = repository.refunded_amounts(session, payment.id)
    available = payment.amount - refunded - submitted
    if data.refund_amount_available != available:
        raise RefundAmountAvailableMismatch(
            f"refund_amount_available is {available}, not {data.refund_amount_available}: "
            "another refund was made meanwhile",
            refund_amount_available=available,
        )
    if data.amount > available:
        raise RefundExceedsAvailable(
            f"Only {format_amount(available, payment.currency)} can still be refunded", field="amount"
        )
    payment.updated_at = now
    try:
        session.flush()  # bumps the version: a concurrent refund of this payment now conflicts
    except StaleDataError as error:
        raise RefundAmountAvailableMismatch(
            f"Payment {payment_id} was refunded concurrently", refund_amount_available=None
        ) from error
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        amount=data.amount,
        state=RefundState.SUBMITTED,
        created_by=created_by,
        created_at=now,
    )
    session.add(refund)
    session.flush()
    outcome = provider.refund(
        refund_id=refund.id, provider_id=payment.provider_transaction_id, amount=data.amount
    )
    refund.provider_refund_id = outcome.provider_refund_id
    if outcome.succeeded is not None:
        settle_refund(session, refund=refund, succeeded=outcome.succeeded, outbox=outbox, now=now)
    session.flush()
    return refund


def settle_refund(
    session: Session, *, refund: Refund, succeeded: bool, outbox: Outbox, now: datetime
) -> bool:
    """A refund's final outcome; ``payment.refunded`` once the money is on its way back.
    False when the refund was settled before (nothing changes)."""
    if refund.state is not RefundState.SUBMITTED:
        return False
    refund.state = RefundState.SUCCESS if succeeded else RefundState.ERROR
    refund.settled_at = now
    session.flush()
    if not succeeded:
        return True
    payment = get_payment(session, payment_id=refund.payment_id)
    refunded, submitted = repository.refunded_amounts(session, payment.id)
    payload = event_payload(session, payment)
    payload.update(
        refund_id=refund.id,
        provider_refund_id=refund.provider_refund_id,
        refund_amount=refund.amount,
        total_refunded=refunded,
        refund_amount_available=payment.amount - refunded - submitted,
        fully_refunded=refunded >= payment.amount,
        refunded_at=now,
    )
    record_event(session, outbox, event_type=PAYMENT_REFUNDED, resource_id=payment.id, payload=payload)
    return True


def list_refunds(session: Session, *, payment_id: uuid.UUID) -> list[Refund]:
    get_payment(session, payment_id=payment_id)
    return repository.refunds(session, payment_id)


# --- idempotency ------------------------------------------------------------------------------


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Replayed:
    status_code: int
    body: dict[str, Any]


def idempotent(
    session: Session,
    *,
    caller: str,
    operation: str,
    key: str | None,
    body: Any,
    produce: Callable[[], tuple[int, dict[str, Any]]],
    now: datetime | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """Run ``produce`` once per (caller, operation, key): (status, body, replayed).

    The key row is inserted first, before any other statement of the transaction: a concurrent
    duplicate then waits on the unique constraint (PostgreSQL) or the write lock (SQLite) until
    the first commits, inserts nothing, and returns the stored response. If ``produce`` fails the
    whole transaction rolls back, key included, so a retry runs afresh.
    """
    if key is None:
        status, response = produce()
        return status, response, False
    digest = fingerprint(body)
    claimed = repository.claim_idempotency(
        session, caller=caller, operation=operation, key=key, fingerprint=digest, now=now or utcnow()
    )
    if not claimed:
        record = repository.idempotency_record(session, caller=caller, operation=operation, key=key)
        if record is None:  # pragma: no cover  (the conflicting row committed before we looked)
            raise IdempotencyKeyReused("This Idempotency-Key is being used by another request")
        if record.fingerprint != digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body", key=key
            )
        return record.status_code, dict(record.response), True
    status, response = produce()
    repository.store_idempotent_response(
        session, caller=caller, operation=operation, key=key, status_code=status, response=response
    )
    return status, response, False
