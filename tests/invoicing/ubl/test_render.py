from __future__ import annotations

import lxml.html
import pytest

from services.invoicing.ubl.facts import read_facts
from services.invoicing.ubl.render import NotRenderable, render_invoice_html
from services.invoicing.validation.parser import parse
from tests.invoicing.ubl.support import MUNICIPAL_CREDIT_NOTE, SERVICES_INVOICE, example_files

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


def _invoice(body: str) -> bytes:
    return f'<Invoice xmlns="{INVOICE_NS}" xmlns:cbc="{CBC}" xmlns:cac="{CAC}">{body}</Invoice>'.encode()


def _page_text(html: str) -> str:
    body = lxml.html.document_fromstring(html).xpath("string(//body)")
    assert isinstance(body, str)
    return " ".join(body.split())


def _assert_inert(html: str) -> None:
    page = lxml.html.document_fromstring(html)
    assert not page.xpath("//script | //iframe | //object | //embed | //img | //link | //form | //base")
    assert not page.xpath("//@href | //@src | //@action | //@*[starts-with(name(), 'on')]")
    policy = page.xpath("string(//meta[@http-equiv='Content-Security-Policy']/@content)")
    assert isinstance(policy, str) and "default-src 'none'" in policy


def test_services_invoice_shows_parties_lines_vat_totals_payment_notes_attachments() -> None:
    html = render_invoice_html(SERVICES_INVOICE.read_bytes())
    _assert_inert(html)
    text = _page_text(html)
    for expected in (
        "Invoice GM-2026-117",
        "380 Commercial invoice",
        "Fonteinbeheer Oost B.V.",
        "NL812345678B01",
        "Gemeente Deventer",
        "DEV-PARKS-2026",
        "PO-5521",
        "Fountain maintenance, technician hours",
        "12 HUR",
        "720.00 EUR",
        "201.60 EUR",
        "1161.60 EUR",
        "NL91ABNA0417164300",
        "SEPA credit transfer",
        "30 days net",
        "Quarterly maintenance of the park fountains.",
        "timesheet.csv, text/csv",
        "https://fountains.example/reports/2026-q1",
        "PARK-NORTH",
    ):
        assert expected in text, expected
    # The SEPA creditor identifier is not shown as a seller identifier.
    assert "NL98ZZZ301234560000" not in text


def test_credit_note_is_titled_and_shows_credited_quantities() -> None:
    root = parse(MUNICIPAL_CREDIT_NOTE.read_bytes())
    facts = read_facts(root)
    html = render_invoice_html(MUNICIPAL_CREDIT_NOTE.read_bytes())
    text = _page_text(html)
    assert f"Credit note {facts.invoice_number}" in text
    assert "381 Credit note" in text
    assert "No lines" not in text


def test_hostile_content_is_escaped_everywhere() -> None:
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    attribute_payload = '"><script>alert(2)</script>'
    data = _invoice(
        "<cbc:ID>&lt;b&gt;1&lt;/b&gt;</cbc:ID>"
        f"<cbc:Note>{payload.replace('<', '&lt;')}</cbc:Note>"
        "<cac:AdditionalDocumentReference><cbc:ID>A</cbc:ID><cac:Attachment>"
        f"<cbc:EmbeddedDocumentBinaryObject mimeCode=\"text/html\" filename='{attribute_payload.replace('<', '&lt;').replace(chr(34), '&quot;')}'>"
        "QQ==</cbc:EmbeddedDocumentBinaryObject>"
        "<cac:ExternalReference><cbc:URI>javascript:alert(3)</cbc:URI></cac:ExternalReference>"
        "</cac:Attachment></cac:AdditionalDocumentReference>"
        "<cac:InvoiceLine><cbc:ID>1</cbc:ID>"
        f"<cac:Item><cbc:Name>{payload.replace('<', '&lt;')}</cbc:Name></cac:Item></cac:InvoiceLine>"
    )
    html = render_invoice_html(data)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<b>" not in html
    _assert_inert(html)
    text = _page_text(html)
    # Shown as text, exactly as written.
    assert payload in text
    assert attribute_payload in text
    assert "javascript:alert(3)" in text


def test_a_bare_invoice_renders_without_optional_parts() -> None:
    html = render_invoice_html(_invoice("<cbc:ID>ONLY-1</cbc:ID>"))
    _assert_inert(html)
    text = _page_text(html)
    assert "Invoice ONLY-1" in text
    assert "No lines" in text and "No VAT breakdown" in text and "No totals" in text


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not xml", "not a readable XML document"),
        (b'<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>', "DOCTYPE"),
        (b"<Order xmlns='urn:example'/>", "root element"),
    ],
)
def test_what_is_not_an_invoice_is_a_clear_error(data: bytes, fragment: str) -> None:
    with pytest.raises(NotRenderable, match=fragment):
        render_invoice_html(data)


def test_every_official_example_renders_with_its_number_and_amount_due() -> None:
    for path in example_files():
        data = path.read_bytes()
        facts = read_facts(parse(data))
        html = render_invoice_html(data)
        _assert_inert(html)
        text = _page_text(html)
        assert facts.invoice_number and facts.invoice_number in text, path.name
        assert facts.amount_due is not None
        assert str(facts.amount_due) in text, path.name
        assert "No lines" not in text, path.name
