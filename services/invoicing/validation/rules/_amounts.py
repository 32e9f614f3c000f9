"""Shared views of a UBL document for the EN 16931 rules, read the way the official XPath 2.0
assertions read them.

- Where the rule contexts are: one filtered walk of the tree (:func:`contexts`) finds every
  element named in a context such as ``cac:LegalMonetaryTotal`` or ``//cac:PartyTaxScheme``,
  wherever it sits, as a Schematron context would.
- The document's parts the calculation rules share: lines (BG-25) of either document type,
  document level allowances (BG-20) and charges (BG-21), the monetary totals (BG-22).
- Numbers as ``xs:decimal``: :func:`amount` reads one value, :func:`total` sums many,
  :func:`round2` rounds as ``round(x * 10 * 10) div 100`` does. A value that is present but not
  an ``xs:decimal`` raises :class:`Unreadable`: the official validation stops with an error
  there, so a rule treats it as broken (fail closed), never as passed.
- Strings as XPath compares them: :func:`normalize_space`, :func:`filled`, :func:`is_vat`.

Views are computed once per document through :meth:`Doc.memo`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from decimal import ROUND_FLOOR, Context, Decimal

from services.invoicing.validation.rules.base import CREDIT_NOTE_NS, INVOICE_NS, NS, Doc, Element

CAC = "{" + NS["cac"] + "}"
CBC = "{" + NS["cbc"] + "}"

# Elements that open a rule context somewhere in the document (not only under the root).
CONTEXT_TAGS = tuple(
    CAC + name
    for name in (
        "AccountingCustomerParty",
        "AccountingSupplierParty",
        "AdditionalDocumentReference",
        "AdditionalItemProperty",
        "BillingReference",
        "CreditNoteLine",
        "Delivery",
        "InvoiceLine",
        "InvoicePeriod",
        "LegalMonetaryTotal",
        "PartyTaxScheme",
        "PayeeParty",
        "PaymentMeans",
        "TaxRepresentativeParty",
        "TaxTotal",
    )
)
ROOT_TAGS = frozenset({f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote"})

# xs:decimal arithmetic is exact; a wide context keeps Python's from rounding sums and products.
EXACT = Context(prec=400, rounding=ROUND_FLOOR)
HUNDRED = Decimal(100)
HALF = Decimal("0.5")
_XS_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_XML_SPACE = re.compile(r"[ \t\r\n]+")


class Unreadable(Exception):
    """A value the assertion casts to a number is not one: the official check errors out."""


def _index(doc: Doc) -> dict[str, list[Element]]:
    found: dict[str, list[Element]] = {tag: [] for tag in CONTEXT_TAGS}
    for el in doc.root.iter(*CONTEXT_TAGS):
        found[el.tag].append(el)
    return found


def contexts(doc: Doc, name: str) -> list[Element]:
    """Every ``cac:<name>`` element anywhere in the document, in document order."""
    return doc.memo("e2.index", _index)[CAC + name]


def is_document(doc: Doc) -> bool:
    """True when the root is ``/ubl:Invoice`` or ``/cn:CreditNote`` (the root rule context)."""
    return doc.root.tag in ROOT_TAGS


def _all_lines(doc: Doc) -> list[Element]:
    invoice_lines, credit_note_lines = contexts(doc, "InvoiceLine"), contexts(doc, "CreditNoteLine")
    if invoice_lines and credit_note_lines:  # both kinds in one document: keep document order
        return list(doc.root.iter(CAC + "InvoiceLine", CAC + "CreditNoteLine"))
    return invoice_lines or credit_note_lines


def all_lines(doc: Doc) -> list[Element]:
    """Every ``cac:InvoiceLine`` and ``cac:CreditNoteLine`` (BG-25), at any depth, as the
    official contexts match them whatever the document type."""
    return doc.memo("e2.lines", _all_lines)


def _parent_tag(el: Element) -> object:
    parent = el.getparent()
    return None if parent is None else parent.tag


LINE_TAGS = frozenset({CAC + "InvoiceLine", CAC + "CreditNoteLine"})


def line_periods(doc: Doc) -> list[Element]:
    """Invoice line periods (BG-26): ``cac:InvoicePeriod`` of a line."""
    return [period for period in contexts(doc, "InvoicePeriod") if _parent_tag(period) in LINE_TAGS]


def document_periods(doc: Doc) -> list[Element]:
    """Invoicing periods (BG-14): every other ``cac:InvoicePeriod``. The official pattern lists the
    line period context first, so a line's period never answers to the invoicing period rules."""
    return [period for period in contexts(doc, "InvoicePeriod") if _parent_tag(period) not in LINE_TAGS]


def vat_breakdowns(doc: Doc) -> list[Element]:
    """The ``cac:TaxTotal/cac:TaxSubtotal`` context (BG-23): every subtotal of every tax total."""
    return doc.memo(
        "e2.breakdowns",
        lambda d: [sub for total in contexts(d, "TaxTotal") for sub in total.iterfind("cac:TaxSubtotal", NS)],
    )


# ---- strings and flags, as XPath compares them ----


def normalize_space(value: str | None) -> str:
    """XPath ``normalize-space``: XML whitespace runs become one space, ends trimmed."""
    return _XML_SPACE.sub(" ", value or "").strip(" ")


