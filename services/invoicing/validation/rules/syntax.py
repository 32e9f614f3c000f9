"""UBL syntax rules UBL-SR-01..UBL-SR-56: what UBL may repeat but EN 16931 allows once (or not at all).

Most are cardinalities, "at most N elements at this path, counted from this context"; they are a table
(:data:`LIMITS`) checked together in :func:`syntax_breaches`. The handful with a condition of their own
(a tax scheme that must be VAT, a Payee that differs from the Seller, values that must all be equal) are
small named functions below. Contexts are those of the CEN/TC 434 artefacts (release 1.3.16): the
document root for most, and every element of a name for the others (``cac:PaymentMeans`` anywhere, each
invoice line, ...). One finding per context element that breaks the rule, located at that element.

A count is skipped when the document holds no more elements of the counted name than the limit, in all
or under a parent of the name the path asks for (the shared walk, :mod:`._tree`, answers both at no
cost), so a typical invoice costs a few dictionary lookups per rule. Otherwise the elements are followed
up the path to their context, and counted there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from lxml import etree

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules._tree import Walk, under
from services.invoicing.validation.rules.base import NS, Doc, Element, Rule, register_group


@cache
def _clark(step: str) -> str:
    prefix, _, local = step.partition(":")
    return "{" + NS[prefix] + "}" + local


INVOICE = _clark("inv:Invoice")
CREDIT_NOTE = _clark("cn:CreditNote")
ROOTS = (INVOICE, CREDIT_NOTE)
ROOT = "/"  # the context key of rules read from the document root
LINES = "line"  # the context key of rules read from each invoice line and credit note line


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``most`` elements at ``path`` (child steps) below each ``context`` element."""

    rule_id: str
    context: str
    path: tuple[str, ...]
    most: int
    terms: tuple[str, ...]
    message: str

    last: str  # the tag the path ends with
    parent: str | None  # the tag of the step before, if any: no element of it, nothing to count


def _limit(rule_id: str, context: str, path: str, most: int, terms: tuple[str, ...], message: str) -> Limit:
    steps = tuple(_clark(step) for step in path.split("/"))
    return Limit(
        rule_id, context, steps, most, terms, message, steps[-1], steps[-2] if len(steps) > 1 else None
    )


SUPPLIER = "cac:AccountingSupplierParty/cac:Party"
CUSTOMER = "cac:AccountingCustomerParty/cac:Party"

