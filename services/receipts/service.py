"""Receipt rules: a receipt for each successful payment, exactly once."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from services.receipts import repository
from services.receipts.errors import EventDataInvalid, ReceiptNotFound
from services.receipts.models import EventOutcome, Receipt
from services.receipts.schemas import PaymentSucceededData

PAYMENT_SUCCEEDED = "payment.succeeded"


def handle_event(session: Session, *, event_type: str, data: Mapping[str, Any]) -> EventOutcome:
    """Apply one newly received event (the inbox has already filtered duplicates)."""
    if event_type != PAYMENT_SUCCEEDED:
        return EventOutcome.IGNORED
    try:
        paid = PaymentSucceededData.model_validate(data)
    except ValidationError as error:
        fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()}))
        raise EventDataInvalid(f"payment.succeeded data is invalid in: {fields}") from error
    record_receipt(session, data=paid)
    return EventOutcome.PROCESSED


def record_receipt(session: Session, *, data: PaymentSucceededData) -> Receipt:
    existing = repository.get_by_payment(session, data.payment_id)
    if existing is not None:
        return existing
    return repository.add_unless_duplicate(
        session,
        Receipt(
            id=uuid.uuid4(),
            payment_id=data.payment_id,
            amount=data.amount,
            currency=data.currency,
            reference=data.reference,
        ),
    )


def get_receipt(session: Session, *, receipt_id: uuid.UUID) -> Receipt:
    receipt = repository.get(session, receipt_id)
    if receipt is None:
        raise ReceiptNotFound(f"No receipt {receipt_id}")
    return receipt


def list_receipts(session: Session, *, limit: int, offset: int) -> tuple[list[Receipt], int]:
    return repository.page(session, limit=limit, offset=offset)
