"""Payment rules: creation, legal state moves, and settling a provider's outcome together with
the event that tells the rest of Tessera (in the same transaction, through the outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.common.db import utcnow
from services.common.outbox import Outbox, record_event
from services.payments import repository
from services.payments.errors import IllegalTransition, PaymentNotFound
from services.payments.models import TRANSITIONS, Payment, PaymentState
from services.payments.providers import CardDetails, ChargeOutcome, PaymentProvider, SandboxProvider
from services.payments.schemas import PaymentCreate

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_FAILED = "payment.failed"


def create_payment(
    session: Session, *, data: PaymentCreate, provider: PaymentProvider, created_by: str
) -> Payment:
    payment = Payment(
        id=uuid.uuid4(),
        state=PaymentState.CREATED,
        amount=data.amount,
        currency=data.currency,
        reference=data.reference,
        description=data.description,
        return_url=str(data.return_url),
        language=data.language,
        created_by=created_by,
        provider=provider.name,
    )
    return repository.add(session, payment)


def get_payment(session: Session, *, payment_id: uuid.UUID, for_update: bool = False) -> Payment:
    payment = repository.get(session, payment_id, for_update=for_update)
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id}")
    return payment


def transition(payment: Payment, target: PaymentState) -> None:
    if target not in TRANSITIONS[payment.state]:
        raise IllegalTransition(
            f"Payment {payment.id} is {payment.state.value} and cannot become {target.value}",
            state=payment.state.value,
        )
    payment.state = target


def settle(
    session: Session, *, payment: Payment, outcome: ChargeOutcome, outbox: Outbox, now: datetime
) -> Payment:
    """Apply a provider's outcome and record ``payment.succeeded`` or ``payment.failed``."""
    transition(payment, PaymentState.SUCCEEDED if outcome.succeeded else PaymentState.FAILED)
    payment.provider = outcome.provider
    payment.provider_transaction_id = outcome.transaction_id
    payment.card_brand = outcome.card_brand
    payment.card_last4 = outcome.card_last4
    payment.failure_code = outcome.decline_code
    if outcome.succeeded:
        payment.paid_at = now
    payment_id = payment.id
    try:
        session.flush()
    except StaleDataError as error:
        raise IllegalTransition(f"Payment {payment_id} was settled concurrently", state="unknown") from error
    payload: dict[str, object] = {
        "payment_id": payment.id,
        "amount": payment.amount,
        "currency": payment.currency,
        "reference": payment.reference,
        "description": payment.description,
        "provider": payment.provider,
        "provider_transaction_id": payment.provider_transaction_id,
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
    }
    if outcome.succeeded:
        payload["paid_at"] = now
    else:
        payload["failure_code"] = payment.failure_code
    record_event(
        session,
        outbox,
        event_type=PAYMENT_SUCCEEDED if outcome.succeeded else PAYMENT_FAILED,
        resource_id=payment.id,
        payload=payload,
    )
    return payment


def pay_with_sandbox_card(
    session: Session,
    *,
    payment_id: uuid.UUID,
    card: CardDetails,
    provider: SandboxProvider,
    outbox: Outbox,
) -> Payment:
    # Row lock on PostgreSQL so two submissions of the same page cannot both settle it.
    payment = get_payment(session, payment_id=payment_id, for_update=True)
    if payment.state is not PaymentState.CREATED:
        raise IllegalTransition(
            f"Payment {payment.id} is already {payment.state.value}", state=payment.state.value
        )
    outcome = provider.charge(card)
    return settle(session, payment=payment, outcome=outcome, outbox=outbox, now=utcnow())
