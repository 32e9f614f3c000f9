"""The facts the public buyer's checks read from an invoice or credit note, as EN 16931 terms.

:func:`read_facts` takes the root of a document parsed with the validator's hardened parser
(``services.invoicing.validation.parser.parse``) and never raises on missing parts: an absent
or blank term is None (or an empty tuple), an amount that is not a number is None. Checks that
need a term must treat None as "not given" and fail closed.

Each element's children are read from lxml once, grouped by tag (the validator's
:class:`~services.invoicing.validation.rules._amounts.Tree`): an ElementPath search per term
would scan the same children again for each of the twenty-odd terms.

Paths follow the EN 16931-3-2 UBL syntax binding; each field names its business term.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from services.invoicing.ubl.ns import Element, qname
from services.invoicing.validation.parser import document_type
from services.invoicing.validation.rules._amounts import Tree, string_value

_SUPPLIER = "cac:AccountingSupplierParty/cac:Party"
_CUSTOMER = "cac:AccountingCustomerParty/cac:Party"
_TOTALS = "cac:LegalMonetaryTotal"
# AdditionalDocumentReference also carries BT-18 (invoiced object, type code 130) and, in a
# credit note, BT-17 (tender or lot, type code 50); neither is an attachment (BG-24).
_NOT_ATTACHMENT_TYPE_CODES = frozenset({"130", "50"})
# PartyIdentification with scheme SEPA is the bank assigned creditor identifier (BT-90), not BT-29.
_CREDITOR_SCHEME = "SEPA"
_WHITESPACE = re.compile(rb"\s+")
_SIGNATURE = qname("ds:Signature")


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier and its scheme identifier (e.g. an ISO 6523 ICD or an EAS code)."""

    value: str
    scheme: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """One additional supporting document (BG-24)."""

    reference: str | None
    """BT-122 Supporting document reference."""
    description: str | None
    """BT-123 Supporting document description."""
    external_uri: str | None
    """BT-124 External document location."""
    mime_code: str | None
    """BT-125-1 Attached document Mime code."""
    filename: str | None
    """BT-125-2 Attached document Filename."""
    size: int | None
    """Bytes of the embedded document (BT-125) once decoded; None when none is embedded or
    its content is not valid base64."""
    embedded: bool
    """Whether an embedded binary object (BT-125) is present at all."""


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """What the buyer's checks need to know about one invoice or credit note."""

    document_type: str
    """``Invoice`` or ``CreditNote`` (the UBL root element)."""
    invoice_number: str | None
    """BT-1 Invoice number."""
    issue_date: dt.date | None
    """BT-2 Invoice issue date (None when absent or not an ISO date)."""
    type_code: str | None
    """BT-3 Invoice type code."""
    currency: str | None
    """BT-5 Invoice currency code."""
    buyer_reference: str | None
    """BT-10 Buyer reference."""
    seller_name: str | None
    """BT-27 Seller name."""
    seller_identifiers: tuple[Identifier, ...]
    """BT-29 Seller identifier (with BT-29-1 scheme), every one given."""
    seller_legal_id: Identifier | None
    """BT-30 Seller legal registration identifier (with BT-30-1 scheme)."""
    seller_vat_id: str | None
    """BT-31 Seller VAT identifier."""
    seller_electronic_address: Identifier | None
    """BT-34 Seller electronic address (with BT-34-1 scheme)."""
    buyer_name: str | None
    """BT-44 Buyer name."""
    buyer_legal_id: Identifier | None
    """BT-47 Buyer legal registration identifier (with BT-47-1 scheme)."""
    buyer_vat_id: str | None
    """BT-48 Buyer VAT identifier."""
    buyer_electronic_address: Identifier | None
    """BT-49 Buyer electronic address (with BT-49-1 scheme)."""
    total_without_vat: Decimal | None
    """BT-109 Invoice total amount without VAT."""
    total_with_vat: Decimal | None
    """BT-112 Invoice total amount with VAT."""
    amount_due: Decimal | None
    """BT-115 Amount due for payment."""
    line_count: int
    """Number of invoice lines (BG-25)."""
    attachments: tuple[Attachment, ...]
    """BG-24 Additional supporting documents."""
    signed: bool
    """Whether the document carries an XML signature (``ds:Signature``) anywhere."""


