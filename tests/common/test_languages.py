from __future__ import annotations

import pytest

from services.common.languages import choose_language, format_money


@pytest.mark.parametrize(
    "switch,accept,fallback,expected",
    [
        ("hu", "it", None, "hu"),
        ("xx", "sv-SE,sv;q=0.9,en;q=0.8", None, "sv"),
        (None, "de-DE,de;q=0.9,et;q=0.5,it;q=0.7", None, "it"),
        (None, "it;q=0", "et", "et"),
        (None, "fr", None, "en"),
        (None, "en;q=abc, hu", None, "hu"),
        (None, None, "sv_SE", "sv"),
    ],
)
def test_choose_language(switch: str | None, accept: str | None, fallback: str | None, expected: str) -> None:
    assert choose_language(switch=switch, accept_language=accept, fallback=fallback) == expected


def test_money_is_exact_and_local() -> None:
    assert format_money(4500, "EUR", "en") == "€45.00"
    assert format_money(4500, "EUR", "it").replace("\xa0", " ") == "45,00 €"
    assert format_money(10**17 + 1, "SEK", "sv").replace("\xa0", " ").startswith("1 000 000 000 000 000,01")
    assert format_money(150000, "HUF", "hu").replace("\xa0", " ") == "1 500,00 Ft"
