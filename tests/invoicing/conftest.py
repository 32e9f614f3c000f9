"""Invoicing test helpers: sample invoices addressed to the default municipality and signed
caller headers for a supplier (bound to the sample seller) and an officer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

SELLER = "IT01234567890"
OTHER_SELLER = "IT09876543210"

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def supplier(principal_headers: Headers) -> dict[str, str]:
    return {
        **principal_headers("supplier", supplier_id=SELLER, key_id="key-supplier"),
        "Content-Type": "application/xml",
    }


@pytest.fixture
def other_supplier(principal_headers: Headers) -> dict[str, str]:
    return {
        **principal_headers("supplier", supplier_id=OTHER_SELLER, key_id="key-other"),
        "Content-Type": "application/xml",
    }


@pytest.fixture
def officer(principal_headers: Headers) -> dict[str, str]:
    return principal_headers("officer", key_id="key-officer")
