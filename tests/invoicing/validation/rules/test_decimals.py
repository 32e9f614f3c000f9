"""Decimal rules BR-DEC: characters after the point are counted as written."""

from __future__ import annotations

import re

import pytest

from services.invoicing.validation.rules.base import REGISTRY
from tests.invoicing.validation.conformance import official_rules
from tests.invoicing.validation.rules.documents import (
    allowance_charge,
    credit_note,
    fired,
    invoice,
    line,
    subtotal,
    totals,
)

FAMILIES = re.compile(r"BR-(\d\d|CO-\d\d|DEC-\d\d)")


@pytest.mark.parametrize(
    ("value", "broken"),
    [
        ("100", False),
        ("100.5", False),
        ("100.50", False),
        ("100.505", True),
        ("100.500", True),
        ("100.", False),
        ("1.5  ", True),
    ],
)
def test_br_dec_09_counts_decimals_as_written(value: str, broken: bool) -> None:
    assert bool(fired("BR-DEC-09", invoice(totals(LineExtensionAmount=value)))) is broken


def test_an_absent_amount_passes() -> None:
    assert fired("BR-DEC-16", invoice(totals(PayableAmount="1.00"))) == []


@pytest.mark.parametrize(
    ("rule_id", "body"),
    [
        ("BR-DEC-01", allowance_charge("1.001", charge=False)),
        ("BR-DEC-05", allowance_charge("1.001", charge=True)),
        ("BR-DEC-12", totals(TaxExclusiveAmount="1.001")),
        ("BR-DEC-18", totals(PayableAmount="1.001")),
        ("BR-DEC-19", f"<cac:TaxTotal>{subtotal('1.001', '0.25')}</cac:TaxTotal>"),
        ("BR-DEC-20", f"<cac:TaxTotal>{subtotal('1.00', '0.251')}</cac:TaxTotal>"),
        ("BR-DEC-23", line("1.001", tag="CreditNoteLine")),
        ("BR-DEC-24", line(extra=allowance_charge("0.001", charge=False))),
        ("BR-DEC-27", line(tag="CreditNoteLine", extra=allowance_charge("0.001", charge=True))),
    ],
)
def test_each_amount_is_checked_where_it_belongs(rule_id: str, body: str) -> None:
    assert len(fired(rule_id, credit_note(body))) == 1
    assert (
        fired(
            rule_id,
            credit_note(body.replace("0.001", "0.01").replace("1.001", "1.01").replace("0.251", "0.25")),
        )
        == []
    )


def test_document_and_line_allowances_are_kept_apart() -> None:
    doc = invoice(line(extra=allowance_charge("0.001", charge=False)))
    assert fired("BR-DEC-01", doc) == []
    assert len(fired("BR-DEC-24", doc)) == 1


def test_br_dec_13_and_15_answer_as_the_official_predicate_reads() -> None:
    # The official predicate reads the currency code as a child of the amount, so a plain total VAT
    # amount with three decimals is not selected and the rule stays silent, as the artefacts do.
    plain = '<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode><cac:TaxTotal><cbc:TaxAmount currencyID="EUR">1.001</cbc:TaxAmount></cac:TaxTotal>'
    assert fired("BR-DEC-13", invoice(plain)) == []
    tagged = '<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">1.001<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode></cbc:TaxAmount></cac:TaxTotal>'
    assert len(fired("BR-DEC-13", invoice(tagged))) == 1
    assert fired("BR-DEC-15", invoice(tagged)) == []


def test_every_rule_of_these_families_is_registered_with_the_official_flag_terms_and_message() -> None:
    official = {rule_id: flag for rule_id, flag in official_rules().items() if FAMILIES.fullmatch(rule_id)}
    assert len(official) == 102
    for rule_id, flag in official.items():
        registered = REGISTRY[rule_id]
        assert registered.severity.value == flag, rule_id
        assert registered.terms and all(re.fullmatch(r"B[TG]-\d+", term) for term in registered.terms), (
            rule_id
        )
        assert registered.message.endswith(".") and registered.check is not None, rule_id
    assert not {rule_id for rule_id in REGISTRY if FAMILIES.fullmatch(rule_id)} - set(official)
