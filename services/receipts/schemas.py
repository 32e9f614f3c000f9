"""The receipts API documents, and the data of the events receipts consumes.

Event data is read leniently about what it may omit (the payments service grows richer payloads
over time: payer, purpose, category, creditor reference, lines, fees) and strictly about what it
holds: a field that is present must be valid.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from services.common.bounds import Day
from services.receipts.models import EventOutcome


class ReceiptRead(BaseModel):
    id: uuid.UUID
    kind: str = Field(..., description="receipt or credit_receipt", examples=["receipt"])
    number: int = Field(..., description="Number in its series, gapless from 1")
    display_number: str = Field(..., examples=["DEMO-2026-000042"])
    series: str = Field(..., description="Municipality code and year", examples=["DEMO-2026"])
    payment_id: uuid.UUID = Field(..., description="The payment this receipt acknowledges (or refunds)")
    credits_id: uuid.UUID | None = Field(None, description="For a credit receipt: the receipt it credits")
    amount: int = Field(..., description="Minor units of the currency")
    currency: str = Field(..., description="ISO 4217 code", examples=["EUR"])
    reference: str = Field(..., description="The municipality's reference of what was paid")
    issued_at: datetime
    created_at: datetime
    record: dict[str, Any] = Field(
        ..., description="The receipt record (its RFC 8785 canonical form is stored)"
    )
    record_hash: str = Field(..., description="SHA-256 of the canonical record, hex")
    signature: str = Field(..., description="Base64 signature over the record hash")
    key_id: str = Field(..., description="Which public key checks the signature")
    pdf_status: str = Field(
        ..., description="pending, ready or failed (retried); the record exists either way"
    )
    links: dict[str, str] = Field(
        ..., alias="_links", description="html and pdf (officers), verify (the public page the QR code opens)"
    )

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class SeriesRead(BaseModel):
    key: str = Field(..., examples=["DEMO-2026"])
    last_number: int = Field(..., description="Receipts issued in the series so far (numbers 1 to this)")
    last_hash: str = Field(..., description="Hash of the last record: the next receipt chains onto it")


class ChainCheck(BaseModel):
    series: str
    intact: bool = Field(..., description="Every record checked and passed, and every daily close agrees")
    checked: int = Field(..., description="Records that passed before the first broken link")
    first_broken: str | None = Field(None, description="Where and why the chain breaks")
    daily_close_problems: list[str]


class ReceiptPage(BaseModel):
    items: list[ReceiptRead]
    total: int = Field(..., description="Receipts in all pages")
    limit: int
    offset: int


class PayerData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, max_length=200)
    language: str | None = Field(None, max_length=8)


class LineData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    description: str = Field(..., min_length=1, max_length=500)
    quantity: int = Field(1, ge=1, le=1_000_000)
    unit_amount: int = Field(..., ge=0, validation_alias=AliasChoices("unit_amount", "unit_amount_minor"))


class PaymentSucceededData(BaseModel):
    """What receipts reads from ``payment.succeeded`` (other fields are ignored)."""

    model_config = ConfigDict(extra="ignore")

    payment_id: uuid.UUID
    amount: int = Field(..., gt=0)
    currency: str = Field(..., min_length=3, max_length=3)
    reference: str = Field(..., min_length=1, max_length=100)
    description: str | None = Field(None, max_length=500)
    purpose: str | None = Field(None, max_length=500)
    category: str | None = Field(None, max_length=100)
    creditor_reference: str | None = Field(None, max_length=35)
    provider: str = Field("unknown", min_length=1, max_length=40)
    provider_transaction_id: str | None = Field(None, max_length=255)
    method: str | None = Field(None, max_length=40)
    card_brand: str | None = Field(None, max_length=40)
    card_last4: str | None = Field(None, pattern=r"^[0-9]{4}$")
    paid_at: datetime | None = None
    language: str | None = Field(None, max_length=8)
    payer: PayerData | None = None
    lines: list[LineData] | None = Field(None, validation_alias=AliasChoices("lines", "line_items"))
    fee: int | None = Field(None, ge=0, description="Provider fee, when the payment event reports it")
    balance_transaction_id: str | None = Field(None, max_length=100)
    payout_id: str | None = Field(None, max_length=100)


class PaymentRefundedData(BaseModel):
    """What receipts reads from ``payment.refunded``: one refund (of all or part of a payment).

    The payments service sends the payment's fields (``amount`` is the payment's) plus
    ``refund_amount``; an event without ``refund_amount`` refunds ``amount``."""

    model_config = ConfigDict(extra="ignore")

    payment_id: uuid.UUID
    refund_id: str = Field(..., min_length=1, max_length=100)
    amount: int = Field(..., gt=0)
    refund_amount: int | None = Field(None, gt=0, description="What this refund gives back")
    currency: str = Field(..., min_length=3, max_length=3)
    refunded_at: datetime | None = None
    reason: str | None = Field(None, max_length=500)
    provider: str | None = Field(None, max_length=40)
    provider_refund_id: str | None = Field(None, max_length=255)
    fee: int | None = Field(None, ge=0)

    @property
    def refunded(self) -> int:
        return self.refund_amount if self.refund_amount is not None else self.amount


class BalanceTransactionData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transaction_id: str = Field(..., min_length=1, max_length=100, description="The provider's id")
    kind: str = Field("charge", pattern="^(charge|refund)$")
    payment_id: uuid.UUID = Field(..., description="The Tessera payment it belongs to")
    refund_id: str | None = Field(None, max_length=100, description="For a refund: the Tessera refund id")
    gross: int = Field(..., description="Signed: positive for a charge, negative for a refund")
    fee: int = Field(0, ge=0)


class PayoutData(BaseModel):
    """A provider payout with the balance transactions it carries (Stripe's payout reconciliation
    report in JSON; the sandbox simulates the same)."""

    model_config = ConfigDict(extra="forbid")

    provider: str = Field(..., min_length=1, max_length=32, examples=["sandbox"])
    payout_id: str = Field(..., min_length=1, max_length=100, examples=["po_sbx_20260312"])
    currency: str = Field(..., min_length=3, max_length=3)
    arrival_date: date
    balance_transactions: list[BalanceTransactionData] = Field(..., max_length=100_000)


class PayoutImport(BaseModel):
    payouts: list[PayoutData] = Field(..., min_length=1, max_length=1000)


class PayoutImportResult(BaseModel):
    payouts_new: int
    payouts_known: int
    balance_transactions_new: int


class StatementImportResult(BaseModel):
    statement_id: uuid.UUID
    format: str = Field(..., examples=["camt.053"])
    entries: int = Field(..., description="Booked entries in the file")
    new_entries: int = Field(..., description="Entries not already known from an earlier upload")
    already_imported: bool = Field(..., description="The very same file was uploaded before")


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Day | None = Field(None, description="The day the run stands on (today if omitted)")
    date_from: Day | None = Field(None, description="First payment day in scope (90 days back if omitted)")
    date_to: Day | None = Field(None, description="Last payment day in scope (as_of if omitted)")
    window_days: int | None = Field(None, ge=0, le=31, description="Date window for amount matching")


class RunRead(BaseModel):
    id: uuid.UUID
    created_at: datetime
    created_by: str
    as_of: date
    date_from: date
    date_to: date
    window_days: int
    inputs: dict[str, Any] = Field(..., description="What the run read: counts and statements")
    totals: dict[str, Any] = Field(..., description="Count and amount per subject and outcome")
    seconds: float | None


class ItemRead(BaseModel):
    subject: str = Field(..., examples=["receipt"])
    outcome: str = Field(..., examples=["matched"])
    method: str | None = Field(None, description="identifier or amount_date, for a matched payout")
    day: date
    receipt_id: uuid.UUID | None
    payout_id: str | None
    bank_entry_id: int | None
    currency: str
    expected: int | None
    actual: int | None
    fee: int | None
    detail: str | None


class ItemPage(BaseModel):
    items: list[ItemRead]
    total: int
    limit: int
    offset: int


class DailyCloseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    day: Day


class DailyCloseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    series_key: str
    day: date
    currency: str
    receipts_count: int
    credits_count: int
    first_number: int
    last_number: int
    receipts_total: int
    credits_total: int
    last_hash: str = Field(..., description="Hash of the day's last record: pins the chain up to it")
    closed_by: str
    closed_at: datetime


class EventAck(BaseModel):
    event_id: uuid.UUID
    outcome: EventOutcome = Field(..., description="processed, duplicate (already received) or ignored")
