"""Minor units and chargeable amounts."""

from __future__ import annotations

import pytest

from services.payments.currencies import amount_problem, format_amount, parse_major
from services.payments.models import Currency


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("45.50", Currency.EUR, 4550),
        ("1", Currency.GBP, 100),
        ("12000", Currency.HUF, 1_200_000),
        ("0.01", Currency.SEK, 1),
    ],
)
def test_parse_major(text: str, currency: Currency, minor: int) -> None:
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("1.005", Currency.EUR, "more than 2 decimals"),
        ("12.50", Currency.HUF, "whole units"),
        ("-1", Currency.EUR, "positive"),
        ("abc", Currency.EUR, "not a number"),
        ("NaN", Currency.EUR, "positive"),
    ],
)
def test_parse_major_refuses(text: str, currency: Currency, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_major(text, currency)


def test_huf_must_be_whole_forints_and_formatting() -> None:
    assert amount_problem(123_400, Currency.HUF) is None and amount_problem(123_450, Currency.HUF)
    assert amount_problem(1, Currency.EUR) is None
    assert format_amount(4550, "EUR") == "45.50 EUR"
