"""Payments settings, read from ``TESSERA_PAYMENTS_*`` plus the common ``TESSERA_*`` fields."""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings, split_secrets
from services.payments.models import Currency


def _http_base(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) base URL")
    return value.rstrip("/")


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_PAYMENTS_", env_file=".env", extra="ignore", populate_by_name=True
    )
    service_name: ClassVar[str] = "payments"

    subscribers: str = Field(
        "http://127.0.0.1:8003/webhooks/events",
        description="Where payment events go as signed webhooks (the receipts service by default); "
        "see ServiceSettings.subscribers for the format",
    )
    public_url: str = Field(
        "http://127.0.0.1:8002",
        description="Base URL at which citizens reach this service's hosted payment page",
    )
    provider: Literal["sandbox", "stripe"] = Field(
        "sandbox", description="Who takes the money: the built-in sandbox (no account needed) or stripe"
    )
    stripe_secret_key: str = Field("", description="Stripe secret API key (sk_...), for provider=stripe")
    stripe_publishable_key: str = Field("", description="Stripe publishable key (pk_...) for Stripe.js")
    stripe_api_base: str = Field(
        "https://api.stripe.com", description="Stripe API base URL (a localstripe URL in tests)"
    )
    stripe_js_url: str = Field("https://js.stripe.com/v3/", description="Where the card page loads Stripe.js")
    stripe_webhook_secrets: str = Field(
        "",
        description="Comma-separated Stripe webhook signing secrets (whsec_...); several during rotation",
    )
    max_amounts: str = Field(
        "EUR:1000000,GBP:1000000,SEK:10000000,HUF:400000000",
        description="Largest payment per currency in minor units, CUR:AMOUNT comma-separated",
    )
    expiry_minutes: int = Field(90, gt=0, description="Unfinished payments expire after this long")
    sweep_interval_seconds: float = Field(
        60.0, gt=0, description="How often the background sweep expires payments and re-checks stuck ones"
    )
    sweep_enabled: bool = Field(True, description="Run the expiry sweep as a background task")

    @field_validator("public_url", "stripe_api_base")
    @classmethod
    def _is_http(cls, value: str) -> str:
        return _http_base(value)

    @field_validator("max_amounts")
    @classmethod
    def _max_amounts_readable(cls, value: str) -> str:
        parse_max_amounts(value)
        return value

    @model_validator(mode="after")
    def _stripe_is_configured(self) -> PaymentsSettings:
        if self.provider == "stripe" and not (self.stripe_secret_key and self.stripe_webhook_secrets):
            raise ValueError("provider=stripe needs stripe_secret_key and stripe_webhook_secrets")
        return self

    @property
    def max_amount_by_currency(self) -> dict[Currency, int]:
        return parse_max_amounts(self.max_amounts)

    @property
    def stripe_webhook_secret_list(self) -> list[str]:
        return split_secrets(self.stripe_webhook_secrets)


def parse_max_amounts(text: str) -> dict[Currency, int]:
    limits: dict[Currency, int] = {}
    for entry in split_secrets(text):
        code, sep, amount = entry.partition(":")
        if not sep or not amount.strip().isdigit():
            raise ValueError(f"max_amounts entry {entry!r} is not CUR:AMOUNT")
        try:
            limits[Currency(code.strip().upper())] = int(amount)
        except ValueError as error:
            raise ValueError(f"max_amounts names an unknown currency {code!r}") from error
    return limits
