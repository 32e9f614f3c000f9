"""The shared views: xs:decimal reading, XPath rounding and exact sums, the children-by-tag tree."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.invoicing.validation.rules._amounts import (
    EXACT,
    HUNDRED,
    Tree,
    Unreadable,
    all_lines,
    parse,
    percent,
    round2,
    round_half_up,
    rounds_to_zero,
    total,
)
from services.invoicing.validation.rules.base import Doc
from tests.invoicing.validation.rules.documents import invoice, line, local


@pytest.mark.parametrize(
    ("value", "rounded"),
    [("2.5", "3"), ("-2.5", "-2"), ("2.4999", "2"), ("-2.5001", "-3"), ("0", "0")],
)
def test_round_half_up_goes_towards_positive_infinity(value: str, rounded: str) -> None:
    assert round_half_up(Decimal(value)) == Decimal(rounded)


@pytest.mark.parametrize(("value", "rounded"), [("1.005", "1.01"), ("-1.005", "-1.00"), ("1.00499", "1.00")])
def test_round2(value: str, rounded: str) -> None:
    assert round2(Decimal(value)) == Decimal(rounded)


@given(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-600, max_value=380),
)
def test_round2_is_the_official_three_steps(coefficient: int, exponent: int) -> None:
    """round(value * 10 * 10) div 100, step by step in the exact context, whatever the magnitude."""
    value = Decimal(coefficient).scaleb(exponent)
    assert round2(value) == EXACT.divide(round_half_up(EXACT.multiply(value, HUNDRED)), HUNDRED)


@given(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.integers(min_value=-600, max_value=380),
)
def test_percent_and_rounds_to_zero_are_the_official_operations(coefficient: int, exponent: int) -> None:
    value = Decimal(coefficient).scaleb(exponent)
    assert percent(value) == EXACT.divide(value, HUNDRED)
    assert rounds_to_zero(value) is (round_half_up(value) == 0)


@pytest.mark.parametrize(
    ("value", "zero"), [("-0.5", True), ("0.4999", True), ("0.5", False), ("-0.5001", False)]
)
def test_rounds_to_zero_at_the_halves(value: str, zero: bool) -> None:
    assert rounds_to_zero(Decimal(value)) is zero


def test_sums_stay_exact_beyond_python_default_precision() -> None:
    big = Decimal("12345678901234567890123456789.005")
    assert total([big, Decimal("0.001")]) == Decimal("12345678901234567890123456789.006")
    assert round2(big) == Decimal("12345678901234567890123456789.01")


@pytest.mark.parametrize("text", [" 12.50 ", "-0.5", "+.5", "7."])
def test_parse_accepts_xs_decimal(text: str) -> None:
    assert parse(text) == Decimal(text.strip())


@pytest.mark.parametrize("text", ["", "12,50", "1e3", "NaN", "INF", "1 000"])
def test_parse_refuses_what_is_not_xs_decimal(text: str) -> None:
    with pytest.raises(Unreadable):
        parse(text)


def test_tree_reads_paths_in_document_order_and_refuses_several_values() -> None:
    doc = invoice(line("1.00") + line("2.00"))
    t = Tree()
    names = [local(el) for el in t.all(doc, "cac:InvoiceLine/cbc:LineExtensionAmount")]
    assert names == ["LineExtensionAmount", "LineExtensionAmount"]
    assert [t.amount(line_el, "cbc:LineExtensionAmount") for line_el in t.all(doc, "cac:InvoiceLine")] == [
        Decimal("1.00"),
        Decimal("2.00"),
    ]
    with pytest.raises(Unreadable):
        t.amount(doc, "cac:InvoiceLine/cbc:LineExtensionAmount")
    assert t.all(doc, "cac:Nothing/cbc:ID") == ()


def test_all_lines_finds_both_line_kinds_in_document_order() -> None:
    doc = invoice(line(tag="CreditNoteLine") + line() + line(tag="CreditNoteLine"))
    assert [local(el) for el in all_lines(Doc(doc))] == ["CreditNoteLine", "InvoiceLine", "CreditNoteLine"]
