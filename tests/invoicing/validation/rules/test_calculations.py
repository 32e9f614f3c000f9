"""Calculation rules BR-CO: XPath rounding, exact decimals, the BR-CO-17 tolerance, credit notes."""

from __future__ import annotations

import pytest

from tests.invoicing.validation.rules.documents import (
    VAT,
    allowance_charge,
    credit_note,
    fired,
    invoice,
    line,
    local,
    parent_name,
    subtotal,
    totals,
)


@pytest.mark.parametrize(
    ("amounts", "stated", "broken"),
    [
        (("0.1", "0.2"), "0.30", False),  # exact decimals: no binary floating point residue
        (("10.004", "0.001"), "10.01", False),  # 10.005 rounds half up
        (("10.004", "0.001"), "10.00", True),
        (("-10.004", "-0.001"), "-10.00", False),  # -10.005 rounds towards positive infinity
        (("-10.004", "-0.001"), "-10.01", True),
        (("100.00",), "100", False),  # equal as numbers, whatever the notation
    ],
)
def test_br_co_10_rounds_the_line_sum_like_xpath(amounts: tuple[str, ...], stated: str, broken: bool) -> None:
    doc = invoice(totals(LineExtensionAmount=stated) + "".join(line(amount) for amount in amounts))
    assert bool(fired("BR-CO-10", doc)) is broken


def test_br_co_10_sums_credit_note_lines() -> None:
    lines = line("40.00", tag="CreditNoteLine") + line("2.50", tag="CreditNoteLine")
    assert fired("BR-CO-10", credit_note(totals(LineExtensionAmount="42.50") + lines)) == []
    assert [
        local(el) for el in fired("BR-CO-10", credit_note(totals(LineExtensionAmount="40.00") + lines))
    ] == ["LegalMonetaryTotal"]


def test_br_co_10_fails_closed_on_an_amount_that_is_not_a_number() -> None:
    assert len(fired("BR-CO-10", invoice(totals(LineExtensionAmount="12,50") + line("12.50")))) == 1
    assert len(fired("BR-CO-10", invoice(totals(LineExtensionAmount="12.50") + line("12,50")))) == 1


def test_br_co_10_fires_when_the_sum_is_missing() -> None:
    assert len(fired("BR-CO-10", invoice(totals(PayableAmount="0") + line("1.00")))) == 1


def test_br_co_11_allowance_total_against_document_allowances() -> None:
    allowances = allowance_charge("5.00", charge=False) + allowance_charge("2.50", charge=False)
    charge = allowance_charge("99", charge=True)
    assert fired("BR-CO-11", invoice(allowances + charge + totals(AllowanceTotalAmount="7.50"))) == []
    assert len(fired("BR-CO-11", invoice(allowances + totals(AllowanceTotalAmount="7.00")))) == 1
    assert len(fired("BR-CO-11", invoice(allowances + totals(PayableAmount="0")))) == 1  # total missing
    assert fired("BR-CO-11", invoice(totals(PayableAmount="0"))) == []  # neither
    assert fired("BR-CO-11", invoice(totals(AllowanceTotalAmount="0.00"))) == []  # sum of nothing is 0
    assert len(fired("BR-CO-11", invoice(totals(AllowanceTotalAmount="1.00")))) == 1


def test_br_co_12_charge_total_against_document_charges_of_a_credit_note() -> None:
    charges = allowance_charge("1.25", charge=True) + allowance_charge("1.25", charge=True)
    assert fired("BR-CO-12", credit_note(charges + totals(ChargeTotalAmount="2.50"))) == []
    assert len(fired("BR-CO-12", credit_note(charges + totals(ChargeTotalAmount="2.49")))) == 1


