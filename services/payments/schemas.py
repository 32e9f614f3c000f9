"""The payments API documents: payment requests (what is owed), payments in the GOV.UK Pay
shape, refunds, and the bulk import report."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.payments.models import Currency, ExternalStatus, RefundState, RequestState

MAX_METADATA_KEYS = 15
MAX_AMOUNT_FIELD = 10**12


def _check_metadata(value: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"metadata holds at most {MAX_METADATA_KEYS} keys, not {len(value)}")
    for key, item in value.items():
        if not 1 <= len(key) <= 30:
            raise ValueError(f"metadata key {key!r} must be 1 to 30 characters")
        if isinstance(item, str) and len(item) > 100:
            raise ValueError(f"metadata value of {key!r} is longer than 100 characters")
    return value


class Payer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=200, examples=["Maria Rossi"])
    tax_code: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        pattern=r"^[A-Za-z0-9]+$",
        description="National tax code or personal identity code",
        examples=["RSSMRA80A01H501U"],
    )
    email: str | None = Field(
        None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["maria.rossi@example.org"]
    )


class InstalmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(..., gt=0, le=MAX_AMOUNT_FIELD, description="Minor units", examples=[5000])
    due_date: date = Field(..., examples=["2026-12-31"])


class PaymentRequestCreate(BaseModel):
    """What a payer owes: the municipality's side of the debt (a pagoPA debt position)."""

    model_config = ConfigDict(extra="forbid")

    payer: Payer
    description: str = Field(..., min_length=1, max_length=500, examples=["Waste collection tax 2026"])
    category: str = Field(
        ...,
        min_length=1,
        max_length=50,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Service category code (the municipality's own list)",
        examples=["TARI"],
    )
    amount: int = Field(..., gt=0, le=MAX_AMOUNT_FIELD, description="Minor units", examples=[10000])
    currency: Currency = Field(..., examples=["EUR"])
    due_date: date = Field(
        ..., description="Last day to pay (of the last instalment)", examples=["2027-01-31"]
    )
    instalments: list[InstalmentCreate] | None = Field(
        None,
        min_length=2,
        max_length=24,
        description="Optional parts, in due-date order; their amounts add up to amount",
    )
    metadata: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description=f"Up to {MAX_METADATA_KEYS} keys of the caller's own data"
    )

    _metadata = field_validator("metadata")(_check_metadata)

    @model_validator(mode="after")
    def _instalments_add_up(self) -> PaymentRequestCreate:
        if self.instalments:
            total = sum(part.amount for part in self.instalments)
            if total != self.amount:
                raise ValueError(f"instalments add up to {total}, not to the amount {self.amount}")
            dates = [part.due_date for part in self.instalments]
            if dates != sorted(dates) or len(set(dates)) != len(dates):
                raise ValueError("instalment due dates must be distinct and in increasing order")
            if dates[-1] != self.due_date:
                raise ValueError("the last instalment is due on the request's due_date")
        return self


class InstalmentRead(BaseModel):
    number: int
    amount: int
    due_date: date
    paid: bool
    payment_id: uuid.UUID | None = None


