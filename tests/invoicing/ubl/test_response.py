from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from services.invoicing.ubl import response
from services.invoicing.ubl.facts import read_facts
from services.invoicing.ubl.lifecycle import InvoiceStatus, StatusAction, StatusReason
from services.invoicing.ubl.ns import NS
from services.invoicing.ubl.response import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    InvoiceReference,
    ResponseError,
    ResponseParty,
    build_invoice_response,
    invoice_reference,
    supplier_party,
)
from services.invoicing.validation import xsd
from services.invoicing.validation.parser import parse
from tests.invoicing.ubl.support import FIXTURES, MUNICIPAL_INVOICE, SERVICES_INVOICE, require_schemas

MUNICIPALITY = ResponseParty(
    "00000001001234567000", "0190", "Gemeente Deventer", "00000001001234567000", "0190"
)
SUPPLIER = ResponseParty("30123456", "0106", "Fonteinbeheer Oost B.V.")
INVOICE = InvoiceReference("GM-2026-117", "380", dt.date(2026, 3, 31))


def _build(status: InvoiceStatus | str, **extra: object) -> bytes:
    arguments: dict[str, object] = {
        "response_id": "IR-0001",
        "issue_date": dt.date(2026, 4, 2),
        "sender": MUNICIPALITY,
        "receiver": SUPPLIER,
        "invoice": INVOICE,
        "status": status,
    }
    arguments.update(extra)
    return build_invoice_response(**arguments)  # type: ignore[arg-type]


def _xsd_errors(data: bytes) -> list[str]:
    require_schemas()
    return [violation.message for violation in xsd.validate(etree.fromstring(data), "ApplicationResponse")]


@pytest.mark.parametrize("status", list(InvoiceStatus))
def test_every_status_gives_a_valid_invoice_response(status: InvoiceStatus) -> None:
    reasons = [StatusReason.REFERENCES_INCORRECT] if status in {"UQ", "CA", "RE"} else []
    data = _build(status, reasons=reasons, note="Order number unknown" if reasons else None)
    assert _xsd_errors(data) == []
    root = etree.fromstring(data)
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == CUSTOMIZATION_ID
    assert root.findtext("cbc:ProfileID", namespaces=NS) == PROFILE_ID
    code = root.find("cac:DocumentResponse/cac:Response/cbc:ResponseCode", NS)
    assert code is not None and code.text == status.value and code.get("listID") == "UNCL4343OpSubset"


