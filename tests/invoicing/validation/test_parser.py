"""The hardened parser: what it accepts, what it refuses, and the document types it recognises."""

from __future__ import annotations

import codecs

import pytest

from services.invoicing.validation.parser import (
    Limits,
    WrongDocumentType,
    XmlRejected,
    customization_id,
    document_type,
    parse,
    refuse_doctype,
)
from tests.invoicing.validation.support import CREDIT_NOTE, INVOICE

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def small_invoice(body: str = "") -> str:
    return f'<Invoice xmlns="{INVOICE_NS}" xmlns:cbc="{CBC}">{body}</Invoice>'


def test_the_fixture_invoice_parses() -> None:
    root = parse(INVOICE.read_bytes())
    assert document_type(root) == "Invoice"
    assert customization_id(root) == "urn:cen.eu:en16931:2017"


def test_the_fixture_credit_note_parses() -> None:
    assert document_type(parse(CREDIT_NOTE.read_bytes())) == "CreditNote"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_a_byte_order_mark_parse(codec: str) -> None:
    encoding = "UTF-16" if codec.startswith("utf-16") else "UTF-8"
    text = f'<?xml version="1.0" encoding="{encoding}"?>\n' + small_invoice("<cbc:ID>Füße €</cbc:ID>")
    data = text.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + data
    root = parse(data)
    assert root.findtext(f"{{{CBC}}}ID") == "Füße €"


def test_customization_id_is_stripped_and_may_be_absent() -> None:
    assert (
        customization_id(parse(small_invoice("<cbc:CustomizationID> urn:x </cbc:CustomizationID>").encode()))
        == "urn:x"
    )
    assert customization_id(parse(small_invoice().encode())) is None


def test_the_size_limit_is_checked_before_parsing() -> None:
    data = small_invoice("<cbc:Note>" + "x" * 2000 + "</cbc:Note>").encode()
    parse(data, Limits(max_bytes=len(data)))
    with pytest.raises(XmlRejected, match=f"{len(data):,} bytes, over the limit of {len(data) - 1:,}"):
        parse(data, Limits(max_bytes=len(data) - 1))


def test_the_depth_limit_is_configurable() -> None:
    nested = small_invoice("<a>" * 10 + "</a>" * 10).encode()  # 11 levels below the document element
    parse(nested, Limits(max_depth=11))
    with pytest.raises(XmlRejected, match="nested more than 10 levels"):
        parse(nested, Limits(max_depth=10))


@pytest.mark.parametrize(
    "prolog",
    [
        "<!DOCTYPE Invoice>",
        '<?xml version="1.0"?>\n<!-- note -->\n<?pi data?>\n<!DOCTYPE Invoice []>',
        "\n\n  <!DOCTYPE Invoice SYSTEM 'x.dtd'>",
    ],
    ids=["bare", "after-comment-and-pi", "after-blank-lines"],
)
def test_a_doctype_anywhere_in_the_prolog_is_refused_with_its_line(prolog: str) -> None:
    data = (prolog + small_invoice()).encode()
    with pytest.raises(XmlRejected, match="DOCTYPE declaration is not allowed") as caught:
        refuse_doctype(data)
    assert caught.value.line == prolog.count("\n") + 1


def test_doctype_text_inside_the_body_is_not_a_doctype() -> None:
    root = parse(small_invoice("<!-- <!DOCTYPE x> --><cbc:Note><![CDATA[<!DOCTYPE y>]]></cbc:Note>").encode())
    assert root.findtext(f"{{{CBC}}}Note") == "<!DOCTYPE y>"


def test_strings_are_refused_as_a_programming_error() -> None:
    with pytest.raises(TypeError, match="bytes"):
        parse(small_invoice())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("xml", "found"),
    [
        ('<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', "Order in the namespace"),
        ("<Invoice/>", "Invoice in no namespace"),
        (
            '<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            "CreditNote in the namespace",
        ),
        ('<Invoice xmlns="urn:cen.eu:en16931:2017"/>', "Invoice in the namespace urn:cen.eu:en16931:2017"),
    ],
)
def test_other_documents_are_named_in_the_refusal(xml: str, found: str) -> None:
    with pytest.raises(WrongDocumentType, match=found) as caught:
        document_type(parse(xml.encode()))
    assert caught.value.line == 1


def test_indentation_goes_but_leaf_text_and_lines_stay() -> None:
    root = parse(small_invoice("\n  <cbc:Note>  </cbc:Note>\n  <cbc:ID> 7 </cbc:ID>\n").encode())
    note, identifier = list(root)
    assert root.text is None and note.tail is None
    assert note.text == "  " and identifier.text == " 7 "
    assert (note.sourceline, identifier.sourceline) == (2, 3)
