"""UBL-SR-*: cardinalities from their contexts, and the syntax rules with conditions of their own."""

from __future__ import annotations

import pytest

from services.invoicing.validation.rules.base import REGISTRY, Doc, Element
from services.invoicing.validation.rules.syntax import LIMITS, RULES, syntax_breaches
from tests.invoicing.validation.conformance import official_rules
from tests.invoicing.validation.rules.documents import credit_note, invoice, local


def hits(root: Element) -> list[tuple[str, str]]:
    return [(rule_id, local(el)) for rule_id, el in syntax_breaches(Doc(root))]


def fired(root: Element) -> list[str]:
    return [rule_id for rule_id, _ in syntax_breaches(Doc(root))]


def test_every_official_syntax_rule_is_registered_as_fatal() -> None:
    official = {r: f for r, f in official_rules().items() if r.startswith("UBL-SR-")}
    assert {r.id: r.severity.value for r in RULES} == official
    assert all(REGISTRY[r.id] is r for r in RULES)


SUPPLIER = "<cac:AccountingSupplierParty><cac:Party>{}</cac:Party></cac:AccountingSupplierParty>"
CUSTOMER = "<cac:AccountingCustomerParty><cac:Party>{}</cac:Party></cac:AccountingCustomerParty>"


@pytest.mark.parametrize(
    ("rule_id", "one"),
    [
        ("UBL-SR-01", "<cac:ContractDocumentReference><cbc:ID>1</cbc:ID></cac:ContractDocumentReference>"),
        ("UBL-SR-08", "<cac:InvoicePeriod/>"),
        (
            "UBL-SR-09",
            SUPPLIER.format(
                "<cac:PartyLegalEntity><cbc:RegistrationName>S</cbc:RegistrationName></cac:PartyLegalEntity>"
            ),
        ),
        (
            "UBL-SR-16",
            CUSTOMER.format("<cac:PartyIdentification><cbc:ID>1</cbc:ID></cac:PartyIdentification>"),
        ),
        ("UBL-SR-24", "<cac:Delivery/>"),
        ("UBL-SR-54", "<cac:PaymentMeans><cac:CardAccount/></cac:PaymentMeans>"),
        (
            "UBL-SR-56",
            "<cac:OriginatorDocumentReference><cbc:ID>1</cbc:ID></cac:OriginatorDocumentReference>",
        ),
    ],
)
def test_root_cardinalities_allow_one_and_report_two_once_at_the_root(rule_id: str, one: str) -> None:
    assert rule_id not in fired(invoice(one))
    assert hits(invoice(one + one)).count((rule_id, "Invoice")) == 1


def test_the_same_element_under_another_party_is_not_counted() -> None:
    name = "<cac:PartyLegalEntity><cbc:RegistrationName>N</cbc:RegistrationName></cac:PartyLegalEntity>"
    assert fired(invoice(SUPPLIER.format(name) + CUSTOMER.format(name))) == []


def test_line_cardinalities_are_reported_at_each_line() -> None:
    crowded = "<cac:InvoiceLine><cbc:Note>a</cbc:Note><cbc:Note>b</cbc:Note>{}</cac:InvoiceLine>"
    item = "<cac:Item><cac:ClassifiedTaxCategory/></cac:Item>"
    lines = (
        crowded.format(item)
        + crowded.format(item)
        + f"<cac:InvoiceLine><cbc:Note>a</cbc:Note>{item}</cac:InvoiceLine>"
    )
    assert hits(invoice(lines)) == [("UBL-SR-34", "InvoiceLine"), ("UBL-SR-34", "InvoiceLine")]


def test_each_line_has_exactly_one_item_vat_category() -> None:
    lines = (
        "<cac:CreditNoteLine><cac:Item/></cac:CreditNoteLine>"
        "<cac:CreditNoteLine><cac:Item><cac:ClassifiedTaxCategory/></cac:Item></cac:CreditNoteLine>"
        "<cac:CreditNoteLine><cac:Item><cac:ClassifiedTaxCategory/><cac:ClassifiedTaxCategory/></cac:Item>"
        "</cac:CreditNoteLine>"
    )
    assert hits(credit_note(lines)) == [("UBL-SR-48", "CreditNoteLine"), ("UBL-SR-48", "CreditNoteLine")]


