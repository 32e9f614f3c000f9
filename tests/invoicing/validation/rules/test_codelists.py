"""BR-CL-*: coded values against the generated code lists, and the generator itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.invoicing.validation.rules import codelist_data
from services.invoicing.validation.rules.base import REGISTRY, Doc, Element
from services.invoicing.validation.rules.codelists import RULES, code_list_breaches
from tests.invoicing.validation.conformance import SHARED, official_rules, require_shared
from tests.invoicing.validation.rules.documents import credit_note, invoice
from tools import gen_codelists

CODELISTS_JSON = SHARED / "reference" / "en16931-codelists.json"


def fired(root: Element) -> list[str]:
    return [rule_id for rule_id, _ in code_list_breaches(Doc(root))]


def test_every_official_code_list_rule_is_registered_as_fatal() -> None:
    official = {r: f for r, f in official_rules().items() if r.startswith("BR-CL-")}
    assert {r.id: r.severity.value for r in RULES} == official
    assert all(REGISTRY[r.id] is r for r in RULES)


def test_the_generated_module_is_up_to_date_with_the_shared_code_lists() -> None:
    source = require_shared(CODELISTS_JSON)
    assert gen_codelists.generate(source) == Path(codelist_data.__file__).read_text(encoding="utf-8")


def test_the_generated_lists_hold_the_shared_codes() -> None:
    data = json.loads(require_shared(CODELISTS_JSON).read_text(encoding="utf-8"))
    assert frozenset(data["BR-CL-23"]["code_lists"][0]) == codelist_data.BR_CL_23
    assert frozenset(data["BR-CL-01"]["code_lists"][1]) == codelist_data.BR_CL_01_CREDIT_NOTE


def test_the_generator_refuses_a_malformed_source(tmp_path: Path) -> None:
    bad = tmp_path / "codes.json"
    bad.write_text(json.dumps({"BR-CL-99": {"code_lists": [["A B"]]}}), encoding="utf-8")
    with pytest.raises(gen_codelists.SourceError, match="plain token"):
        gen_codelists.generate(bad)
    bad.write_text(json.dumps({"BR-X": {}}), encoding="utf-8")
    with pytest.raises(gen_codelists.SourceError, match="code_lists"):
        gen_codelists.generate(bad)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>", []),
        ("<cbc:InvoiceTypeCode> 380\n</cbc:InvoiceTypeCode>", []),
        ("<cbc:InvoiceTypeCode>381</cbc:InvoiceTypeCode>", ["BR-CL-01"]),  # a credit note code
        ("<cbc:InvoiceTypeCode>38 0</cbc:InvoiceTypeCode>", ["BR-CL-01"]),
        ("<cbc:InvoiceTypeCode/>", ["BR-CL-01"]),
        ("<cbc:DocumentCurrencyCode>eur</cbc:DocumentCurrencyCode>", ["BR-CL-04"]),
        ("<cbc:TaxCurrencyCode>SEK</cbc:TaxCurrencyCode>", []),
        ("<cac:TaxTotal><cbc:TaxAmount>1</cbc:TaxAmount></cac:TaxTotal>", ["BR-CL-03"]),  # no currencyID
        ('<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">1</cbc:TaxAmount></cac:TaxTotal>', []),
        ('<cac:TaxTotal><cbc:TaxAmount currencyID="XYZ">1</cbc:TaxAmount></cac:TaxTotal>', ["BR-CL-03"]),
        ("<cac:InvoicePeriod><cbc:DescriptionCode>35</cbc:DescriptionCode></cac:InvoicePeriod>", []),
        ("<cac:InvoicePeriod><cbc:DescriptionCode>5</cbc:DescriptionCode></cac:InvoicePeriod>", ["BR-CL-06"]),
        ("<cac:Delivery><cbc:DescriptionCode>5</cbc:DescriptionCode></cac:Delivery>", []),  # not its context
        ("<cac:PaymentMeans><cbc:PaymentMeansCode>31</cbc:PaymentMeansCode></cac:PaymentMeans>", []),
        (
            "<cac:PaymentMeans><cbc:PaymentMeansCode>99</cbc:PaymentMeansCode></cac:PaymentMeans>",
            ["BR-CL-16"],
        ),
        ("<cac:TaxCategory><cbc:ID>S</cbc:ID></cac:TaxCategory>", []),
        ("<cac:TaxCategory><cbc:ID>X</cbc:ID></cac:TaxCategory>", ["BR-CL-17"]),
        ("<cac:ClassifiedTaxCategory><cbc:ID>X</cbc:ID></cac:ClassifiedTaxCategory>", ["BR-CL-18"]),
        (
            "<cac:TaxCategory><cbc:TaxExemptionReasonCode>vatex-eu-ic</cbc:TaxExemptionReasonCode></cac:TaxCategory>",
            [],
        ),
        (
            "<cac:TaxCategory><cbc:TaxExemptionReasonCode>VATEX-XX</cbc:TaxExemptionReasonCode></cac:TaxCategory>",
            ["BR-CL-22"],
        ),
    ],
)
def test_coded_values(body: str, expected: list[str]) -> None:
    assert fired(invoice(body)) == expected


def test_credit_note_type_codes_use_their_own_list() -> None:
    assert fired(credit_note("<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>")) == []
    assert fired(credit_note("<cbc:CreditNoteTypeCode>380</cbc:CreditNoteTypeCode>")) == ["BR-CL-01"]


def test_sepa_is_a_party_identifier_scheme_for_the_seller_and_the_payee_only() -> None:
    identifier = '<cac:Party><cac:PartyIdentification><cbc:ID schemeID="SEPA">X</cbc:ID></cac:PartyIdentification></cac:Party>'
    assert fired(invoice(f"<cac:AccountingSupplierParty>{identifier}</cac:AccountingSupplierParty>")) == []
    assert fired(invoice(f"<cac:AccountingCustomerParty>{identifier}</cac:AccountingCustomerParty>")) == [
        "BR-CL-10"
    ]
    payee = '<cac:PayeeParty><cac:PartyIdentification><cbc:ID schemeID="SEPA">X</cbc:ID></cac:PartyIdentification></cac:PayeeParty>'
    assert fired(invoice(payee)) == []


def test_scheme_rules_apply_only_where_a_scheme_is_given() -> None:
    body = (
        "<cac:AccountingCustomerParty><cac:Party><cac:PartyIdentification><cbc:ID>1</cbc:ID>"
        '</cac:PartyIdentification><cac:PartyLegalEntity><cbc:CompanyID schemeID="0002">1</cbc:CompanyID>'
        '</cac:PartyLegalEntity><cbc:EndpointID schemeID="XX">e</cbc:EndpointID></cac:Party></cac:AccountingCustomerParty>'
    )
    assert fired(invoice(body)) == ["BR-CL-25"]


def test_the_invoiced_object_scheme_is_checked_for_type_code_130_only() -> None:
    def reference(code: str) -> Element:
        return invoice(
            f'<cac:AdditionalDocumentReference><cbc:ID schemeID="QQQ">1</cbc:ID>'
            f"<cbc:DocumentTypeCode>{code}</cbc:DocumentTypeCode></cac:AdditionalDocumentReference>"
        )

    assert fired(reference("130")) == ["BR-CL-07"]
    assert fired(reference("916")) == []


def test_allowance_and_charge_reasons_use_the_list_of_their_kind() -> None:
    def allowance_charge(indicator: str, reason: str) -> Element:
        return invoice(
            f"<cac:AllowanceCharge><cbc:ChargeIndicator>{indicator}</cbc:ChargeIndicator>"
            f"<cbc:AllowanceChargeReasonCode>{reason}</cbc:AllowanceChargeReasonCode></cac:AllowanceCharge>"
        )

    assert fired(allowance_charge("false", "95")) == []
    assert fired(allowance_charge("false", "AA")) == ["BR-CL-19"]
    assert fired(allowance_charge(" true ", "AA")) == []
    assert fired(allowance_charge("1", "95")) == ["BR-CL-20"]
    assert fired(allowance_charge("maybe", "95")) == []  # neither an allowance nor a charge


def test_units_mime_codes_and_item_schemes() -> None:
    line = (
        '<cac:InvoiceLine><cbc:InvoicedQuantity unitCode="XXXX">1</cbc:InvoicedQuantity><cac:Item>'
        '<cac:StandardItemIdentification><cbc:ID schemeID="0160">1</cbc:ID></cac:StandardItemIdentification>'
        '<cac:CommodityClassification><cbc:ItemClassificationCode listID="ZZ1">1</cbc:ItemClassificationCode>'
        "</cac:CommodityClassification><cac:OriginCountry><cbc:IdentificationCode>XX</cbc:IdentificationCode>"
        "</cac:OriginCountry></cac:Item></cac:InvoiceLine>"
    )
    assert sorted(fired(invoice(line))) == ["BR-CL-13", "BR-CL-15", "BR-CL-23"]
    attachment = (
        "<cac:AdditionalDocumentReference><cbc:ID>1</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject "
        'mimeCode="{}" filename="a">AA==</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>'
        "</cac:AdditionalDocumentReference>"
    )
    assert fired(invoice(attachment.format("application/pdf"))) == []
    assert fired(invoice(attachment.format("application/pdf "))) == ["BR-CL-24"]  # compared exactly


def test_each_breach_is_located_at_the_coded_element() -> None:
    root = invoice(
        "<cac:TaxTotal><cbc:TaxAmount>1</cbc:TaxAmount><cbc:TaxAmount>2</cbc:TaxAmount></cac:TaxTotal>"
    )
    hits = list(code_list_breaches(Doc(root)))
    assert [(rule_id, el.text) for rule_id, el in hits] == [("BR-CL-03", "1"), ("BR-CL-03", "2")]


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        ("Plain note", []),
        ("#AAI#Subject given", []),
        ("#XYZ#Unknown subject", ["BR-CL-08"]),
        ("#AAI without a closing sign", []),
        ("##empty subject", []),
    ],
)
def test_invoice_note_subject_codes(note: str, expected: list[str]) -> None:
    assert fired(invoice(f"<cbc:Note>{note}</cbc:Note>")) == expected


def test_note_subject_codes_are_read_in_invoices_only() -> None:
    # The artefacts' credit note path names an element that does not exist, so credit notes pass.
    assert fired(credit_note("<cbc:Note>#XYZ#Unknown subject</cbc:Note>")) == []
