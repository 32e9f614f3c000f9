"""One shared walk of the document: every element grouped by its qualified tag, and the rare attributes.

Table-driven families (code lists, UBL-CR unused elements, UBL-SR cardinalities, UBL-DT data types) look
elements up here instead of each scanning the tree: the walk is done once per validation
(:meth:`Doc.memo`) and every later lookup is a dictionary access.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from services.invoicing.validation.rules.base import Doc, Element

# Attributes that rules forbid anywhere in a document (UBL-DT-08..28, UBL-CR-663), all without namespace.
WATCHED_ATTRIBUTES = frozenset(
    {
        "schemeName",
        "schemeAgencyName",
        "schemeDataURI",
        "schemeURI",
        "format",
        "unitCodeListIdentifier",
        "unitCodeListAgencyIdentifier",
        "unitCodeListAgencyName",
        "listAgencyName",
        "listName",
        "name",
        "languageID",
        "listURI",
        "listSchemeURI",
        "languageLocaleID",
        "uri",
        "currencyCodeListVersionID",
        "characterSetCode",
        "encodingCode",
        "schemeAgencyID",
        "listAgencyID",
        "unitCodeListID",
    }
)


@dataclass(frozen=True, slots=True)
class Tree:
    """``elements``: tag -> elements in document order (the root included); ``attributes``: watched
    attribute name -> the elements that carry it."""

    elements: dict[str, list[Element]]
    attributes: dict[str, list[Element]]


def _walk(doc: Doc) -> Tree:
    elements: dict[str, list[Element]] = {}
    attributes: dict[str, list[Element]] = {}
    watched = WATCHED_ATTRIBUTES
    for el in doc.root.iter(etree.Element):
        tag = el.tag
        bucket = elements.get(tag)
        if bucket is None:
            elements[tag] = [el]
        else:
            bucket.append(el)
        names = el.keys()
        if names and not watched.isdisjoint(names):
            for name in watched.intersection(names):
                attributes.setdefault(name, []).append(el)
    return Tree(elements, attributes)


def tree(doc: Doc) -> Tree:
    return doc.memo("shared_tree_walk", _walk)


def by_tag(doc: Doc) -> dict[str, list[Element]]:
    """Every element of the document (the root included), grouped by ``{namespace}local`` tag."""
    return tree(doc).elements


def attributes(doc: Doc) -> dict[str, list[Element]]:
    """The elements carrying each watched attribute (:data:`WATCHED_ATTRIBUTES`, without namespace)."""
    return tree(doc).attributes


def _grouped_by_parent(doc: Doc, tag: str) -> dict[str, list[Element]]:
    grouped: dict[str, list[Element]] = {}
    for el in by_tag(doc).get(tag, ()):
        parent = el.getparent()
        if parent is not None:
            grouped.setdefault(parent.tag, []).append(el)
    return grouped


def under(doc: Doc, tag: str) -> dict[str, list[Element]]:
    """The elements named ``tag``, grouped by the tag of their parent (computed once per tag)."""
    return doc.memo("under " + tag, lambda d: _grouped_by_parent(d, tag))
