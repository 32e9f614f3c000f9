"""The payments API documents."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from services.payments.models import Currency, PaymentState


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: int = Field(
        ...,
        gt=0,
        le=10**12,
        description="Amount in the currency's minor units (cents, öre...)",
        examples=[4500],
    )
    currency: Currency = Field(..., description="ISO 4217 code", examples=["EUR"])
    reference: str = Field(
        ...,
        min_length=1,
        max_length=100,
        description="The municipality's own reference for what is paid (fee id, case number)",
        examples=["PARK-2026-000123"],
    )
    description: str = Field(
        ...,
        min_length=1,
        max_length=500,
        description="Shown to the payer",
        examples=["Residential parking permit"],
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
        description="Language of the hosted payment page (BCP 47, e.g. fi or sv-FI)",
        examples=["fi"],
    )


class PaymentLinks(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    self_: str = Field(..., alias="self", description="This payment", examples=["/v1/payments/6f1c..."])
    next_url: str | None = Field(
        None, description="Where to send the payer to pay; null once the payment is settled"
    )


class PaymentRead(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    payment_id: uuid.UUID
    state: PaymentState = Field(..., description="created, then succeeded or failed")
    amount: int = Field(..., description="Minor units")
    currency: Currency
    reference: str
    description: str
    return_url: str
    language: str | None
    provider: str = Field(..., description="Who handles the money: sandbox for test payments")
    card_brand: str | None = None
    card_last4: str | None = None
    failure_code: str | None = Field(None, description="Why a failed payment failed, e.g. card_declined")
    created_at: datetime
    paid_at: datetime | None = None
    links: PaymentLinks = Field(..., alias="_links")
