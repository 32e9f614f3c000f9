"""The UBL 2.1 schema stage: compiled once, readable messages, errors located on their element."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from services.common import ubl_schemas
from services.invoicing.validation import xsd
from services.invoicing.validation.parser import parse
from tests.invoicing.validation.support import CREDIT_NOTE, INVOICE, require_schemas

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


def invoice_with(change: str) -> etree._Element:
    """The fixture invoice with one deliberate schema error, written into the text (so lines are real)."""
    text = INVOICE.read_text()
    if change == "unknown-element":
        text = text.replace(
            "town hall</cbc:Name>", "town hall</cbc:Name>\n      <cbc:Colour>white</cbc:Colour>"
        )
    elif change == "bad-amount":
        text = text.replace('"EUR">245.00<', '"EUR">12,50<')
    return parse(text.encode())


def test_the_fixtures_are_schema_valid() -> None:
    assert xsd.validate(parse(INVOICE.read_bytes()), "Invoice") == []
    assert xsd.validate(parse(CREDIT_NOTE.read_bytes()), "CreditNote") == []


def test_each_schema_is_compiled_once() -> None:
    assert xsd.load("Invoice") is xsd.load("Invoice")
    assert xsd.load("CreditNote") is not xsd.load("Invoice")
    assert isinstance(xsd.load("ApplicationResponse"), etree.XMLSchema)


def test_an_unknown_document_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Order"):
        xsd.load("Order")


def test_an_unexpected_element_is_named_with_prefixes_and_located() -> None:
    root = invoice_with("unknown-element")
    [violation] = xsd.validate(root, "Invoice")
    assert violation.message.startswith(
        "Element 'cbc:Colour': This element is not expected. Expected is one of ("
    )
    assert (
        "cbc:HazardousRiskIndicator" in violation.message
        and "cac:StandardItemIdentification" in violation.message
    )
    assert "{" not in violation.message
    assert violation.element is not None and etree.QName(violation.element).localname == "Colour"
    assert violation.line == violation.element.sourceline
    assert violation.element.getparent().getparent() is violation.element.getroottree().getroot()[-1]


def test_a_bad_value_is_located_on_its_element_and_line() -> None:
    root = invoice_with("bad-amount")
    [violation] = xsd.validate(root, "Invoice")
    assert "'12,50' is not a valid value" in violation.message
    amount = root.find(f"{{{CAC}}}InvoiceLine/{{{CBC}}}LineExtensionAmount")
    assert violation.element is amount
    assert violation.line == amount.sourceline


def test_a_credit_note_is_checked_against_its_own_schema() -> None:
    root = parse(INVOICE.read_bytes())
    violations = xsd.validate(root, "CreditNote")
    assert [v.message for v in violations] == [
        "Element 'Invoice': No matching global declaration available for the validation root."
    ]
    assert violations[0].element is root


@pytest.mark.parametrize(
    ("clark", "readable"),
    [
        (f"Element '{{{CBC}}}ID': x", "Element 'cbc:ID': x"),
        (f"Expected is one of ( {{{CAC}}}Item, {{{CBC}}}Note ).", "Expected is one of (cac:Item, cbc:Note)."),
        (
            "Element '{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice': y",
            "Element 'Invoice': y",
        ),
        ("Element '{urn:example}Foo': z", "Element '{urn:example}Foo': z"),
    ],
)
def test_messages_use_prefixes(clark: str, readable: str) -> None:
    assert xsd.readable(clark) == readable


def test_libxml2_paths_resolve_to_their_element() -> None:
    root = etree.fromstring(
        f'<Invoice xmlns="urn:x" xmlns:a="{CBC}" xmlns:b="{CBC}">'
        "<a:ID/><a:ID/><b:ID/><Plain/><Plain/><child xmlns=''><leaf/><leaf/></child></Invoice>"
    )
    children = list(root)
    assert xsd.resolve(root, "/*") is root
    assert xsd.resolve(root, "/*/a:ID[2]") is children[1]
    assert xsd.resolve(root, "/*/b:ID") is children[2]
    assert xsd.resolve(root, "/*/*[4]") is children[3]
    assert xsd.resolve(root, "/*/child/leaf[2]") is children[5][1]
    assert xsd.resolve(root, "/*/a:ID[3]") is None
    assert xsd.resolve(root, "relative") is None


def test_concurrent_validations_keep_their_own_errors() -> None:
    documents = {"valid": parse(INVOICE.read_bytes()), "bad": invoice_with("bad-amount")}
    results: dict[str, list[int]] = {"valid": [], "bad": []}
    errors: list[BaseException] = []

    def work(kind: str) -> None:
        try:
            for _ in range(50):
                results[kind].append(len(xsd.validate(documents[kind], "Invoice")))
        except BaseException as error:  # noqa: BLE001  (re-raised in the main thread)
            errors.append(error)

    threads = [threading.Thread(target=work, args=(kind,)) for kind in ("valid", "bad", "valid", "bad")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(results["valid"]) == {0} and set(results["bad"]) == {1}


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv(ubl_schemas.ENV_VAR, str(tmp_path))
    xsd.forget()
    yield tmp_path
    monkeypatch.undo()
    xsd.forget()


def test_missing_schemas_stop_validation_with_the_fix_named(elsewhere: Path) -> None:
    with pytest.raises(ubl_schemas.SchemasMissing, match="make schemas"):
        xsd.validate(parse(INVOICE.read_bytes()), "Invoice")


def test_altered_schemas_are_never_compiled(elsewhere: Path, schemas: Path) -> None:
    for name in ubl_schemas.read_manifest():
        (elsewhere / name).parent.mkdir(parents=True, exist_ok=True)
        (elsewhere / name).write_bytes((schemas / name).read_bytes())
    verified = elsewhere / "maindoc/UBL-Invoice-2.1.xsd"
    verified.write_bytes(verified.read_bytes().replace(b'minOccurs="1"', b'minOccurs="0"'))
    with pytest.raises(ubl_schemas.SchemasAltered, match="UBL-Invoice-2.1.xsd"):
        xsd.load("Invoice")


def invoice_with_attachment(
    content: str, attributes: str = 'mimeCode="application/pdf" filename="a.pdf"'
) -> bytes:
    reference = (
        "<cac:AdditionalDocumentReference><cbc:ID>att-1</cbc:ID><cac:Attachment>"
        f"<cbc:EmbeddedDocumentBinaryObject {attributes}>{content}</cbc:EmbeddedDocumentBinaryObject>"
        "</cac:Attachment></cac:AdditionalDocumentReference>\n  <cac:AccountingSupplierParty>"
    )
    return INVOICE.read_text().replace("<cac:AccountingSupplierParty>", reference, 1).encode()


LARGE = base64.b64encode(bytes(range(256)) * 64).decode()  # 21,848 characters, padded with '=='


def test_a_large_valid_attachment_is_valid_and_left_as_it_was() -> None:
    assert len(LARGE) >= xsd.SET_ASIDE_FROM and LARGE.endswith("==")
    root = parse(invoice_with_attachment(LARGE))
    assert xsd.validate(root, "Invoice") == []
    [attachment] = root.iter(xsd.ATTACHMENT)
    assert attachment.text == LARGE


@pytest.mark.parametrize(
    "content",
    [LARGE[:-1], LARGE[:-4] + "AB==", LARGE[:100] + "=" + LARGE[101:]],
    ids=["length", "padding-bits", "inner-padding"],
)
def test_a_large_attachment_that_is_not_base64_is_still_reported_by_libxml2(content: str) -> None:
    root = parse(invoice_with_attachment(content))
    [violation] = xsd.validate(root, "Invoice")
    assert "cbc:EmbeddedDocumentBinaryObject" in violation.message
    assert "is not a valid value" in violation.message
    [attachment] = root.iter(xsd.ATTACHMENT)
    assert attachment.text == content


def test_the_attributes_of_a_large_attachment_are_still_checked() -> None:
    root = parse(invoice_with_attachment(LARGE, attributes='filename="a.pdf"'))
    [violation] = xsd.validate(root, "Invoice")
    assert "mimeCode" in violation.message and "required" in violation.message


BASE64_ONLY = etree.XMLSchema(
    etree.fromstring(
        b'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        b'<xs:element name="b" type="xs:base64Binary"/></xs:schema>'
    )
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=40).map(lambda raw: base64.b64encode(raw).decode()),
        st.text(alphabet="ABCDQgwz09+/= \n*-", max_size=16),
    )
)
def test_what_is_taken_for_plain_base64_is_valid_base64_to_libxml2(text: str) -> None:
    element = etree.Element("b")
    element.text = text
    if xsd.plain_base64(text):
        assert BASE64_ONLY.validate(element), text