def test_seller_tax_registrations_split_by_vat_scheme() -> None:
    def scheme(scheme_id: str, company: str) -> str:
        return (
            f"<cac:PartyTaxScheme><cbc:CompanyID>{company}</cbc:CompanyID>"
            f"<cac:TaxScheme><cbc:ID>{scheme_id}</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        )

    assert fired(invoice(SUPPLIER.format(scheme("VAT", "A") + scheme("TAX", "B")))) == []
    assert fired(invoice(SUPPLIER.format(scheme("vat", "A") + scheme("VAT", "B")))) == ["UBL-SR-12"]
    assert fired(invoice(SUPPLIER.format(scheme("FC", "A") + scheme("TAX", "B")))) == ["UBL-SR-13"]
    assert fired(invoice(CUSTOMER.format(scheme("VAT", "A") + scheme("VAT", "B")))) == ["UBL-SR-18"]
    three = SUPPLIER.format(scheme("VAT", "A") + scheme("TAX", "B") + scheme("FC", "C"))
    assert sorted(fired(invoice(three))) == ["UBL-SR-13", "UBL-SR-42"]


def test_a_party_tax_scheme_needs_both_its_scheme_and_the_identifier() -> None:
    assert hits(
        invoice(
            SUPPLIER.format(
                "<cac:PartyTaxScheme><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
            )
        )
    ) == [("UBL-SR-53", "PartyTaxScheme")]


def test_payee_rules_need_a_payee_name_that_differs_from_the_seller_name() -> None:
    seller = SUPPLIER.format(
        "<cac:PartyLegalEntity><cbc:RegistrationName>Seller</cbc:RegistrationName></cac:PartyLegalEntity>"
    )

    def payee(name: str) -> str:
        return f"<cac:PayeeParty><cac:PartyName><cbc:Name>{name}</cbc:Name></cac:PartyName></cac:PayeeParty>"

    assert fired(invoice(seller + payee("Factor"))) == []
    assert fired(invoice(seller + payee("Seller"))) == ["UBL-SR-19", "UBL-SR-20", "UBL-SR-21"]
    assert fired(invoice(payee("Factor"))) == ["UBL-SR-19", "UBL-SR-20", "UBL-SR-21"]  # nothing to compare


def test_one_sepa_creditor_identifier_besides_the_payee_identifier() -> None:
    ids = '<cac:PartyIdentification><cbc:ID schemeID="sepa">C1</cbc:ID></cac:PartyIdentification>'
    seller = SUPPLIER.format(
        "<cac:PartyLegalEntity><cbc:RegistrationName>S</cbc:RegistrationName></cac:PartyLegalEntity>"
    )
    payee = (
        f"<cac:PayeeParty><cac:PartyName><cbc:Name>P</cbc:Name></cac:PartyName>{ids}{ids}</cac:PayeeParty>"
    )
    assert fired(invoice(seller + payee)) == ["UBL-SR-29"]


def test_remittance_information_and_payment_means_code_may_repeat_with_one_value() -> None:
    def means(code: str, payment_id: str) -> str:
        return (
            f"<cac:PaymentMeans><cbc:PaymentMeansCode>{code}</cbc:PaymentMeansCode>"
            f"<cbc:PaymentID>{payment_id}</cbc:PaymentID></cac:PaymentMeans>"
        )

    assert fired(invoice(means("30", "R1") + means("30", "R1"))) == []
    assert fired(invoice(means("30", "R1") + means("58", "R2"))) == ["UBL-SR-44", "UBL-SR-47"]


def test_a_preceding_invoice_reference_names_one_invoice() -> None:
    reference = "<cac:InvoiceDocumentReference><cbc:ID>1</cbc:ID></cac:InvoiceDocumentReference>"
    assert fired(invoice(f"<cac:BillingReference>{reference}</cac:BillingReference>")) == []
    assert hits(invoice(f"<cac:BillingReference>{reference}{reference}</cac:BillingReference>")) == [
        ("UBL-SR-06", "BillingReference")
    ]
    assert fired(invoice("<cac:BillingReference><cac:InvoiceDocumentReference/></cac:BillingReference>")) == [
        "UBL-SR-07"
    ]


@pytest.mark.parametrize(
    ("document", "reference", "breaks"),
    [
        (invoice, '<cbc:ID schemeID="AAA">1</cbc:ID><cbc:DocumentTypeCode>130</cbc:DocumentTypeCode>', False),
        (invoice, "<cbc:ID>1</cbc:ID>", False),
        (invoice, '<cbc:ID schemeID="AAA">1</cbc:ID>', True),
        (invoice, "<cbc:ID>1</cbc:ID><cbc:DocumentTypeCode>50</cbc:DocumentTypeCode>", True),
        (credit_note, "<cbc:ID>1</cbc:ID><cbc:DocumentTypeCode>50</cbc:DocumentTypeCode>", False),
    ],
)
def test_scheme_identifier_only_for_an_invoiced_object(document, reference: str, breaks: bool) -> None:  # type: ignore[no-untyped-def]
    root = document(f"<cac:AdditionalDocumentReference>{reference}</cac:AdditionalDocumentReference>")
    assert ("UBL-SR-43" in fired(root)) is breaks


def test_allowance_and_charge_reasons_are_counted_by_kind() -> None:
    def allowance_charge(indicator: str) -> str:
        return (
            f"<cac:AllowanceCharge><cbc:ChargeIndicator>{indicator}</cbc:ChargeIndicator>"
            "<cbc:AllowanceChargeReason>a</cbc:AllowanceChargeReason>"
            "<cbc:AllowanceChargeReason>b</cbc:AllowanceChargeReason></cac:AllowanceCharge>"
        )

    assert fired(invoice(allowance_charge("false"))) == ["UBL-SR-30"]
    assert fired(invoice(allowance_charge("true"))) == ["UBL-SR-31"]


def test_payment_means_text_counts_named_codes_only() -> None:
    def means(code: str) -> str:
        return f"<cac:PaymentMeans>{code}</cac:PaymentMeans>"

    named = '<cbc:PaymentMeansCode name="Transfer">30</cbc:PaymentMeansCode>'
    plain = "<cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>"
    assert fired(invoice(means(named) + means(plain))) == []
    assert fired(invoice(means(named) + means(named))) == ["UBL-SR-46"]


def test_an_address_has_at_most_one_address_line() -> None:
    line = "<cac:AddressLine><cbc:Line>x</cbc:Line></cac:AddressLine>"
    body = f"<cac:Delivery><cac:DeliveryLocation><cac:Address>{line}{line}</cac:Address></cac:DeliveryLocation></cac:Delivery>"
    assert hits(invoice(body)) == [("UBL-SR-51", "Address")]


def test_limits_are_unique_and_fatal() -> None:
    assert len({limit.rule_id for limit in LIMITS}) == len(LIMITS)
    assert all(REGISTRY[limit.rule_id].severity.value == "fatal" for limit in LIMITS)
