"""Shared helpers for the validator's tests: the fetched UBL schemas and Tessera's own fixtures."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from services.common import ubl_schemas

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "ubl"
INVOICE = FIXTURES / "municipal-invoice.xml"
CREDIT_NOTE = FIXTURES / "municipal-creditnote.xml"


@functools.cache
def _fetched() -> Path | str:
    try:
        return ubl_schemas.fetch()
    except ubl_schemas.SchemasError as error:
        return str(error)


def require_schemas() -> Path:
    """The verified UBL 2.1 schema folder, fetched once per test session; skip when unobtainable."""
    result = _fetched()
    if isinstance(result, str):
        pytest.skip(f"UBL 2.1 schemas unavailable, run `make schemas`: {result}")
    return result
