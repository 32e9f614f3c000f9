"""Core rules BR-01..BR-65: credit notes, blank versus missing values, where and how often rules fire."""

from __future__ import annotations

import pytest
from lxml import etree

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules.base import REGISTRY
from tests.invoicing.validation.rules.documents import (
    VAT,
    allowance_charge,
    credit_note,
    fired,
    invoice,
    line,
    local,
    totals,
)


def test_credit_note_lines_quantities_and_type_code_count() -> None:
    doc = credit_note("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>" + line(tag="CreditNoteLine"))
    for rule_id in ("BR-04", "BR-16", "BR-21", "BR-22", "BR-23", "BR-24", "BR-25", "BR-26", "BR-27"):
        assert fired(rule_id, doc) == [], rule_id


def test_credit_note_line_rules_apply_to_credit_note_lines() -> None:
    bare_line = "<cac:CreditNoteLine><cac:Price><cbc:PriceAmount>-1</cbc:PriceAmount></cac:Price></cac:CreditNoteLine>"
    doc = credit_note(bare_line)
    for rule_id in ("BR-21", "BR-22", "BR-23", "BR-24", "BR-25", "BR-27"):
        assert [local(el) for el in fired(rule_id, doc)] == ["CreditNoteLine"], rule_id


def test_credited_quantity_without_unit_code_breaks_br_23() -> None:
    doc = credit_note(
        "<cac:CreditNoteLine><cbc:CreditedQuantity>2</cbc:CreditedQuantity></cac:CreditNoteLine>"
    )
    assert fired("BR-22", doc) == []
    assert len(fired("BR-23", doc)) == 1


def test_a_credit_note_without_lines_breaks_br_16() -> None:
    assert len(fired("BR-16", credit_note("<cbc:ID>CN-1</cbc:ID>"))) == 1


def test_credit_note_line_allowances_and_periods_are_checked() -> None:
    extra = (
        "<cac:InvoicePeriod><cbc:StartDate>2024-02-01</cbc:StartDate><cbc:EndDate>2024-01-01</cbc:EndDate></cac:InvoicePeriod>"
        "<cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator></cac:AllowanceCharge>"
    )
    doc = credit_note(line(tag="CreditNoteLine", extra=extra))
    assert len(fired("BR-30", doc)) == 1
    assert fired("BR-29", doc) == []  # a line's period answers to BR-30 only
    assert len(fired("BR-41", doc)) == 1
    assert len(fired("BR-42", doc)) == 1


@pytest.mark.parametrize("value", ["", "   ", "\n\t "])
def test_blank_values_are_missing_where_the_standard_normalizes_space(value: str) -> None:
    assert len(fired("BR-02", invoice(f"<cbc:ID>{value}</cbc:ID>"))) == 1


def test_an_empty_element_is_present_where_the_standard_only_asks_for_existence() -> None:
    assert fired("BR-12", invoice(totals(LineExtensionAmount=""))) == []
    assert len(fired("BR-12", invoice(totals(PayableAmount="1")))) == 1


def test_a_rule_fires_once_per_broken_context() -> None:
    lines = "".join(f"<cac:InvoiceLine><cbc:Note>{n}</cbc:Note></cac:InvoiceLine>" for n in range(3))
    assert len(fired("BR-21", invoice(lines))) == 3


def test_document_rules_stay_silent_on_other_roots() -> None:
    order = etree.fromstring('<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>')
    assert fired("BR-01", order) == []
    assert fired("BR-16", order) == []


@pytest.mark.parametrize(
    ("price", "broken"), [("0", False), ("12.5", False), ("-0.01", True), ("1e2", False), ("abc", True)]
)
def test_br_27_net_price_must_not_be_negative(price: str, broken: bool) -> None:
    doc = invoice(
        f"<cac:InvoiceLine><cac:Price><cbc:PriceAmount>{price}</cbc:PriceAmount></cac:Price></cac:InvoiceLine>"
    )
    assert bool(fired("BR-27", doc)) is broken


def test_br_27_fires_when_the_net_price_is_missing() -> None:
    assert len(fired("BR-27", invoice("<cac:InvoiceLine><cbc:ID>1</cbc:ID></cac:InvoiceLine>"))) == 1


@pytest.mark.parametrize(
    ("start", "end", "broken"),
    [
        ("2024-01-01", "2024-01-01", False),
        ("2024-01-02", "2024-01-01", True),
        ("2024-01-02+14:00", "2024-01-01-10:00", False),  # the same instant once the timezones are applied
        ("2024-01-01", "2024-13-01", True),  # not a date: the official check errors, so it is reported
    ],
)
def test_br_29_invoicing_period_dates(start: str, end: str, broken: bool) -> None:
    doc = invoice(
        f"<cac:InvoicePeriod><cbc:StartDate>{start}</cbc:StartDate><cbc:EndDate>{end}</cbc:EndDate></cac:InvoicePeriod>"
    )
    assert bool(fired("BR-29", doc)) is broken


def test_vat_scheme_is_matched_case_insensitively() -> None:
    allowance = (
        "<cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator>"
        "<cac:TaxCategory><cbc:ID>S</cbc:ID><cac:TaxScheme><cbc:ID> vat </cbc:ID></cac:TaxScheme></cac:TaxCategory>"
        "</cac:AllowanceCharge>"
    )
    assert fired("BR-32", invoice(allowance)) == []
    other_tax = allowance.replace(" vat ", "GST")
    assert len(fired("BR-32", invoice(other_tax))) == 1


