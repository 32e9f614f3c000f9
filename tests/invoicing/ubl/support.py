"""Shared helpers for the UBL library tests: fixture files and the official examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common import ubl_schemas

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ubl"
SERVICES_INVOICE = FIXTURES / "peppol-services-invoice.xml"
MUNICIPAL_INVOICE = FIXTURES / "municipal-invoice.xml"
MUNICIPAL_CREDIT_NOTE = FIXTURES / "municipal-creditnote.xml"
EXAMPLES_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "conformance" / "en16931-ubl-examples"


def example_files() -> list[Path]:
    """The official EN 16931 UBL examples, or a skip when the shared data is absent."""
    if not EXAMPLES_DIR.is_dir():
        pytest.skip(f"{EXAMPLES_DIR} is absent: put the shared conformance data beside the project root")
    files = sorted(path for path in EXAMPLES_DIR.iterdir() if path.suffix.lower() == ".xml")
    if not files:
        pytest.skip(f"no example invoice in {EXAMPLES_DIR}")
    return files


def require_schemas() -> None:
    try:
        ubl_schemas.verify()
    except ubl_schemas.SchemasError as error:
        pytest.skip(f"UBL 2.1 schemas unavailable, run `make schemas`: {error}")
