"""Recognition of the UBL document type, on top of the hardened parser every Tessera service
uses for untrusted XML (:mod:`services.common.xmlsafe`, re-exported here for the validator).

- UBL 2.1 document types: https://docs.oasis-open.org/ubl/os-UBL-2.1/UBL-2.1.html#S-INVOICE-SCHEMA
"""

from __future__ import annotations

from lxml import etree

from services.common.xmlsafe import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    LIBXML2_MAX_DEPTH,
    Element,
    Limits,
    XmlRejected,
    line_of,
    parse,
    refuse_doctype,
    size_message,
)
from services.invoicing.validation.rules.base import CREDIT_NOTE_NS, INVOICE_NS, NS

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DOCUMENT_TYPES",
    "LIBXML2_MAX_DEPTH",
    "Element",
    "Limits",
    "WrongDocumentType",
    "XmlRejected",
    "customization_id",
    "document_type",
    "line_of",
    "parse",
    "refuse_doctype",
    "size_message",
]

_CUSTOMIZATION_ID = f"{{{NS['cbc']}}}CustomizationID"

DOCUMENT_TYPES: dict[str, str] = {
    f"{{{INVOICE_NS}}}Invoice": "Invoice",
    f"{{{CREDIT_NOTE_NS}}}CreditNote": "CreditNote",
}


class WrongDocumentType(Exception):
    """Well-formed XML, but not a UBL 2.1 Invoice or CreditNote."""

    def __init__(self, found: str, line: int | None = None) -> None:
        super().__init__(
            f"the root element is {found}; Tessera accepts only a UBL 2.1 Invoice "
            f"({{{INVOICE_NS}}}Invoice) or CreditNote ({{{CREDIT_NOTE_NS}}}CreditNote)"
        )
        self.message = str(self)
        self.line = line


def document_type(root: Element) -> str:
    """``"Invoice"`` or ``"CreditNote"``; :class:`WrongDocumentType` for any other root element."""
    kind = DOCUMENT_TYPES.get(root.tag) if isinstance(root.tag, str) else None
    if kind is not None:
        return kind
    qname = etree.QName(root)
    if qname.namespace is None:
        found = f"{qname.localname} in no namespace"
    else:
        found = f"{qname.localname} in the namespace {qname.namespace}"
    raise WrongDocumentType(found, line_of(root))


def customization_id(root: Element) -> str | None:
    """The Specification identifier (BT-24, ``cbc:CustomizationID``), stripped; None when absent."""
    value = root.findtext(_CUSTOMIZATION_ID)
    return value.strip() if value is not None else None
