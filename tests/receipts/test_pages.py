"""The receipts pages' words and chart, on their own."""

from __future__ import annotations

from services.receipts.document import SUPPORTED_LANGUAGES
from services.receipts.pages import VERIFY_LABELS, chart_svg


def test_the_verification_page_speaks_every_receipt_language() -> None:
    assert set(VERIFY_LABELS) == set(SUPPORTED_LANGUAGES)
    english = VERIFY_LABELS["en"]
    for language, words in VERIFY_LABELS.items():
        assert set(words) == set(english)
        assert all(text.strip() for text in words.values()), language
        assert "{id}" in words["not_found"], language
        if language != "en":
            assert words["valid"] != english["valid"] and words["invalid"] != english["invalid"], language


def test_the_chart_draws_two_bars_a_day_scaled_to_the_largest() -> None:
    svg = chart_svg([("2026-03-10", 1000, 0), ("2026-03-11", 500, 2000)], "EUR")
    assert svg.count('class="collected"') == 2 and svg.count('class="settled"') == 2
    # The plot is 180 units high: the 2,000 bar fills it, the 500 bar is a quarter of it.
    assert 'height="180.0"' in svg and 'height="45.0"' in svg
    assert "<script" not in svg and "€20.00" in svg
    assert chart_svg([], "EUR") == ""


def test_day_labels_cannot_inject_markup() -> None:
    svg = chart_svg([("<b>x</b>", 1, 1)], "EUR")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
