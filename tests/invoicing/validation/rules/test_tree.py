"""The shared walk: elements by tag, by parent, and the watched attributes, computed once per document."""

from __future__ import annotations

from services.invoicing.validation.rules._tree import attributes, by_tag, tree, under
from services.invoicing.validation.rules.base import NS, Doc
from tests.invoicing.validation.rules.documents import invoice

CBC = "{" + NS["cbc"] + "}"
CAC = "{" + NS["cac"] + "}"


def test_elements_are_grouped_by_tag_in_document_order() -> None:
    root = invoice(
        "<cbc:ID>1</cbc:ID><cac:InvoiceLine><cbc:ID>2</cbc:ID></cac:InvoiceLine><!-- a comment -->"
    )
    index = by_tag(Doc(root))
    assert [el.text for el in index[CBC + "ID"]] == ["1", "2"]
    assert index[root.tag] == [root]
    assert all(isinstance(tag, str) for tag in index)  # the comment is not an element


def test_elements_are_grouped_by_the_tag_of_their_parent() -> None:
    root = invoice(
        "<cbc:ID>1</cbc:ID><cac:InvoiceLine><cbc:ID>2</cbc:ID><cbc:ID>3</cbc:ID></cac:InvoiceLine>"
    )
    grouped = under(Doc(root), CBC + "ID")
    assert [el.text for el in grouped[root.tag]] == ["1"]
    assert [el.text for el in grouped[CAC + "InvoiceLine"]] == ["2", "3"]
    assert under(Doc(root), CBC + "Note") == {}


def test_only_watched_attributes_without_namespace_are_collected() -> None:
    root = invoice(
        '<cbc:Note languageID="en" xmlns:x="urn:x" x:name="n">a</cbc:Note>'
        '<cbc:PayableAmount currencyID="EUR">1</cbc:PayableAmount>'
    )
    held = attributes(Doc(root))
    assert list(held) == ["languageID"]
    assert [el.text for el in held["languageID"]] == ["a"]


def test_the_walk_is_done_once_per_document() -> None:
    doc = Doc(invoice("<cbc:ID>1</cbc:ID>"))
    assert tree(doc) is tree(doc)
    assert under(doc, CBC + "ID") is under(doc, CBC + "ID")
