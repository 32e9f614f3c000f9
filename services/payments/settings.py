"""Payments settings, read from ``TESSERA_PAYMENTS_*`` plus the common ``TESSERA_*`` fields."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


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

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) base URL")
        return value.rstrip("/")
