from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from services.invoicing.ubl.facts import Attachment, Identifier, read_facts
from services.invoicing.validation.parser import WrongDocumentType, parse
from tests.invoicing.ubl.support import MUNICIPAL_CREDIT_NOTE, SERVICES_INVOICE, example_files

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def _invoice(body: str) -> etree._Element:
    return parse(
        f'<Invoice xmlns="{INVOICE_NS}" xmlns:cbc="{CBC}" xmlns:cac="{CAC}">{body}</Invoice>'.encode()
    )


def test_every_fact_of_the_services_invoice() -> None:
    facts = read_facts(parse(SERVICES_INVOICE.read_bytes()))
    assert facts.document_type == "Invoice"
    assert facts.invoice_number == "GM-2026-117"
    assert facts.issue_date == dt.date(2026, 3, 31)
    assert facts.type_code == "380"
    assert facts.currency == "EUR"
    assert facts.buyer_reference == "DEV-PARKS-2026"
    assert facts.seller_name == "Fonteinbeheer Oost B.V."
    # The SEPA creditor identifier (BT-90) shares the element but is not a seller identifier.
    assert facts.seller_identifiers == (Identifier("8712345000004", "0088"),)
    assert facts.seller_legal_id == Identifier("30123456", "0106")
    assert facts.seller_vat_id == "NL812345678B01"
    assert facts.seller_electronic_address == Identifier("30123456", "0106")
    assert facts.buyer_name == "Gemeente Deventer"
    assert facts.buyer_legal_id == Identifier("00000001001234567000", "0190")
    assert facts.buyer_vat_id == "NL001122334B01"
    assert facts.buyer_electronic_address == Identifier("00000001001234567000", "0190")
    assert facts.total_without_vat == Decimal("960.00")
    assert facts.total_with_vat == Decimal("1161.60")
    assert facts.amount_due == Decimal("1161.60")
    assert facts.line_count == 2
    # The invoiced object reference (type code 130, BT-18) is not an attachment.
    assert facts.attachments == (
        Attachment("TS-03", "Timesheet", None, "text/csv", "timesheet.csv", 40, True),
        Attachment("PHOTOS", None, "https://fountains.example/reports/2026-q1", None, None, None, False),
    )
    assert not facts.signed


def test_credit_note_uses_its_own_type_code_and_lines() -> None:
    facts = read_facts(parse(MUNICIPAL_CREDIT_NOTE.read_bytes()))
    assert facts.document_type == "CreditNote"
    assert facts.type_code == "381"
    assert facts.line_count >= 1


def test_missing_parts_are_none_not_errors() -> None:
    facts = read_facts(_invoice("<cbc:ID> A-1 </cbc:ID>"))
    assert facts.invoice_number == "A-1"
    assert facts.issue_date is None and facts.currency is None and facts.seller_vat_id is None
    assert facts.seller_identifiers == () and facts.attachments == ()
    assert facts.total_without_vat is None and facts.line_count == 0


def test_malformed_values_are_none() -> None:
    facts = read_facts(
        _invoice(
            "<cbc:IssueDate>31-03-2026</cbc:IssueDate>"
            "<cac:AdditionalDocumentReference><cbc:ID>X</cbc:ID><cac:Attachment>"
            '<cbc:EmbeddedDocumentBinaryObject mimeCode=" " filename="a.pdf">***not base64***'
            "</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>"
            "<cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount>ten</cbc:TaxExclusiveAmount>"
            "<cbc:TaxInclusiveAmount>NaN</cbc:TaxInclusiveAmount>"
            "<cbc:PayableAmount>Infinity</cbc:PayableAmount></cac:LegalMonetaryTotal>"
        )
    )
    assert facts.issue_date is None
    assert (facts.total_without_vat, facts.total_with_vat, facts.amount_due) == (None, None, None)
    (attachment,) = facts.attachments
    assert attachment.embedded and attachment.size is None
    assert attachment.mime_code is None and attachment.filename == "a.pdf"


def test_vat_identifier_is_read_from_the_vat_scheme_only() -> None:
    facts = read_facts(
        _invoice(
            "<cac:AccountingSupplierParty><cac:Party>"
            "<cac:PartyTaxScheme><cbc:CompanyID>TAXREG-1</cbc:CompanyID>"
            "<cac:TaxScheme><cbc:ID>FC</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
            "<cac:PartyTaxScheme><cbc:CompanyID>BE0123456789</cbc:CompanyID>"
            "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
            "</cac:Party></cac:AccountingSupplierParty>"
        )
    )
    assert facts.seller_vat_id == "BE0123456789"


def test_signature_anywhere_marks_the_document_signed() -> None:
    facts = read_facts(
        _invoice(
            '<cbc:ID>A</cbc:ID><cbc:Note><x:Signature xmlns:x="http://www.w3.org/2000/09/xmldsig#"/></cbc:Note>'
        )
    )
    assert facts.signed


def test_wrong_document_type_is_refused() -> None:
    with pytest.raises(WrongDocumentType):
        read_facts(parse(b"<Order xmlns='urn:example'/>"))


def test_the_official_examples_all_give_their_number_date_and_totals() -> None:
    for path in example_files():
        facts = read_facts(parse(path.read_bytes()))
        assert facts.invoice_number, path.name
        assert facts.issue_date is not None, path.name
        assert facts.amount_due is not None, path.name
        assert facts.line_count >= 1, path.name
        for attachment in facts.attachments:
            if attachment.embedded:
                assert attachment.size is not None and attachment.size > 0, path.name


def test_a_comment_inside_a_value_does_not_cut_it_short() -> None:
    facts = read_facts(
        _invoice(
            "<cbc:ID>A<!-- x -->-7</cbc:ID><cac:LegalMonetaryTotal>"
            "<cbc:PayableAmount>1<!---->161.60</cbc:PayableAmount></cac:LegalMonetaryTotal>"
        )
    )
    assert facts.invoice_number == "A-7"
    assert facts.amount_due == Decimal("1161.60")