def test_allowance_and_charge_rules_follow_the_indicator() -> None:
    doc = invoice(allowance_charge("5", charge=False, reason="") + allowance_charge("7", charge=True))
    assert len(fired("BR-33", doc)) == 1
    assert fired("BR-38", doc) == []
    no_indicator = "<cac:AllowanceCharge><cbc:Amount>1</cbc:Amount></cac:AllowanceCharge>"
    assert fired("BR-33", invoice(no_indicator)) == fired("BR-38", invoice(no_indicator)) == []


def test_br_48_rate_may_be_absent_only_for_not_subject_to_vat() -> None:
    def breakdown(category: str) -> str:
        return f"<cac:TaxTotal><cac:TaxSubtotal><cac:TaxCategory><cbc:ID>{category}</cbc:ID>{VAT}</cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>"

    assert fired("BR-48", invoice(breakdown("O"))) == []
    assert len(fired("BR-48", invoice(breakdown("S")))) == 1


def test_br_51_is_a_warning_counting_digits_after_normalizing_space() -> None:
    assert REGISTRY["BR-51"].severity is Severity.WARNING

    def card(number: str) -> str:
        return f"<cac:PaymentMeans><cac:CardAccount><cbc:PrimaryAccountNumberID>{number}</cbc:PrimaryAccountNumberID></cac:CardAccount></cac:PaymentMeans>"

    assert fired("BR-51", invoice(card("  1234567890  "))) == []
    assert len(fired("BR-51", invoice(card("1234 567890")))) == 1


def test_br_61_trims_the_code_but_br_50_compares_it_as_written() -> None:
    means = "<cac:PaymentMeans><cbc:PaymentMeansCode> 30 </cbc:PaymentMeansCode><cac:PayeeFinancialAccount/></cac:PaymentMeans>"
    doc = invoice(means)
    assert len(fired("BR-61", doc)) == 1
    assert fired("BR-50", doc) == []
    assert len(fired("BR-50", invoice(means.replace(" 30 ", "58")))) == 1


def test_br_17_payee_must_differ_from_the_seller() -> None:
    seller = "<cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Acme</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty>"
    assert (
        len(
            fired(
                "BR-17",
                invoice(
                    seller
                    + "<cac:PayeeParty><cac:PartyName><cbc:Name>Acme</cbc:Name></cac:PartyName></cac:PayeeParty>"
                ),
            )
        )
        == 1
    )
    assert (
        fired(
            "BR-17",
            invoice(
                seller
                + "<cac:PayeeParty><cac:PartyName><cbc:Name>Factor</cbc:Name></cac:PartyName></cac:PayeeParty>"
            ),
        )
        == []
    )


def test_br_53_needs_a_tax_total_in_the_accounting_currency() -> None:
    body = '<cbc:TaxCurrencyCode>SEK</cbc:TaxCurrencyCode><cac:TaxTotal><cbc:TaxAmount currencyID="EUR">10</cbc:TaxAmount></cac:TaxTotal>'
    assert len(fired("BR-53", invoice(body))) == 1
    body += '<cac:TaxTotal><cbc:TaxAmount currencyID="SEK">110</cbc:TaxAmount></cac:TaxTotal>'
    assert fired("BR-53", invoice(body)) == []


def test_several_values_where_the_standard_takes_one_are_reported() -> None:
    # normalize-space() and xs:date() of two elements are errors in the official check: fail closed.
    two_names = (
        "<cac:AccountingSupplierParty><cac:Party>"
        "<cac:PartyLegalEntity><cbc:RegistrationName>A</cbc:RegistrationName></cac:PartyLegalEntity>"
        "<cac:PartyLegalEntity><cbc:RegistrationName>B</cbc:RegistrationName></cac:PartyLegalEntity>"
        "</cac:Party></cac:AccountingSupplierParty>"
    )
    assert len(fired("BR-06", invoice(two_names))) == 1
    assert (
        fired(
            "BR-06",
            invoice(
                two_names.replace(
                    "<cac:PartyLegalEntity><cbc:RegistrationName>B</cbc:RegistrationName></cac:PartyLegalEntity>",
                    "",
                )
            ),
        )
        == []
    )
    two_starts = "<cac:InvoicePeriod><cbc:StartDate>2024-01-01</cbc:StartDate><cbc:StartDate>2024-01-02</cbc:StartDate><cbc:EndDate>2024-02-01</cbc:EndDate></cac:InvoicePeriod>"
    assert len(fired("BR-29", invoice(two_starts))) == 1


@pytest.mark.parametrize("zone", ["+15:00", "+14:30", "+01:60"])
def test_br_29_refuses_a_timezone_xs_date_does_not_allow(zone: str) -> None:
    period = f"<cac:InvoicePeriod><cbc:StartDate>2024-01-01</cbc:StartDate><cbc:EndDate>2024-02-01{zone}</cbc:EndDate></cac:InvoicePeriod>"
    assert len(fired("BR-29", invoice(period))) == 1
    assert fired("BR-29", invoice(period.replace(zone, "+14:00"))) == []
