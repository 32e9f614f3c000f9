"""Receipts settings, read from ``TESSERA_RECEIPTS_*`` plus the common ``TESSERA_*`` fields.

The issuer printed on receipts (name and tax id) comes from the municipality settings
(``TESSERA_MUNICIPALITY_*``); what only receipts need is here.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import ServiceSettings
from services.receipts.document import SUPPORTED_LANGUAGES, Series


class ReceiptsSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_RECEIPTS_", env_file=".env", extra="ignore", populate_by_name=True
    )
    service_name: ClassVar[str] = "receipts"

    series_code: str = Field(
        "DEMO",
        description="The municipality's code in receipt numbers (DEMO-2026-000042): 2-16 capitals or digits",
    )
    office: str = Field("Finance office", description="The issuing office printed on receipts")
    time_zone: str = Field(
        "Europe/Rome", description="The municipality's time zone: series years, days and printed times"
    )
    default_language: str = Field("en", description="Receipt language when the payment names none")
    vat_note: str = Field(
        "No VAT charged: a fee levied by a public authority acting as such (Directive 2006/112/EC, Art. 13)",
        description="The VAT statement printed on every receipt",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="Public address of the gateway; the QR code on a receipt points to {this}/verify/{id}",
    )
    signing_key_file: Path | None = Field(
        None,
        description="PKCS#8 PEM private key (Ed25519 or ECDSA P-256) that signs receipts; a development "
        "key under the data dir when unset (refused in production)",
    )
    previous_public_keys: str = Field(
        "",
        description="Comma-separated PEM public key files of keys that signed receipts before the current one "
        "(key rotation): receipts they signed keep verifying",
    )
    pdf_worker_enabled: bool = Field(
        True,
        description="Render receipt PDFs in the background (a thread that hands each to a child process)",
    )
    pdf_interval_seconds: float = Field(1.0, gt=0, description="How often the PDF worker looks for work")
    pdf_backoff_seconds: float = Field(
        5.0, gt=0, description="Wait after a failed PDF rendering; doubled after each further failure"
    )
    reconciliation_window_days: int = Field(
        3, ge=0, le=31, description="Days a payout may arrive on the bank before or after its expected date"
    )

    @field_validator("series_code")
    @classmethod
    def _series_code(cls, value: str) -> str:
        Series(value, 2026)  # raises with the reason when the code is unusable
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in SUPPORTED_LANGUAGES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from services.receipts.i18n import zone

        zone(value)
        return value

    @property
    def previous_public_key_files(self) -> list[Path]:
        return [Path(part.strip()) for part in self.previous_public_keys.split(",") if part.strip()]

    def secret_fields(self) -> dict[str, str]:
        fields = super().secret_fields()
        # A production installation signs with its own key: the development key proves nothing.
        fields["TESSERA_RECEIPTS_SIGNING_KEY_FILE"] = str(self.signing_key_file or "")
        return fields
