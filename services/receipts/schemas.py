"""The receipts API documents, and the data of the events receipts consumes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from services.receipts.models import EventOutcome


class ReceiptRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payment_id: uuid.UUID = Field(..., description="The payment this receipt acknowledges")
    amount: int = Field(..., description="Minor units of the currency")
    currency: str = Field(..., description="ISO 4217 code", examples=["EUR"])
    reference: str = Field(..., description="The municipality's reference of what was paid")
    created_at: datetime


class ReceiptPage(BaseModel):
    items: list[ReceiptRead]
    total: int = Field(..., description="Receipts in all pages")
    limit: int
    offset: int


class PaymentSucceededData(BaseModel):
    """The part of a ``payment.succeeded`` event receipts needs (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    payment_id: uuid.UUID
    amount: int = Field(..., gt=0)
    currency: str = Field(..., min_length=3, max_length=3)
    reference: str = Field(..., min_length=1, max_length=100)


class EventAck(BaseModel):
    event_id: uuid.UUID
    outcome: EventOutcome = Field(..., description="processed, duplicate (already received) or ignored")