# fmt: off
LIMITS = (
    _limit("UBL-SR-01", ROOT, "cac:ContractDocumentReference/cbc:ID", 1, ("BT-12",),
           "Contract reference (BT-12) may occur at most once."),
    _limit("UBL-SR-02", ROOT, "cac:ReceiptDocumentReference/cbc:ID", 1, ("BT-15",),
           "Receiving advice reference (BT-15) may occur at most once."),
    _limit("UBL-SR-03", ROOT, "cac:DespatchDocumentReference/cbc:ID", 1, ("BT-16",),
           "Despatch advice reference (BT-16) may occur at most once."),
    _limit("UBL-SR-05", ROOT, "cac:PaymentTerms/cbc:Note", 1, ("BT-20",),
           "Payment terms (BT-20) may occur at most once."),
    _limit("UBL-SR-06", "cac:BillingReference", "cac:InvoiceDocumentReference", 1, ("BT-25",),
           "A Preceding invoice reference (BG-3) may refer to one invoice only."),
    _limit("UBL-SR-08", ROOT, "cac:InvoicePeriod", 1, ("BG-14",),
           "Invoicing period (BG-14) may occur at most once."),
    _limit("UBL-SR-09", ROOT, f"{SUPPLIER}/cac:PartyLegalEntity/cbc:RegistrationName", 1, ("BT-27",),
           "Seller name (BT-27) may occur at most once."),
    _limit("UBL-SR-10", ROOT, f"{SUPPLIER}/cac:PartyName/cbc:Name", 1, ("BT-28",),
           "Seller trading name (BT-28) may occur at most once."),
    _limit("UBL-SR-11", ROOT, f"{SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyID", 1, ("BT-30",),
           "Seller legal registration identifier (BT-30) may occur at most once."),
    _limit("UBL-SR-14", ROOT, f"{SUPPLIER}/cac:PartyLegalEntity/cbc:CompanyLegalForm", 1, ("BT-33",),
           "Seller additional legal information (BT-33) may occur at most once."),
    _limit("UBL-SR-15", ROOT, f"{CUSTOMER}/cac:PartyLegalEntity/cbc:RegistrationName", 1, ("BT-44",),
           "Buyer name (BT-44) may occur at most once."),
    _limit("UBL-SR-16", ROOT, f"{CUSTOMER}/cac:PartyIdentification/cbc:ID", 1, ("BT-46",),
           "Buyer identifier (BT-46) may occur at most once."),
    _limit("UBL-SR-17", ROOT, f"{CUSTOMER}/cac:PartyLegalEntity/cbc:CompanyID", 1, ("BT-47",),
           "Buyer legal registration identifier (BT-47) may occur at most once."),
    _limit("UBL-SR-22", "cac:TaxRepresentativeParty", "cac:PartyName/cbc:Name", 1, ("BT-62",),
           "Seller tax representative name (BT-62) may occur at most once."),
    # As in the artefacts, this path starts below a cac:Party that a tax representative does not have.
    _limit("UBL-SR-23", "cac:TaxRepresentativeParty", "cac:Party/cac:PartyTaxScheme/cbc:CompanyID", 1,
           ("BT-63",), "Seller tax representative VAT identifier (BT-63) may occur at most once."),
    _limit("UBL-SR-24", ROOT, "cac:Delivery", 1, ("BG-13",),
           "Delivery information (BG-13) may occur at most once."),
    _limit("UBL-SR-25", "cac:Delivery", "cac:DeliveryParty/cac:PartyName/cbc:Name", 1, ("BT-70",),
           "Deliver to party name (BT-70) may occur at most once."),
    _limit("UBL-SR-26", "cac:PaymentMeans", "cbc:PaymentID", 1, ("BT-83",),
           "Remittance information (BT-83) may occur at most once in a payment means."),
    _limit("UBL-SR-27", "cac:PaymentMeans", "cbc:PaymentMeansCode", 1, ("BT-81",),
           "Payment means type code (BT-81) may occur at most once in a payment means."),
    _limit("UBL-SR-28", "cac:PaymentMeans", "cac:PaymentMandate/cbc:ID", 1, ("BT-89",),
           "Mandate reference identifier (BT-89) may occur at most once."),
    _limit("UBL-SR-32", "cac:TaxSubtotal", "cac:TaxCategory/cbc:TaxExemptionReason", 1, ("BT-120",),
           "VAT exemption reason text (BT-120) may occur at most once per VAT breakdown."),
    _limit("UBL-SR-33", "cac:AdditionalDocumentReference", "cbc:DocumentDescription", 1, ("BT-123",),
           "Supporting document description (BT-123) may occur at most once."),
    _limit("UBL-SR-34", LINES, "cbc:Note", 1, ("BT-127",),
           "Invoice line note (BT-127) may occur at most once."),
    _limit("UBL-SR-35", LINES, "cac:OrderLineReference/cbc:LineID", 1, ("BT-132",),
           "Referenced purchase order line reference (BT-132) may occur at most once."),
    _limit("UBL-SR-36", LINES, "cac:InvoicePeriod", 1, ("BG-26",),
           "Invoice line period (BG-26) may occur at most once."),
    _limit("UBL-SR-37", LINES, "cac:Price/cac:AllowanceCharge/cbc:Amount", 1, ("BT-147",),
           "Item price discount (BT-147) may occur at most once."),
    _limit("UBL-SR-39", ROOT, "cac:ProjectReference/cbc:ID", 1, ("BT-11",),
           "Project reference (BT-11) may occur at most once."),
    _limit("UBL-SR-40", ROOT, f"{CUSTOMER}/cac:PartyName/cbc:Name", 1, ("BT-45",),
           "Buyer trading name (BT-45) may occur at most once."),
    _limit("UBL-SR-42", SUPPLIER, "cac:PartyTaxScheme", 2, ("BT-31", "BT-32"),
           "The Seller may have at most two tax registrations (VAT identifier BT-31 and tax registration "
           "identifier BT-32)."),
    _limit("UBL-SR-45", ROOT, "cac:PaymentMeans/cbc:PaymentDueDate", 1, ("BT-9",),
           "Payment due date (BT-9) may occur at most once."),
    _limit("UBL-SR-46", ROOT, "cac:PaymentMeans/cbc:PaymentMeansCode", 1, ("BT-82",),
           "Payment means text (BT-82) may occur at most once."),
    _limit("UBL-SR-49", ROOT, "cac:InvoicePeriod/cbc:DescriptionCode", 1, ("BT-8",),
           "Value added tax point date code (BT-8) may occur at most once."),
    _limit("UBL-SR-50", LINES, "cac:Item/cbc:Description", 1, ("BT-154",),
           "Item description (BT-154) may occur at most once."),
    _limit("UBL-SR-51", "cac:PostalAddress|cac:Address", "cac:AddressLine", 1, ("BT-162", "BT-163", "BT-164",
           "BT-165"), "An address may have at most one third address line (cac:AddressLine)."),
    _limit("UBL-SR-52", LINES, "cac:DocumentReference", 1, ("BT-128",),
           "Invoice line object identifier (BT-128) may occur at most once."),
    _limit("UBL-SR-54", ROOT, "cac:PaymentMeans/cac:CardAccount", 1, ("BG-18",),
           "Payment card information (BG-18) may occur at most once."),
    _limit("UBL-SR-55", ROOT, "cac:PaymentMeans/cac:PaymentMandate", 1, ("BG-19",),
           "Direct debit (BG-19) may occur at most once."),
    _limit("UBL-SR-56", ROOT, "cac:OriginatorDocumentReference/cbc:ID", 1, ("BT-17",),
           "Tender or lot reference (BT-17) may occur at most once."),
)
# fmt: on