def string_value(el: Element | None) -> str:
    """The XPath string value of an element (its text, as written); empty when absent."""
    if el is None:
        return ""
    if len(el) == 0:
        return el.text or ""
    return "".join(str(part) for part in el.itertext())


def filled(parent: Element, path: str) -> bool:
    """``normalize-space(path) != ''`` for the first ``path`` element under ``parent``."""
    return normalize_space(string_value(parent.find(path, NS))) != ""


def any_filled(parent: Element, path: str) -> bool:
    """``(path) != ''``: some ``path`` element under ``parent`` has a non-empty string value."""
    return any(string_value(el) != "" for el in parent.iterfind(path, NS))


def is_vat(category: Element) -> bool:
    """``cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT'`` on a tax category or scheme holder."""
    return any(
        normalize_space(string_value(scheme.find("cbc:ID", NS)).upper()) == "VAT"
        for scheme in category.iterfind("cac:TaxScheme", NS)
    )


def vat_categories(parent: Element, path: str = "cac:TaxCategory") -> list[Element]:
    """The ``path`` tax categories under ``parent`` whose scheme is VAT."""
    return [category for category in parent.iterfind(path, NS) if is_vat(category)]


def indicator(el: Element) -> bool | None:
    """``cbc:ChargeIndicator`` cast to xs:boolean (true/false/1/0), None when absent or not boolean."""
    value = string_value(el.find("cbc:ChargeIndicator", NS)).strip(" \t\r\n")
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    return None


def allowances_and_charges(parent: Element, *, charge: bool) -> list[Element]:
    """``parent/cac:AllowanceCharge[cbc:ChargeIndicator = charge]``."""
    return [ac for ac in parent.iterfind("cac:AllowanceCharge", NS) if indicator(ac) is charge]


def document_allowances(doc: Doc) -> list[Element]:
    """Document level allowances (BG-20): root ``cac:AllowanceCharge`` with ChargeIndicator false."""
    if not is_document(doc):
        return []
    return doc.memo("e2.allowances", lambda d: allowances_and_charges(d.root, charge=False))


def document_charges(doc: Doc) -> list[Element]:
    """Document level charges (BG-21): root ``cac:AllowanceCharge`` with ChargeIndicator true."""
    if not is_document(doc):
        return []
    return doc.memo("e2.charges", lambda d: allowances_and_charges(d.root, charge=True))


def line_allowances(doc: Doc) -> list[Element]:
    """Invoice line allowances (BG-27): each line's ``cac:AllowanceCharge`` with ChargeIndicator false."""
    return [ac for line in all_lines(doc) for ac in allowances_and_charges(line, charge=False)]


def line_charges(doc: Doc) -> list[Element]:
    """Invoice line charges (BG-28): each line's ``cac:AllowanceCharge`` with ChargeIndicator true."""
    return [ac for line in all_lines(doc) for ac in allowances_and_charges(line, charge=True)]


# ---- numbers, as xs:decimal ----


def parse(text: str) -> Decimal:
    """Cast a string to xs:decimal (surrounding whitespace allowed, no exponent); else Unreadable."""
    value = text.strip(" \t\r\n")
    if not _XS_DECIMAL.fullmatch(value):
        raise Unreadable(value)
    return Decimal(value)


def amount(parent: Element, path: str) -> Decimal | None:
    """``xs:decimal(path)``: None when absent (the empty sequence); Unreadable when not a number
    or when there are several (a sequence cannot be cast)."""
    found = parent.findall(path, NS)
    if not found:
        return None
    if len(found) > 1:
        raise Unreadable(path)
    return parse(string_value(found[0]))


def amounts(elements: Iterable[Element], path: str) -> Iterator[Decimal]:
    """``elements/xs:decimal(path)``: every ``path`` value under each element."""
    for el in elements:
        for node in el.iterfind(path, NS):
            yield parse(string_value(node))


def total(values: Iterable[Decimal]) -> Decimal:
    """``sum(...)``, exactly (0 for no values)."""
    result = Decimal(0)
    for value in values:
        result = EXACT.add(result, value)
    return result


def add(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.subtract(a, b)


def multiply(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.multiply(a, b)


def percent(rate: Decimal) -> Decimal:
    """``rate div 100``."""
    return EXACT.divide(rate, HUNDRED)


def round_half_up(value: Decimal) -> Decimal:
    """XPath 2.0 ``round``: the nearest integer, a half going towards positive infinity
    (``round(2.5) = 3``, ``round(-2.5) = -2``)."""
    return EXACT.add(value, HALF).to_integral_value(rounding=ROUND_FLOOR)


def round2(value: Decimal) -> Decimal:
    """``round(value * 10 * 10) div 100``: two decimals, halves towards positive infinity."""
    return EXACT.divide(round_half_up(EXACT.multiply(value, HUNDRED)), HUNDRED)


def failing(elements: Iterable[Element], holds: Callable[[Element], bool]) -> Iterator[Element]:
    """Yield every context element where the assertion ``holds`` is false or cannot be evaluated
    because a number in it is unreadable (the official validation errors there: fail closed)."""
    for el in elements:
        try:
            ok = holds(el)
        except Unreadable:
            ok = False
        if not ok:
            yield el
