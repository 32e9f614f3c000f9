"""Receipts test fixtures: the service settings with the PDF worker thread off (tests render PDFs
themselves, when they want them), and a session factory on the migrated receipts database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.common.db import Database
from services.common.settings import MunicipalitySettings
from services.receipts.app import build_issuing
from services.receipts.service import Issuing
from services.receipts.settings import ReceiptsSettings
from services.receipts.signing import ReceiptSigner, ReceiptVerifier
from tests.conftest import service_settings


@pytest.fixture
def receipts_settings(receipts_db_url: str, tmp_path: Path) -> Any:
    return service_settings(ReceiptsSettings, receipts_db_url, tmp_path, pdf_worker_enabled=False)


@pytest.fixture
def database(receipts_db_url: str) -> Iterator[Database]:
    db = Database(receipts_db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def signer() -> ReceiptSigner:
    return ReceiptSigner(Ed25519PrivateKey.generate())


@pytest.fixture
def issuing(receipts_settings: ReceiptsSettings, signer: ReceiptSigner) -> Issuing:
    built = build_issuing(receipts_settings, MunicipalitySettings())
    return Issuing(
        signer=signer,
        verifier=ReceiptVerifier.for_signer(signer),
        issuer=built.issuer,
        series_code=built.series_code,
        time_zone=built.time_zone,
        vat_note=built.vat_note,
        default_language=built.default_language,
        base_url="https://city.example",
    )
