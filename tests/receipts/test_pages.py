"""The receipts pages' words and chart, on their own."""

from __future__ import annotations

import re

from services.receipts import i18n, reconciliation
from services.receipts.document import SUPPORTED_LANGUAGES
from services.receipts.models import Outcome, Subject
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


def test_the_dashboard_speaks_every_receipt_language() -> None:
    english = i18n.DASHBOARD_LABELS["en"]
    assert set(i18n.DASHBOARD_LABELS) == set(SUPPORTED_LANGUAGES)
    placeholders = re.compile(r"\{(\w+)\}")
    for language, words in i18n.DASHBOARD_LABELS.items():
        assert set(words) == set(english), language
        for key, text in words.items():
            assert text.strip(), (language, key)
            # A translation fills in exactly what the English fills in.
            assert set(placeholders.findall(text)) == set(placeholders.findall(english[key])), (language, key)
        # Every outcome and subject a run can store has its name.
        assert {f"outcome_{o.value}" for o in Outcome} <= set(words), language
        assert {f"subject_{s.value}" for s in Subject} <= set(words), language
        if language != "en":
            assert words["title"] != english["title"] and words["nothing_open"] != english["nothing_open"]


def test_every_reason_a_run_stores_is_translated() -> None:
    statements = [
        v for v in vars(reconciliation).values() if isinstance(v, str) and "reconciliation_items" in v
    ]
    # Whole reasons only: the unrecorded transaction's reason is built from pieces (checked below).
    stored = {t for sql in statements for t in re.findall(r"'([a-z][a-z ,:]{12,}[a-z])'", sql)}
    assert "no payout explains this bank credit" in stored and len(stored) >= 10
    for language in SUPPORTED_LANGUAGES:
        for text in stored:
            translated = i18n.reason(text, language)
            assert (translated == text) is (language == "en"), (language, text)
    assert i18n.reason("the provider reports charge txn_9 that no receipt records", "it") == (
        "il prestatore riporta l'addebito txn_9, che nessuna ricevuta registra"
    )
    assert i18n.reason("something new", "sv") == "something new"
    assert i18n.reason(None, "hu") == ""


def test_the_chart_speaks_the_page_language() -> None:
    svg = chart_svg([("2026-03-10", 123456, 0)], "EUR", "it")
    assert (
        "incassato (ricevute)" in svg
        and "1.234,56\u00a0€" in svg
        and "collected" not in svg.split('class="')[0]
    )