@pytest.mark.parametrize(
    ("amounts", "broken"),
    [
        ({"LineExtensionAmount": "100.00", "TaxExclusiveAmount": "100.00"}, False),
        ({"LineExtensionAmount": "100.00", "TaxExclusiveAmount": "100.01"}, True),
        (
            {"LineExtensionAmount": "100.00", "AllowanceTotalAmount": "10", "TaxExclusiveAmount": "90.00"},
            False,
        ),
        (
            {"LineExtensionAmount": "100.00", "ChargeTotalAmount": "5.5", "TaxExclusiveAmount": "105.50"},
            False,
        ),
        (
            {
                "LineExtensionAmount": "100.00",
                "ChargeTotalAmount": "5.5",
                "AllowanceTotalAmount": "10.25",
                "TaxExclusiveAmount": "95.25",
            },
            False,
        ),
        ({"LineExtensionAmount": "100.00", "ChargeTotalAmount": "5.5", "TaxExclusiveAmount": "100.00"}, True),
        ({"LineExtensionAmount": "100.00"}, True),  # BT-109 missing
    ],
)
def test_br_co_13_total_without_vat(amounts: dict[str, str], broken: bool) -> None:
    assert bool(fired("BR-CO-13", invoice(totals(**amounts)))) is broken


def test_br_co_14_checks_the_tax_total_of_a_credit_note() -> None:
    def tax_total(total: str) -> str:
        return f'<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{total}</cbc:TaxAmount>{subtotal("100", "25.00")}{subtotal("10", "1.20", percent="12")}</cac:TaxTotal>'

    assert fired("BR-CO-14", credit_note(tax_total("26.20"))) == []
    assert len(fired("BR-CO-14", credit_note(tax_total("26.00")))) == 1
    assert len(fired("BR-CO-14", invoice(tax_total("26.00")))) == 1


def test_br_co_14_ignores_a_tax_total_without_breakdown() -> None:
    assert (
        fired(
            "BR-CO-14",
            invoice('<cac:TaxTotal><cbc:TaxAmount currencyID="SEK">1</cbc:TaxAmount></cac:TaxTotal>'),
        )
        == []
    )


def _with_vat_document(*tax_amounts: str) -> str:
    tax_totals = "".join(f"<cac:TaxTotal>{amount}</cac:TaxTotal>" for amount in tax_amounts)
    return (
        "<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
        + tax_totals
        + totals(TaxExclusiveAmount="100.00", TaxInclusiveAmount="125.00")
    )


def test_br_co_15_total_with_vat_uses_the_tax_total_in_the_invoice_currency() -> None:
    eur = '<cbc:TaxAmount currencyID="EUR">25.00</cbc:TaxAmount>'
    sek = '<cbc:TaxAmount currencyID="SEK">280.00</cbc:TaxAmount>'
    assert fired("BR-CO-15", invoice(_with_vat_document(eur, sek))) == []
    assert len(fired("BR-CO-15", invoice(_with_vat_document(eur.replace("25.00", "24.00"))))) == 1
    assert len(fired("BR-CO-15", invoice(_with_vat_document(eur, eur)))) == 1  # BT-110 given twice
    assert len(fired("BR-CO-15", invoice(_with_vat_document(sek)))) == 1  # none in EUR


@pytest.mark.parametrize(
    ("amounts", "broken"),
    [
        ({"TaxInclusiveAmount": "125.00", "PayableAmount": "125.00"}, False),
        ({"TaxInclusiveAmount": "125.00", "PrepaidAmount": "25.00", "PayableAmount": "100.00"}, False),
        ({"TaxInclusiveAmount": "125.00", "PrepaidAmount": "25.00", "PayableAmount": "125.00"}, True),
        (
            {"TaxInclusiveAmount": "125.37", "PayableRoundingAmount": "-0.37", "PayableAmount": "125.00"},
            False,
        ),
        ({"TaxInclusiveAmount": "125.37", "PayableRoundingAmount": "0.00", "PayableAmount": "125.37"}, False),
        (
            {
                "TaxInclusiveAmount": "125.37",
                "PrepaidAmount": "20",
                "PayableRoundingAmount": "0.63",
                "PayableAmount": "106.00",
            },
            False,
        ),
        ({"TaxInclusiveAmount": "125.37", "PayableRoundingAmount": "0.37", "PayableAmount": "125.00"}, True),
        ({"TaxInclusiveAmount": "125.00"}, True),  # BT-115 missing
    ],
)
def test_br_co_16_amount_due(amounts: dict[str, str], broken: bool) -> None:
    assert bool(fired("BR-CO-16", invoice(totals(**amounts)))) is broken