def test_parties_reference_reasons_actions_and_note() -> None:
    data = _build(
        InvoiceStatus.REJECTED,
        reasons=[StatusReason.REFERENCES_INCORRECT, StatusReason.PRICES_INCORRECT],
        actions=[StatusAction.ISSUE_NEW_INVOICE],
        note="PO-5521 is closed; unit price differs from the framework agreement.",
        effective_date=dt.date(2026, 4, 2),
    )
    assert _xsd_errors(data) == []
    root = etree.fromstring(data)
    sender = root.find("cac:SenderParty", NS)
    receiver = root.find("cac:ReceiverParty", NS)
    assert sender is not None and receiver is not None
    endpoint = sender.find("cbc:EndpointID", NS)
    assert endpoint is not None and endpoint.get("schemeID") == "0190"
    assert sender.findtext("cac:PartyIdentification/cbc:ID", namespaces=NS) == "00000001001234567000"
    assert (
        receiver.findtext("cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS)
        == "Fonteinbeheer Oost B.V."
    )
    assert receiver.find("cac:PartyIdentification", NS) is None
    statuses = root.findall("cac:DocumentResponse/cac:Response/cac:Status", NS)
    codes = [status.find("cbc:StatusReasonCode", NS) for status in statuses]
    assert [(code.text, code.get("listID")) for code in codes if code is not None] == [
        ("REF", "OPStatusReason"),
        ("PRI", "OPStatusReason"),
        ("NIN", "OPStatusAction"),
    ]
    assert statuses[0].findtext("cbc:StatusReason", namespaces=NS) == (
        "PO-5521 is closed; unit price differs from the framework agreement."
    )
    assert statuses[1].find("cbc:StatusReason", NS) is None
    assert root.findtext("cac:DocumentResponse/cac:Response/cbc:EffectiveDate", namespaces=NS) == "2026-04-02"
    reference = root.find("cac:DocumentResponse/cac:DocumentReference", NS)
    assert reference is not None
    assert reference.findtext("cbc:ID", namespaces=NS) == "GM-2026-117"
    assert reference.findtext("cbc:IssueDate", namespaces=NS) == "2026-03-31"
    type_code = reference.find("cbc:DocumentTypeCode", NS)
    assert type_code is not None and type_code.text == "380" and type_code.get("listID") == "UNCL1001"


def test_a_note_without_codes_gets_a_status_of_its_own() -> None:
    data = _build(InvoiceStatus.ACCEPTED, note="Approved by the parks department.")
    assert _xsd_errors(data) == []
    statuses = etree.fromstring(data).findall("cac:DocumentResponse/cac:Response/cac:Status", NS)
    assert len(statuses) == 1
    assert statuses[0].find("cbc:StatusReasonCode", NS) is None
    assert statuses[0].findtext("cbc:StatusReason", namespaces=NS) == "Approved by the parks department."


def test_hostile_text_is_escaped_and_still_valid() -> None:
    data = _build(
        InvoiceStatus.UNDER_QUERY, actions=[StatusAction.PROVIDE_INFORMATION], note="<script>x</script> & ]]>"
    )
    assert _xsd_errors(data) == []
    assert b"<script>" not in data
    root = etree.fromstring(data)
    assert root.findtext(".//cbc:StatusReason", namespaces=NS) == "<script>x</script> & ]]>"


@pytest.mark.parametrize(
    "status", [InvoiceStatus.UNDER_QUERY, InvoiceStatus.CONDITIONALLY_ACCEPTED, InvoiceStatus.REJECTED]
)
def test_query_conditional_and_rejection_need_a_code(status: InvoiceStatus) -> None:
    with pytest.raises(ResponseError, match="at least one reason"):
        _build(status, note="no code given")


def test_unknown_status_is_a_clear_error() -> None:
    with pytest.raises(ResponseError, match="unknown code"):
        _build("ZZ")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"response_id": "  "}, "response identifier"),
        ({"invoice": InvoiceReference("", "380")}, "BT-1"),
        ({"invoice": InvoiceReference("A", " ")}, "BT-3"),
        ({"receiver": ResponseParty("1", "", "X")}, "receiver's electronic address scheme"),
        ({"sender": ResponseParty("1", "0190", "X", identifier="7")}, "sender's identifier scheme"),
        ({"reasons": ["NOPE"]}, "unknown code"),
        ({"note": "bell \x07"}, "characters XML cannot carry"),
        ({"receiver": ResponseParty("1", "XX", "X")}, "not a code of the EAS list"),
        ({"sender": ResponseParty("1", "0190", "X", "7", "VAT")}, "ISO 6523 ICD"),
        ({"invoice": InvoiceReference("A", "999")}, "UNCL 1001"),
        ({"reasons": [StatusReason.PARTIALLY_PAID]}, "goes with status PD"),
        ({"actions": [StatusAction.OTHER]}, "OTH needs a note"),
    ],
)
def test_bad_input_is_a_clear_error(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        _build(InvoiceStatus.ACCEPTED, **extra)


def test_receiver_and_reference_come_from_the_invoice_facts() -> None:
    facts = read_facts(parse(SERVICES_INVOICE.read_bytes()))
    assert supplier_party(facts) == ResponseParty(
        "30123456", "0106", "Fonteinbeheer Oost B.V.", "8712345000004", "0088"
    )
    assert invoice_reference(facts) == INVOICE
    data = _build(InvoiceStatus.RECEIVED, receiver=supplier_party(facts), invoice=invoice_reference(facts))
    assert _xsd_errors(data) == []


def test_an_invoice_without_seller_address_cannot_be_answered() -> None:
    facts = read_facts(parse(MUNICIPAL_INVOICE.read_bytes()))
    with pytest.raises(ResponseError, match="BT-34"):
        supplier_party(facts)
    assert invoice_reference(facts).number == "TS-2026-0042"


def test_partially_paid_and_other_codes() -> None:
    data = _build(
        InvoiceStatus.PAID,
        reasons=[StatusReason.PARTIALLY_PAID, StatusReason.OTHER],
        note="Paid 900.00 of 1161.60; the rest after the repair is checked.",
    )
    assert _xsd_errors(data) == []
    statuses = etree.fromstring(data).findall("cac:DocumentResponse/cac:Response/cac:Status", NS)
    # The note explains the OTH code too (PEPPOL-T111-R002).
    assert [s.findtext("cbc:StatusReason", namespaces=NS) for s in statuses] == [
        "Paid 900.00 of 1161.60; the rest after the repair is checked.",
        "Paid 900.00 of 1161.60; the rest after the repair is checked.",
    ]


def test_responses_keep_the_bytes_of_the_golden_files() -> None:
    """Made before the parties were built once per pair (invoice-response-*.xml), byte for byte."""
    assert _build(InvoiceStatus.RECEIVED) == (FIXTURES / "invoice-response-acknowledgement.xml").read_bytes()
    paid = build_invoice_response(
        response_id="IR-0002",
        issue_date=dt.date(2026, 4, 9),
        sender=MUNICIPALITY,
        receiver=ResponseParty(
            "30123456", "0106", 'Fontein & Zonen <Oost> "B.V."', "NL-KVK-30123456", "0106"
        ),
        invoice=InvoiceReference("CN-7", "381"),
        status=InvoiceStatus.PAID,
        reasons=[StatusReason.PARTIALLY_PAID, StatusReason.OTHER],
        actions=[StatusAction.OTHER],
        note="Paid 50% & the rest <later>",
        effective_date=dt.date(2026, 4, 9),
    )
    assert paid == (FIXTURES / "invoice-response-partially-paid.xml").read_bytes()


def test_the_parties_are_built_once_per_pair_and_each_response_is_its_own() -> None:
    response._parties.cache_clear()
    first = _build(InvoiceStatus.RECEIVED, response_id="IR-1")
    second = _build(InvoiceStatus.ACCEPTED, response_id="IR-2", note="Approved")
    assert response._parties.cache_info().misses == 1 and response._parties.cache_info().hits == 1
    assert _build(InvoiceStatus.RECEIVED, response_id="IR-1") == first  # the shared start stayed as built
    assert b"<cbc:ID>IR-2</cbc:ID>" in second and b"Approved" not in first
    other = ResponseParty("30123457", "0106", "Another supplier")
    assert b"Another supplier" in _build(InvoiceStatus.RECEIVED, receiver=other)
    assert response._parties.cache_info().misses == 2


def test_a_bad_response_identifier_is_reported_before_the_parties() -> None:
    with pytest.raises(ResponseError, match="cbc:ID contains characters"):
        _build(InvoiceStatus.RECEIVED, response_id="IR\x00", receiver=ResponseParty("x", "XXXX", "n"))
    with pytest.raises(ResponseError, match="scheme 'XXXX' is not a code of the EAS list"):
        _build(InvoiceStatus.RECEIVED, receiver=ResponseParty("x", "XXXX", "n"))
