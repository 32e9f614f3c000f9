"""Invoicing settings, read from ``TESSERA_INVOICING_*`` plus the common ``TESSERA_*`` fields."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_INVOICING_", env_file=".env", extra="ignore", populate_by_name=True
    )
    service_name: ClassVar[str] = "invoicing"