@pytest.mark.parametrize(
    ("taxable", "tax", "broken"),
    [
        ("100.00", "25.00", False),
        ("100.00", "25.99", False),  # within one currency unit of 25.00
        ("100.00", "24.01", False),
        ("100.00", "26.00", True),  # a whole unit off: outside the tolerance
        ("100.00", "24.00", True),
        ("-100.00", "-25.00", False),  # compared in absolute value
        ("100.02", "24.01", True),  # 25.005 rounds half up to 25.01, so 24.01 is a whole unit off
    ],
)
def test_br_co_17_tax_amount_tolerates_less_than_one_unit(taxable: str, tax: str, broken: bool) -> None:
    assert (
        bool(fired("BR-CO-17", invoice(f"<cac:TaxTotal>{subtotal(taxable, tax)}</cac:TaxTotal>"))) is broken
    )


@pytest.mark.parametrize(
    ("percent", "tax", "broken"),
    [
        ("0", "0.00", False),
        ("0", "0.49", False),  # rounds to 0
        ("0", "0.50", True),  # round(0.5) = 1
        ("0", "-0.50", False),  # round(-0.5) = 0: halves go towards positive infinity
        ("0.4", "0.00", False),  # a rate that rounds to 0 is treated as 0
        (None, "0.00", False),  # no rate (category O): the tax must round to 0
        (None, "1.00", True),
    ],
)
def test_br_co_17_zero_rate(percent: str | None, tax: str, broken: bool) -> None:
    doc = invoice(f"<cac:TaxTotal>{subtotal('100.00', tax, category='Z', percent=percent)}</cac:TaxTotal>")
    assert bool(fired("BR-CO-17", doc)) is broken


def test_br_co_17_checks_credit_note_breakdowns() -> None:
    assert (
        len(fired("BR-CO-17", credit_note(f"<cac:TaxTotal>{subtotal('100.00', '30.00')}</cac:TaxTotal>")))
        == 1
    )


@pytest.mark.parametrize(
    ("company_id", "broken"),
    [
        ("DE123456789", False),
        ("EL123456789", False),
        ("XI123456789", False),
        ("XX123456789", True),
        ("de123", True),
    ],
)
def test_br_co_09_vat_identifier_prefix(company_id: str, broken: bool) -> None:
    party = (
        f"<cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme><cbc:CompanyID>{company_id}</cbc:CompanyID>"
        f"{VAT}</cac:PartyTaxScheme></cac:Party></cac:AccountingSupplierParty>"
    )
    assert bool(fired("BR-CO-09", invoice(party))) is broken
    not_vat = party.replace(VAT, "<cac:TaxScheme><cbc:ID>TAX</cbc:ID></cac:TaxScheme>")
    assert fired("BR-CO-09", invoice(not_vat)) == []


def test_br_co_03_tax_point_date_and_code_are_exclusive() -> None:
    code = "<cac:InvoicePeriod><cbc:DescriptionCode>35</cbc:DescriptionCode></cac:InvoicePeriod>"
    date = "<cbc:TaxPointDate>2024-01-01</cbc:TaxPointDate>"
    assert fired("BR-CO-03", invoice(date)) == fired("BR-CO-03", invoice(code)) == []
    assert len(fired("BR-CO-03", invoice(date + code))) == 1


def test_br_co_04_credit_note_line_needs_a_vat_category() -> None:
    assert fired("BR-CO-04", credit_note(line(tag="CreditNoteLine"))) == []
    assert len(fired("BR-CO-04", credit_note(line(tag="CreditNoteLine").replace(VAT, "")))) == 1


def test_br_co_19_and_20_split_periods_between_invoice_and_lines() -> None:
    empty_period = "<cac:InvoicePeriod/>"
    doc = credit_note(empty_period + line(tag="CreditNoteLine", extra=empty_period))
    assert [parent_name(el) for el in fired("BR-CO-19", doc)] == ["CreditNote"]
    assert [parent_name(el) for el in fired("BR-CO-20", doc)] == ["CreditNoteLine"]


def test_br_co_05_to_08_have_no_machine_test_in_the_standard() -> None:
    mismatch = allowance_charge(
        "1",
        charge=False,
        reason="<cbc:AllowanceChargeReasonCode>95</cbc:AllowanceChargeReasonCode><cbc:AllowanceChargeReason>Freight</cbc:AllowanceChargeReason>",
    )
    for rule_id in ("BR-CO-05", "BR-CO-06", "BR-CO-07", "BR-CO-08"):
        assert fired(rule_id, invoice(mismatch + line(extra=mismatch))) == []