class RequestLinks(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    self_: str = Field(..., alias="self")
    pay: str = Field(..., description="The citizen page where this request is paid")


class PaymentRequestRead(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    payment_request_id: uuid.UUID
    creditor_reference: str = Field(..., description="ISO 11649 RF reference", examples=["RF18539007547034"])
    creditor_reference_display: str = Field(..., examples=["RF18 5390 0754 7034"])
    state: RequestState
    payer: Payer
    description: str
    category: str
    amount: int
    amount_paid: int
    amount_due: int = Field(..., description="What remains to pay")
    currency: Currency
    due_date: date
    instalments: list[InstalmentRead]
    metadata: dict[str, str | int | float | bool]
    created_at: datetime
    links: RequestLinks = Field(..., alias="_links")


class PaymentRequestPage(BaseModel):
    items: list[PaymentRequestRead]
    total: int
    page: int
    display_size: int


class ImportRowError(BaseModel):
    row: int = Field(..., description="Line number in the file (the header is line 1)")
    field: str
    message: str


class ImportReport(BaseModel):
    rows: int = Field(..., description="Data rows read")
    valid: int
    imported: int
    errors: list[ImportRowError]
    created: list[PaymentRequestRead]


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(
        ...,
        gt=0,
        le=MAX_AMOUNT_FIELD,
        description="Amount in the currency's minor units (cents, öre, fillér)",
        examples=[4500],
    )
    currency: Currency = Field(Currency.EUR, description="ISO 4217 code", examples=["EUR"])
    reference: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="The municipality's own reference for what is paid (fee id, case number); "
        "required unless payment_request_id is given (then its creditor reference by default)",
        examples=["PARK-2026-000123"],
    )
    description: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="Shown to the payer; required unless payment_request_id is given (then the "
        "request's description by default)",
        examples=["Parking permit"],
    )
    return_url: AnyHttpUrl = Field(
        ...,
        description="Where the payer's browser is sent after paying or being declined; Tessera adds "
        "payment_id and state to its query",
        examples=["https://city.example/permits/123/paid"],
    )
    language: str | None = Field(
        None,
        pattern=r"^[a-z]{2}(-[A-Z]{2})?$",
        description="Language of the hosted payment page (BCP 47, e.g. it or sv-SE)",
        examples=["it"],
    )
    payment_request_id: uuid.UUID | None = Field(
        None, description="The payment request this pays (amount and currency must match what is due)"
    )
    instalment_number: int | None = Field(None, ge=1, description="Which instalment of the request")

    @model_validator(mode="after")
    def _reference_and_description_or_request(self) -> PaymentCreate:
        if self.payment_request_id is None:
            missing = [name for name in ("reference", "description") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"{' and '.join(missing)} required when no payment_request_id is given")
        return self


class PaymentStateRead(BaseModel):
    status: ExternalStatus
    finished: bool
    code: str | None = Field(None, description="Why it did not succeed (P0010 declined, P0020 expired...)")
    message: str | None = None


class RefundSummary(BaseModel):
    status: str = Field(..., description="available, full, pending or unavailable")
    amount_available: int
    amount_submitted: int


class PaymentLinks(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    self_: str = Field(..., alias="self", description="This payment", examples=["/v1/payments/6f1c..."])
    next_url: str | None = Field(
        None, description="Where to send the payer to pay; null once the payment is finished"
    )
    events: str
    refunds: str
    cancel: str | None = None


class PaymentRead(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    payment_id: uuid.UUID
    state: PaymentStateRead
    amount: int = Field(..., description="Minor units")
    currency: Currency
    reference: str
    description: str
    return_url: str
    language: str | None
    provider: str = Field(..., description="Who handles the money: sandbox for test payments")
    provider_id: str | None = Field(None, description="The provider's id of this payment")
    card_brand: str | None = None
    card_last4: str | None = None
    fee: int | None = Field(None, description="Provider fee in minor units, once known")
    net_amount: int | None = None
    payment_request_id: uuid.UUID | None = None
    instalment_number: int | None = None
    refund_summary: RefundSummary
    created_at: datetime
    paid_at: datetime | None = None
    links: PaymentLinks = Field(..., alias="_links")


class PaymentPage(BaseModel):
    items: list[PaymentRead]
    total: int
    page: int
    display_size: int


class PaymentEventRead(BaseModel):
    state: PaymentStateRead
    internal_state: str
    occurred_at: datetime


class PaymentEvents(BaseModel):
    payment_id: uuid.UUID
    events: list[PaymentEventRead]


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(..., gt=0, le=MAX_AMOUNT_FIELD, description="Minor units to give back")
    refund_amount_available: int = Field(
        ...,
        ge=0,
        description="What the caller believes can still be refunded; refused with 412 if it changed",
    )


class RefundRead(BaseModel):
    refund_id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    status: RefundState
    provider_refund_id: str | None
    created_at: datetime


class BalanceTransactionRead(BaseModel):
    """A money movement the provider reported for a payment (for reconciliation)."""

    transaction_id: str = Field(..., description="The provider's id (txn_... at Stripe)")
    kind: str = Field(..., description="charge or refund")
    amount: int = Field(..., description="Gross, minor units")
    fee: int
    net: int
    currency: str
    payout_id: str | None = Field(None, description="The payout that carried it, once reported")
    created_at: datetime