CONTEXT_TAGS = {
    limit.context: frozenset(_clark(name) for name in limit.context.split("|"))
    for limit in LIMITS
    if limit.context not in (ROOT, LINES, SUPPLIER)
}

# Rules that count an attribute of the elements at their path rather than the elements:
# UBL-SR-46 counts the payment means text (BT-82), carried as the name of the payment means code.
NAME_ATTRIBUTE = {"UBL-SR-46": "name"}


# The names the conditions below read, resolved once.
_CAC_ACCOUNTING_SUPPLIER_PARTY = _clark("cac:AccountingSupplierParty")
_CAC_ADDITIONAL_DOCUMENT_REFERENCE = _clark("cac:AdditionalDocumentReference")
_CAC_ALLOWANCE_CHARGE = _clark("cac:AllowanceCharge")
_CAC_BILLING_REFERENCE = _clark("cac:BillingReference")
_CAC_CLASSIFIED_TAX_CATEGORY = _clark("cac:ClassifiedTaxCategory")
_CAC_CREDIT_NOTE_LINE = _clark("cac:CreditNoteLine")
_CAC_INVOICE_DOCUMENT_REFERENCE = _clark("cac:InvoiceDocumentReference")
_CAC_INVOICE_LINE = _clark("cac:InvoiceLine")
_CAC_ITEM = _clark("cac:Item")
_CAC_PARTY = _clark("cac:Party")
_CAC_PARTY_IDENTIFICATION = _clark("cac:PartyIdentification")
_CAC_PARTY_LEGAL_ENTITY = _clark("cac:PartyLegalEntity")
_CAC_PARTY_NAME = _clark("cac:PartyName")
_CAC_PARTY_TAX_SCHEME = _clark("cac:PartyTaxScheme")
_CAC_PAYEE_PARTY = _clark("cac:PayeeParty")
_CAC_TAX_SCHEME = _clark("cac:TaxScheme")
_CBC_ALLOWANCE_CHARGE_REASON = _clark("cbc:AllowanceChargeReason")
_CBC_CHARGE_INDICATOR = _clark("cbc:ChargeIndicator")
_CBC_COMPANY_ID = _clark("cbc:CompanyID")
_CBC_DOCUMENT_TYPE_CODE = _clark("cbc:DocumentTypeCode")
_CBC_ID = _clark("cbc:ID")
_CBC_NAME = _clark("cbc:Name")
_CBC_PAYMENT_ID = _clark("cbc:PaymentID")
_CBC_PAYMENT_MEANS_CODE = _clark("cbc:PaymentMeansCode")


def _children(nodes: Iterable[Element], tag: str) -> list[Element]:
    return [child for node in nodes for child in node.iterchildren(tag)]


