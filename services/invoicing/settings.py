"""Invoicing settings, read from ``TESSERA_INVOICING_*`` plus the common ``TESSERA_*`` fields.
The municipality itself (the buyer on invoices, its routing codes) is
:class:`services.common.settings.MunicipalitySettings` (``TESSERA_MUNICIPALITY_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import Environment, ServiceSettings


class InvoicingSettings(ServiceSettings):
    model_config = SettingsConfigDict(
        env_prefix="TESSERA_INVOICING_", env_file=".env", extra="ignore", populate_by_name=True
    )
    service_name: ClassVar[str] = "invoicing"

    max_invoice_bytes: int = Field(
        10 * 1024 * 1024, gt=0, le=20 * 1024 * 1024, description="Largest invoice accepted; larger is a 413"
    )
    max_attachments_bytes: int = Field(
        8 * 1024 * 1024,
        gt=0,
        description="Largest total size of the embedded attachments (BG-24) of one invoice",
    )
    seal_pkcs12_path: Path | None = Field(
        None, description="The municipality's seal as a PKCS#12 file (key and certificate)"
    )
    seal_key_path: Path | None = Field(
        None, description="The seal's private key as PEM (with seal_certificate_path)"
    )
    seal_certificate_path: Path | None = Field(
        None, description="The seal's certificate (then its chain) as PEM (with seal_key_path)"
    )
    seal_password: str = Field(
        "", description="Password of the PKCS#12 file or PEM key; empty when not encrypted"
    )
    cookie_secure: bool = Field(
        True,
        description="Mark the pages' session cookie Secure (browsers keep sending it over http://localhost)",
    )

    @model_validator(mode="after")
    def _seal_configured_in_production(self) -> InvoicingSettings:
        if self.seal_key_path is not None and self.seal_certificate_path is None:
            raise ValueError("seal_key_path needs seal_certificate_path")
        if self.seal_certificate_path is not None and self.seal_key_path is None:
            raise ValueError("seal_certificate_path needs seal_key_path")
        if self.environment is Environment.PRODUCTION and not (self.seal_pkcs12_path or self.seal_key_path):
            raise ValueError(
                "TESSERA_ENV=production needs the municipality's seal: set TESSERA_INVOICING_SEAL_PKCS12_PATH "
                "or TESSERA_INVOICING_SEAL_KEY_PATH and TESSERA_INVOICING_SEAL_CERTIFICATE_PATH"
            )
        return self