def _date(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _text(tree: Tree, el: Element | None, path: str) -> str | None:
    """The stripped string value of the first ``path`` element under ``el``; None when absent or
    blank. The string value, as XPath reads it: a comment cannot cut "1<!---->161.60" short."""
    if el is None:
        return None
    found = tree.first(el, path)
    if found is None:
        return None
    return string_value(found).strip() or None


def _identifier(tree: Tree, el: Element | None, path: str) -> Identifier | None:
    found = tree.first(el, path) if el is not None else None
    if found is None:
        return None
    value = string_value(found).strip()
    if not value:
        return None
    return Identifier(value, _stripped(found.get("schemeID")))


def _vat_id(tree: Tree, party: Element | None) -> str | None:
    if party is None:
        return None
    for scheme in tree.all(party, "cac:PartyTaxScheme"):
        if _text(tree, scheme, "cac:TaxScheme/cbc:ID") == "VAT":
            return _text(tree, scheme, "cbc:CompanyID")
    return None


def _seller_identifiers(tree: Tree, party: Element | None) -> tuple[Identifier, ...]:
    if party is None:
        return ()
    found: list[Identifier] = []
    for identification in tree.all(party, "cac:PartyIdentification"):
        identifier = _identifier(tree, identification, "cbc:ID")
        if identifier is not None and identifier.scheme != _CREDITOR_SCHEME:
            found.append(identifier)
    return tuple(found)


def _party_name(tree: Tree, party: Element | None) -> str | None:
    # BT-27/BT-44 live in PartyLegalEntity/RegistrationName; PartyName/Name is the trading name.
    return _text(tree, party, "cac:PartyLegalEntity/cbc:RegistrationName")


def _decoded_size(content: str | None) -> int | None:
    if content is None:
        return None
    compact = _WHITESPACE.sub(b"", content.encode("ascii", errors="replace"))
    try:
        return len(binascii.a2b_base64(compact, strict_mode=True))
    except (binascii.Error, ValueError):
        return None


def _stripped(value: str | None) -> str | None:
    value = value.strip() if value is not None else None
    return value or None


def _attachment(tree: Tree, reference: Element) -> Attachment:
    embedded = tree.first(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
    common = {
        "reference": _text(tree, reference, "cbc:ID"),
        "description": _text(tree, reference, "cbc:DocumentDescription"),
        "external_uri": _text(tree, reference, "cac:Attachment/cac:ExternalReference/cbc:URI"),
    }
    if embedded is None:
        return Attachment(**common, mime_code=None, filename=None, size=None, embedded=False)
    return Attachment(
        **common,
        mime_code=_stripped(embedded.get("mimeCode")),
        filename=_stripped(embedded.get("filename")),
        size=_decoded_size(embedded.text or ""),
        embedded=True,
    )


def _attachments(tree: Tree, root: Element) -> tuple[Attachment, ...]:
    return tuple(
        _attachment(tree, reference)
        for reference in tree.all(root, "cac:AdditionalDocumentReference")
        if _text(tree, reference, "cbc:DocumentTypeCode") not in _NOT_ATTACHMENT_TYPE_CODES
    )


def read_facts(root: Element) -> InvoiceFacts:
    """The facts of the Invoice or CreditNote ``root``.

    Raises :class:`~services.invoicing.validation.parser.WrongDocumentType` for any other root.
    """
    kind = document_type(root)
    credit_note = kind == "CreditNote"
    tree = Tree()
    supplier = tree.first(root, _SUPPLIER)
    customer = tree.first(root, _CUSTOMER)
    return InvoiceFacts(
        document_type=kind,
        invoice_number=_text(tree, root, "cbc:ID"),
        issue_date=_date(_text(tree, root, "cbc:IssueDate")),
        type_code=_text(tree, root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode"),
        currency=_text(tree, root, "cbc:DocumentCurrencyCode"),
        buyer_reference=_text(tree, root, "cbc:BuyerReference"),
        seller_name=_party_name(tree, supplier),
        seller_identifiers=_seller_identifiers(tree, supplier),
        seller_legal_id=_identifier(tree, supplier, "cac:PartyLegalEntity/cbc:CompanyID"),
        seller_vat_id=_vat_id(tree, supplier),
        seller_electronic_address=_identifier(tree, supplier, "cbc:EndpointID"),
        buyer_name=_party_name(tree, customer),
        buyer_legal_id=_identifier(tree, customer, "cac:PartyLegalEntity/cbc:CompanyID"),
        buyer_vat_id=_vat_id(tree, customer),
        buyer_electronic_address=_identifier(tree, customer, "cbc:EndpointID"),
        total_without_vat=_amount(_text(tree, root, f"{_TOTALS}/cbc:TaxExclusiveAmount")),
        total_with_vat=_amount(_text(tree, root, f"{_TOTALS}/cbc:TaxInclusiveAmount")),
        amount_due=_amount(_text(tree, root, f"{_TOTALS}/cbc:PayableAmount")),
        line_count=len(tree.all(root, "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine")),
        attachments=_attachments(tree, root),
        signed=next(root.iter(_SIGNATURE), None) is not None,
    )