def _at(el: Element, path: tuple[str, ...]) -> list[Element]:
    nodes = [el]
    for tag in path:
        nodes = _children(nodes, tag)
    return nodes


def _value(el: Element) -> str:
    """The element's string value: its text, also through child nodes when it has any."""
    if len(el):
        return "".join(part for part in el.itertext() if isinstance(part, str))
    return el.text or ""


LINE_TAGS = frozenset({_CAC_INVOICE_LINE, _CAC_CREDIT_NOTE_LINE})
PARTY = _CAC_PARTY
SUPPLIER_ROLE = _CAC_ACCOUNTING_SUPPLIER_PARTY


def _contexts(doc: Doc, index: dict[str, list[Element]], context: str) -> list[Element]:
    if context == ROOT:
        return [doc.root] if doc.root.tag in ROOTS else []
    if context == LINES:
        return [line for tag in LINE_TAGS for line in index.get(tag, ())]
    if context == SUPPLIER:
        return [party for party in index.get(PARTY, ()) if _is_context(party, context)]
    return [el for name in context.split("|") for el in index.get(_clark(name), [])]


def _is_context(node: Element, context: str) -> bool:
    """Whether ``node`` is an element the (non-root) ``context`` of a limit names."""
    if context == LINES:
        return node.tag in LINE_TAGS
    if context == SUPPLIER:
        up = node.getparent()
        return node.tag == PARTY and up is not None and up.tag == SUPPLIER_ROLE
    return node.tag in CONTEXT_TAGS[context]


def _counted(el: Element, limit: Limit) -> bool:
    attribute = NAME_ATTRIBUTE.get(limit.rule_id)
    return attribute is None or el.get(attribute) is not None


def _context_tags(limit: Limit) -> frozenset[str]:
    if limit.context == ROOT:
        return frozenset(ROOTS)
    if limit.context == LINES:
        return LINE_TAGS
    if limit.context == SUPPLIER:
        return frozenset({PARTY})
    return CONTEXT_TAGS[limit.context]


def _starts(shared: Walk, limit: Limit) -> list[Element]:
    """The elements of the path's last name whose parent has the name the path asks for."""
    grouped = shared.under(limit.last)
    if len(limit.path) > 1:
        return grouped.get(limit.path[-2], [])
    return [el for tag in _context_tags(limit) for el in grouped.get(tag, ())]


def _over_limit(doc: Doc, limit: Limit, starts: list[Element]) -> Iterator[Element]:
    """The contexts with more than ``limit.most`` elements at the limit's path, counted by following
    each of ``starts`` up the path to its context."""
    root = doc.root
    counts: dict[Element, int] = {}
    for el in starts:
        node = _context_of(el, limit.path)
        if node is None or not _counted(el, limit):
            continue
        in_context = (
            (node is root and root.tag in ROOTS)
            if limit.context == ROOT
            else _is_context(node, limit.context)
        )
        if in_context:
            counts[node] = counts.get(node, 0) + 1
    for context, count in counts.items():
        if count > limit.most:
            yield context


def _context_of(el: Element, path: tuple[str, ...]) -> Element | None:
    """The element above ``el`` from which ``path`` leads to it, or None when its ancestors differ."""
    node = el.getparent()
    for tag in path[-2::-1]:
        if node is None or node.tag != tag:
            return None
        node = node.getparent()
    return node


# Rules with a condition of their own: each yields the context elements where it is broken. ``needs`` names
# an element without which the rule cannot be broken (as for the rules with a check, see base.rule): the
# check is not run on a document that holds none.
Check = Callable[[Doc, dict[str, list[Element]]], Iterator[Element]]
SPECIAL: list[tuple[Rule, Check, str | None]] = []


