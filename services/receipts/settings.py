"""Receipts settings, read from ``TESSERA_RECEIPTS_*`` plus the common ``TESSERA_*`` fields."""

from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings


class ReceiptsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_RECEIPTS_", env_file=".env", extra="ignore", populate_by_name=True
    )
    service_name: ClassVar[str] = "receipts"
