"""UBL-DT-*: amount precision, binary object attributes, and attributes EN 16931 does not use."""

from __future__ import annotations

import pytest

from services.invoicing.validation.rules.base import REGISTRY, Doc, Element
from services.invoicing.validation.rules.datatypes import RULES, UNUSED_ATTRIBUTES, data_type_breaches
from tests.invoicing.validation.conformance import official_rules
from tests.invoicing.validation.rules.documents import credit_note, invoice, local


def hits(root: Element) -> list[tuple[str, str]]:
    return [(rule_id, local(el)) for rule_id, el in data_type_breaches(Doc(root))]


def test_every_official_data_type_rule_is_registered_with_its_flag() -> None:
    official = {r: f for r, f in official_rules().items() if r.startswith("UBL-DT-")}
    assert {r.id: r.severity.value for r in RULES} == official
    assert all(REGISTRY[r.id] is r for r in RULES)


@pytest.mark.parametrize(
    ("amount", "breaks"),
    [("100", False), ("100.5", False), ("100.50", False), ("100.505", True), ("1.00 ", True), (".123", True)],
)
def test_amounts_have_at_most_two_fraction_digits(amount: str, breaks: bool) -> None:
    root = invoice(
        f'<cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">{amount}</cbc:PayableAmount></cac:LegalMonetaryTotal>'
    )
    assert hits(root) == ([("UBL-DT-01", "PayableAmount")] if breaks else [])


def test_prices_and_price_discounts_may_be_more_precise() -> None:
    line = (
        '<cac:InvoiceLine><cbc:LineExtensionAmount currencyID="EUR">1.001</cbc:LineExtensionAmount><cac:Price>'
        '<cbc:PriceAmount currencyID="EUR">0.12345</cbc:PriceAmount><cac:AllowanceCharge>'
        '<cbc:Amount currencyID="EUR">0.001</cbc:Amount><cbc:BaseAmount currencyID="EUR">0.12445</cbc:BaseAmount>'
        "</cac:AllowanceCharge></cac:Price></cac:InvoiceLine>"
    )
    assert hits(invoice(line)) == [("UBL-DT-01", "LineExtensionAmount")]


def test_binary_objects_state_mime_code_and_file_name() -> None:
    def attachment(attributes: str) -> Element:
        return invoice(
            "<cac:AdditionalDocumentReference><cbc:ID>1</cbc:ID><cac:Attachment>"
            f"<cbc:EmbeddedDocumentBinaryObject {attributes}>AA==</cbc:EmbeddedDocumentBinaryObject>"
            "</cac:Attachment></cac:AdditionalDocumentReference>"
        )

    assert hits(attachment('mimeCode="application/pdf" filename="a.pdf"')) == []
    assert hits(attachment('filename="a.pdf"')) == [("UBL-DT-06", "EmbeddedDocumentBinaryObject")]
    assert hits(attachment("")) == [
        ("UBL-DT-06", "EmbeddedDocumentBinaryObject"),
        ("UBL-DT-07", "EmbeddedDocumentBinaryObject"),
    ]


@pytest.mark.parametrize(("rule_id", "attribute", "meaning"), UNUSED_ATTRIBUTES)
def test_unused_attributes_are_reported_once_at_the_root(rule_id: str, attribute: str, meaning: str) -> None:
    element = f'<cbc:Note {attribute}="x">a</cbc:Note>'
    root = credit_note(element + element)
    assert hits(root) == [(rule_id, "CreditNote")]
    assert REGISTRY[rule_id].severity.value == "warning"


def test_payment_means_text_is_the_one_name_attribute_allowed() -> None:
    means = '<cac:PaymentMeans><cbc:PaymentMeansCode name="Credit transfer">30</cbc:PaymentMeansCode></cac:PaymentMeans>'
    assert hits(invoice(means)) == []
    assert hits(invoice(means + '<cbc:Note name="n">a</cbc:Note>')) == [("UBL-DT-18", "Invoice")]


def test_namespaced_attributes_of_the_same_name_are_not_reported() -> None:
    root = invoice('<cbc:Note xmlns:x="urn:example" x:languageID="en">a</cbc:Note>')
    assert hits(root) == []
