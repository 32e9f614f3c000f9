"""One shared walk of the document: every element grouped by its qualified tag, the children of every
element grouped by tag, and the rare attributes.

Table-driven families (code lists, UBL-CR unused elements, UBL-SR cardinalities, UBL-DT data types) look
elements up here instead of each scanning the tree, and the rules that follow paths
(:class:`._amounts.Tree`) read the children from here: the walk is done once per validation
(``Doc.walk``, made with the Doc), reads each element's tag once (lxml builds a new string on every read), and every
later lookup is a dictionary access.
"""

from __future__ import annotations

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


NO_CHILDREN: dict[str, list[Element]] = {}  # shared: never modified


class Children(dict[Element, dict[str, list[Element]]]):
    """Element -> its element children by tag, in document order; an element without element
    children maps to an empty dict (shared: do not modify what this mapping returns)."""

    def __missing__(self, el: Element) -> dict[str, list[Element]]:
        return NO_CHILDREN


class Walk:
    """``elements``: tag -> elements in document order (the root included); ``children``: element ->
    its element children by tag, in document order; ``attributes``: watched attribute name -> the
    elements that carry it; :meth:`under` groups the elements of a tag by the tag of their parent.

    The walk reads every element's tag; lxml keeps it on the element's proxy from then on, and the
    walk keeps every proxy alive, so later ``el.tag`` reads within the validation are cheap."""

    __slots__ = ("elements", "children", "attributes", "_under")

    def __init__(
        self, elements: dict[str, list[Element]], children: Children, attributes: dict[str, list[Element]]
    ) -> None:
        self.elements = elements
        self.children = children
        self.attributes = attributes
        self._under: dict[str, dict[str, list[Element]]] = {}

    def under(self, tag: str) -> dict[str, list[Element]]:
        """The elements named ``tag``, grouped by the tag of their parent (computed once per tag)."""
        grouped = self._under.get(tag)
        if grouped is None:
            grouped = self._under[tag] = {}
            for el in self.elements.get(tag, ()):
                parent = el.getparent()
                if parent is not None:
                    parent_tag = parent.tag
                    group = grouped.get(parent_tag)
                    if group is None:
                        grouped[parent_tag] = [el]
                    else:
                        group.append(el)
        return grouped


def walk(root: Element) -> Walk:
    """Every element below ``root`` filed once (a document's walk is ``Doc.walk``)."""
    elements: dict[str, list[Element]] = {}
    children = Children()
    attributes: dict[str, list[Element]] = {}
    watched = WATCHED_ATTRIBUTES
    # Siblings come one after another: the last parent's children are at hand without a lookup.
    # (The root has no parent: it lands in the first, scratch, dict, which is then dropped.)
    last_parent: Element | None = None
    last_kids: dict[str, list[Element]] = {}
    for el in root.iter(etree.Element):
        tag = el.tag
        bucket = elements.get(tag)
        if bucket is None:
            elements[tag] = [el]
        else:
            bucket.append(el)
        parent = el.getparent()
        if parent is last_parent:
            bucket = last_kids.get(tag)
            if bucket is None:
                last_kids[tag] = [el]
            else:
                bucket.append(el)
        elif parent is not None:
            kids = children.get(parent)
            if kids is None:
                kids = children[parent] = {tag: [el]}
            else:
                bucket = kids.get(tag)
                if bucket is None:
                    kids[tag] = [el]
                else:
                    bucket.append(el)
            last_parent, last_kids = parent, kids
        names = el.keys()
        if names and not watched.isdisjoint(names):
            for name in watched.intersection(names):
                attributes.setdefault(name, []).append(el)
    return Walk(elements, children, attributes)


def tree(doc: Doc) -> Walk:
    """The document's shared walk (``doc.walk``)."""
    return doc.walk


def by_tag(doc: Doc) -> dict[str, list[Element]]:
    """Every element of the document (the root included), grouped by ``{namespace}local`` tag."""
    return tree(doc).elements


def attributes(doc: Doc) -> dict[str, list[Element]]:
    """The elements carrying each watched attribute (:data:`WATCHED_ATTRIBUTES`, without namespace)."""
    return tree(doc).attributes


def under(doc: Doc, tag: str) -> dict[str, list[Element]]:
    """The elements named ``tag``, grouped by the tag of their parent (computed once per tag)."""
    return tree(doc).under(tag)