def special(
    rule_id: str, terms: tuple[str, ...], message: str, *, needs: str | None = None
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        needed = None if needs is None else _clark(needs)
        SPECIAL.append((Rule(rule_id, Severity.FATAL, terms, message, None), check, needed))
        return check

    return register


def _root(doc: Doc) -> Element | None:
    return doc.root if doc.root.tag in ROOTS else None


@special(
    "UBL-SR-04",
    ("BT-18",),
    "Invoiced object identifier (BT-18) may occur at most once.",
    needs="cac:AdditionalDocumentReference",
)
def one_invoiced_object(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    root = _root(doc)
    if root is None:
        return
    ids = under(doc, _CBC_ID).get(_CAC_ADDITIONAL_DOCUMENT_REFERENCE, [])
    if len(ids) <= 1:
        return
    invoiced = [
        identifier
        for identifier in ids
        if (reference := identifier.getparent()) is not None
        and reference.getparent() is root
        and "130" in map(_value, reference.iterchildren(_CBC_DOCUMENT_TYPE_CODE))
    ]
    if len(invoiced) > 1:
        yield root


@special(
    "UBL-SR-07",
    ("BT-25",),
    "A Preceding invoice reference (BG-3) must give the preceding invoice number (BT-25).",
    needs="cac:BillingReference",
)
def preceding_invoice_number(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    for reference in index.get(_CAC_BILLING_REFERENCE, ()):
        if not _at(reference, (_CAC_INVOICE_DOCUMENT_REFERENCE, _CBC_ID)):
            yield reference


def _registrations(doc: Doc) -> dict[tuple[str, bool], int]:
    """How many tax registration identifiers (cbc:CompanyID of a cac:PartyTaxScheme) each party role of
    the root has, split by whether the scheme is VAT.

    A tax scheme counts as VAT when one of its IDs is "VAT" in any case, as not VAT when one of its IDs
    is something else (the artefacts test ``upper-case(cbc:ID) = 'VAT'`` and ``!= 'VAT'``; a scheme can
    be both, or neither when it has no ID).
    """
    counts: dict[tuple[str, bool], int] = {}
    root = doc.root
    for company_id in under(doc, _CBC_COMPANY_ID).get(_CAC_PARTY_TAX_SCHEME, ()):
        scheme = company_id.getparent()
        party = None if scheme is None else scheme.getparent()
        role = None if party is None or party.tag != _CAC_PARTY else party.getparent()
        if scheme is None or role is None or role.getparent() is not root:
            continue
        codes = [_value(code).upper() for code in _at(scheme, (_CAC_TAX_SCHEME, _CBC_ID))]
        for vat in {code == "VAT" for code in codes}:
            counts[role.tag, vat] = counts.get((role.tag, vat), 0) + 1
    return counts


def _too_many_registrations(doc: Doc, role: str, vat: bool) -> Iterator[Element]:
    root = _root(doc)
    if root is None or len(under(doc, _CBC_COMPANY_ID).get(_CAC_PARTY_TAX_SCHEME, ())) <= 1:
        return
    if doc.memo("UBL-SR tax registrations", _registrations).get((_clark(role), vat), 0) > 1:
        yield root


@special(
    "UBL-SR-12",
    ("BT-31",),
    "Seller VAT identifier (BT-31) may occur at most once.",
    needs="cac:PartyTaxScheme",
)
def one_seller_vat_identifier(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _too_many_registrations(doc, "cac:AccountingSupplierParty", vat=True)


@special(
    "UBL-SR-13",
    ("BT-32",),
    "Seller tax registration identifier (BT-32) may occur at most once.",
    needs="cac:PartyTaxScheme",
)
def one_seller_tax_registration(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _too_many_registrations(doc, "cac:AccountingSupplierParty", vat=False)


@special(
    "UBL-SR-18",
    ("BT-48",),
    "Buyer VAT identifier (BT-48) may occur at most once.",
    needs="cac:PartyTaxScheme",
)
def one_buyer_vat_identifier(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _too_many_registrations(doc, "cac:AccountingCustomerParty", vat=True)


PAYEE_NAME = (_CAC_PARTY_NAME, _CBC_NAME)
SELLER_NAME = tuple(
    _clark(step)
    for step in ("cac:AccountingSupplierParty", "cac:Party", "cac:PartyLegalEntity", "cbc:RegistrationName")
)


def _payee_differs(payee: Element) -> bool:
    """The artefacts' test that the Payee is not the Seller: some Payee name differs from some Seller name.

    Like the general comparison it mirrors, it is false when either name is missing.
    """
    names = [_value(n) for n in _at(payee, PAYEE_NAME)]
    parent = payee.getparent()
    seller_names = [] if parent is None else [_value(n) for n in _at(parent, SELLER_NAME)]
    return any(name != seller for name in names for seller in seller_names)


def _payees(doc: Doc) -> dict[Element, bool]:
    """Each cac:PayeeParty of the document, and whether it passes as different from the Seller."""
    return {payee: _payee_differs(payee) for payee in doc.walk.elements.get(_CAC_PAYEE_PARTY, ())}


def _payee_breaks(doc: Doc, counted: Callable[[Element], list[Element]]) -> Iterator[Element]:
    """The payees with more than one of the ``counted`` elements, or not told apart from the Seller."""
    for payee, differs in doc.memo("UBL-SR payees", _payees).items():
        if len(counted(payee)) > 1 or not differs:
            yield payee


@special(
    "UBL-SR-19",
    ("BT-59",),
    "Payee name (BT-59) must occur once, and differ from the Seller name, when the Payee is not the Seller.",
    needs="cac:PayeeParty",
)
def payee_name(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _payee_breaks(doc, lambda payee: _at(payee, PAYEE_NAME))


@special(
    "UBL-SR-20",
    ("BT-60",),
    "Payee identifier (BT-60) may occur at most once (besides a SEPA creditor identifier), and the Payee "
    "name must differ from the Seller name.",
    needs="cac:PayeeParty",
)
def payee_identifier(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    def identifiers(payee: Element) -> list[Element]:
        found = _at(payee, (_CAC_PARTY_IDENTIFICATION, _CBC_ID))
        return [i for i in found if (i.get("schemeID") or "").upper() != "SEPA"]

    return _payee_breaks(doc, identifiers)


@special(
    "UBL-SR-21",
    ("BT-61",),
    "Payee legal registration identifier (BT-61) may occur at most once, and the Payee name must differ "
    "from the Seller name.",
    needs="cac:PayeeParty",
)
def payee_legal_registration(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _payee_breaks(doc, lambda payee: _at(payee, (_CAC_PARTY_LEGAL_ENTITY, _CBC_COMPANY_ID)))


@special(
    "UBL-SR-29",
    ("BT-90",),
    "Bank assigned creditor identifier (BT-90) may occur at most once.",
    needs="cac:PartyIdentification",
)
def one_creditor_identifier(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    root = _root(doc)
    if root is None:
        return
    identifiers = under(doc, _CBC_ID).get(_CAC_PARTY_IDENTIFICATION, [])
    sepa = [identifier for identifier in identifiers if (identifier.get("schemeID") or "").upper() == "SEPA"]
    if len(sepa) > 1:
        yield root


def _charge_indicator(allowance_charge: Element, value: bool) -> bool:
    tokens = ("true", "1") if value else ("false", "0")
    return any(
        _value(flag).strip(" \t\n\r") in tokens
        for flag in allowance_charge.iterchildren(_CBC_CHARGE_INDICATOR)
    )


def _reasons(doc: Doc, charge: bool) -> Iterator[Element]:
    by_parent = under(doc, _CBC_ALLOWANCE_CHARGE_REASON).get(_CAC_ALLOWANCE_CHARGE, [])
    if len(by_parent) <= 1:
        return
    counts: dict[Element, int] = {}
    for reason in by_parent:
        parent = reason.getparent()
        if parent is not None:
            counts[parent] = counts.get(parent, 0) + 1
    for allowance_charge, count in counts.items():
        if count <= 1 or not _charge_indicator(allowance_charge, charge):
            continue
        if charge and _charge_indicator(allowance_charge, False):
            continue  # an element that is both is read by the allowance rule first, as in the artefacts
        yield allowance_charge


@special(
    "UBL-SR-30",
    ("BT-97",),
    "Document level allowance reason (BT-97) may occur at most once.",
    needs="cbc:AllowanceChargeReason",
)
def one_allowance_reason(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _reasons(doc, charge=False)


@special(
    "UBL-SR-31",
    ("BT-104",),
    "Document level charge reason (BT-104) may occur at most once.",
    needs="cbc:AllowanceChargeReason",
)
def one_charge_reason(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    return _reasons(doc, charge=True)


@special(
    "UBL-SR-43",
    ("BT-18", "BT-122"),
    "A scheme identifier is allowed only on an invoiced object "
    "identifier (document type code 130, or 50 in a credit note); other supporting documents carry "
    "neither a scheme identifier nor a document type code.",
    needs="cac:AdditionalDocumentReference",
)
def scheme_only_for_invoiced_object(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    credit_note = etree.QName(doc.root).localname == "CreditNote"  # by local name, as the artefacts test
    for reference in index.get(_CAC_ADDITIONAL_DOCUMENT_REFERENCE, ()):
        codes = [_value(code) for code in reference.iterchildren(_CBC_DOCUMENT_TYPE_CODE)]
        if "130" in codes or (credit_note and "50" in codes):
            continue
        has_scheme = any(i.get("schemeID") is not None for i in reference.iterchildren(_CBC_ID))
        if has_scheme or codes:
            yield reference


def _distinct_values(index: dict[str, list[Element]], tag: str) -> int:
    elements = index.get(tag, ())
    return len({_value(el) for el in elements}) if len(elements) > 1 else len(elements)


@special(
    "UBL-SR-44",
    ("BT-83",),
    "Remittance information (BT-83) may have one value only, even when repeated in several payment means.",
    needs="cbc:PaymentID",
)
def one_remittance_information(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    root = _root(doc)
    if root is not None and _distinct_values(index, _CBC_PAYMENT_ID) > 1:
        yield root


@special(
    "UBL-SR-47",
    ("BT-81",),
    "Payment means type code (BT-81) may have one value only, even when repeated in several payment means.",
    needs="cbc:PaymentMeansCode",
)
def one_payment_means_code(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    root = _root(doc)
    if root is not None and _distinct_values(index, _CBC_PAYMENT_MEANS_CODE) > 1:
        yield root


@special(
    "UBL-SR-48",
    ("BT-151",),
    "Each invoice line must have exactly one item VAT category (cac:ClassifiedTaxCategory).",
)
def one_line_vat_category(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    counts = dict.fromkeys(_contexts(doc, index, LINES), 0)
    for category in index.get(_CAC_CLASSIFIED_TAX_CATEGORY, ()):
        item = category.getparent()
        line = None if item is None or item.tag != _CAC_ITEM else item.getparent()
        if line is not None and line in counts:
            counts[line] += 1
    for line, count in counts.items():
        if count != 1:
            yield line


@special(
    "UBL-SR-53",
    ("BT-31", "BT-32", "BT-48", "BT-63"),
    "A party tax scheme must give both the tax "
    "scheme identifier and the tax registration identifier (cbc:CompanyID).",
    needs="cac:PartyTaxScheme",
)
def complete_party_tax_scheme(doc: Doc, index: dict[str, list[Element]]) -> Iterator[Element]:
    schemes = index.get(_CAC_PARTY_TAX_SCHEME, [])
    if not schemes:
        return
    # The party tax schemes that have a tax scheme ID, and those that have a CompanyID.
    tax_schemes = [i.getparent() for i in under(doc, _CBC_ID).get(_CAC_TAX_SCHEME, [])]
    with_id = {t.getparent() for t in tax_schemes if t is not None}
    company_ids = under(doc, _CBC_COMPANY_ID).get(_CAC_PARTY_TAX_SCHEME, [])
    with_company = {c.getparent() for c in company_ids}
    for scheme in schemes:
        if scheme not in with_id or scheme not in with_company:
            yield scheme


def syntax_breaches(doc: Doc) -> Iterator[tuple[str, Element]]:
    """Every UBL-SR breach: the cardinality table, then the rules with conditions of their own."""
    shared = doc.walk
    index = shared.elements
    for limit in LIMITS:
        # Nothing to count when the document holds no more elements of the path's last name than the
        # limit, in all or under a parent of the name the path asks for.
        if len(index.get(limit.last, ())) <= limit.most or (
            limit.parent is not None and limit.parent not in index
        ):
            continue
        starts = _starts(shared, limit)
        if len(starts) > limit.most:
            for el in _over_limit(doc, limit, starts):
                yield limit.rule_id, el
    for rule_, check, needs in SPECIAL:
        if needs is None or needs in index:
            for el in check(doc, index):
                yield rule_.id, el


RULES = [Rule(limit.rule_id, Severity.FATAL, limit.terms, limit.message, None) for limit in LIMITS] + [
    rule_ for rule_, _, _ in SPECIAL
]
register_group(sorted(RULES, key=lambda r: r.id), syntax_breaches)
