"""Shared views of a UBL document for the EN 16931 rules, read the way the official XPath 2.0
assertions read them.

- :class:`Tree`: the children of each element, grouped by tag, as the shared walk of the document
  (:mod:`._tree`) filed them, so that the many rules looking at the same parts (lines, totals, VAT
  breakdown) pay a dictionary lookup instead of an ElementPath search each. Paths are written
  with the usual prefixes (``cac:Item/cbc:Name``).
- Where the rule contexts are: :func:`contexts` finds every element named in a context such as
  ``cac:LegalMonetaryTotal`` or ``//cac:PartyTaxScheme`` wherever it sits (the shared tag index).
- The document's parts several rules share: lines (BG-25) of either document type, document
  level allowances (BG-20) and charges (BG-21), line allowances (BG-27) and charges (BG-28),
  periods (BG-14, BG-26), the VAT breakdown (BG-23).
- Numbers as ``xs:decimal``: :meth:`Tree.amount` reads one value, :func:`total` sums many,
  :func:`round2` rounds as ``round(x * 10 * 10) div 100`` does. A value that is present but not
  an ``xs:decimal`` raises :class:`Unreadable`: the official validation stops with an error
  there, so a rule treats it as broken (fail closed, see :func:`failing`), never as passed.
- Strings as XPath compares them: :func:`normalize_space`, :meth:`Tree.filled`, :meth:`Tree.is_vat`.

Every view is computed once per document through :meth:`Doc.memo`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import lru_cache, reduce

from lxml import etree

from services.invoicing.validation.rules._tree import Children
from services.invoicing.validation.rules.base import CREDIT_NOTE_NS, INVOICE_NS, NS, Doc, Element

CAC = "{" + NS["cac"] + "}"
CBC = "{" + NS["cbc"] + "}"

ROOT_TAGS = frozenset({f"{{{INVOICE_NS}}}Invoice", f"{{{CREDIT_NOTE_NS}}}CreditNote"})
LINE_TAGS = frozenset({CAC + "InvoiceLine", CAC + "CreditNoteLine"})
ALLOWANCE_CHARGE = CAC + "AllowanceCharge"

# xs:decimal arithmetic is exact; a wide context keeps Python's from rounding sums and products.
EXACT = Context(prec=400, rounding=ROUND_FLOOR)
HUNDRED = Decimal(100)
ZERO = Decimal(0)
HALF = Decimal("0.5")
CENT = Decimal("0.01")
_XS_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_XML_SPACE = re.compile(r"[ \t\r\n]+")
XML_WHITESPACE = " \t\r\n"  # what normalize-space and casts trim (str.strip() alone trims more)
_NOTHING: Sequence[Element] = ()
_NO_ELEMENTS: list[Element] = []  # shared and never modified


class Unreadable(Exception):
    """The official assertion cannot be evaluated here: a value it casts is not a number or a date,
    or there are several values where it takes one. The official validation stops with an error."""


_STEPS: dict[str, tuple[str, ...]] = {}
# Each path as its first step and the steps after it, so that the usual one-step path is followed without
# a loop (paths are the rules' own constants: a few hundred at most).
_PLANS: dict[str, tuple[str, tuple[str, ...]]] = {}


def steps(path: str) -> tuple[str, ...]:
    """``cac:Item/cbc:Name`` as the Clark-notation tags of its steps (computed once per path)."""
    found = _STEPS.get(path)
    if found is None:
        tags = []
        for step in path.split("/"):
            prefix, _, local = step.partition(":")
            tags.append("{" + NS[prefix] + "}" + local)
        found = _STEPS[path] = tuple(tags)
    return found


def _plan(path: str) -> tuple[str, tuple[str, ...]]:
    tags = steps(path)
    plan = _PLANS[path] = (tags[0], tags[1:])
    return plan


# ---- strings, as XPath reads them ----


def normalize_space(value: str | None) -> str:
    """XPath ``normalize-space``: XML whitespace runs become one space, ends trimmed."""
    return _XML_SPACE.sub(" ", value or "").strip(" ")


def string_value(el: Element | None) -> str:
    """The XPath string value of an element (its text as written); empty when absent."""
    if el is None:
        return ""
    if len(el) == 0:
        return el.text or ""
    return "".join(str(part) for part in el.itertext())


def parse(text: str) -> Decimal:
    """Cast a string to xs:decimal (surrounding whitespace allowed, no exponent); else Unreadable."""
    number = _decimal(text)
    if number is None:
        raise Unreadable(text.strip(XML_WHITESPACE))
    return number


@lru_cache(maxsize=4096)  # amounts repeat (rates, zero amounts, equal lines): a Decimal is immutable
def _decimal(text: str) -> Decimal | None:
    value = text.strip(XML_WHITESPACE)
    return Decimal(value) if _XS_DECIMAL.fullmatch(value) else None


class _ReadOnRequest(Children):
    """Children read from lxml the first time an element is asked for (a Tree made on its own)."""

    def __missing__(self, el: Element) -> dict[str, list[Element]]:
        found: dict[str, list[Element]] = {}
        for child in el.iterchildren(etree.Element):
            bucket = found.get(child.tag)
            if bucket is None:
                found[child.tag] = [child]
            else:
                bucket.append(child)
        self[el] = found
        return found


class Tree:
    """The children of each element by tag, shared by every rule.

    Within a validation the children are those the shared walk filed (:func:`tree`); a Tree made on
    its own reads them from lxml on the first request.
    """

    __slots__ = ("_kids", "_vat")

    def __init__(self, children: Children | None = None) -> None:
        self._kids: Children = _ReadOnRequest() if children is None else children
        self._vat: dict[Element, bool] = {}

    def kids(self, el: Element) -> dict[str, list[Element]]:
        """The element children of ``el`` by tag (do not modify the result)."""
        return self._kids[el]

    def all(self, el: Element, path: str) -> Sequence[Element]:
        """Every ``path`` element under ``el``, in document order (do not modify the result)."""
        first, rest = _PLANS.get(path) or _plan(path)
        kids = self._kids
        nodes: Sequence[Element] = kids[el].get(first, _NOTHING)
        for tag in rest:
            if len(nodes) == 1:
                nodes = kids[nodes[0]].get(tag, _NOTHING)
            elif not nodes:
                return _NOTHING
            else:
                nodes = [child for node in nodes for child in kids[node].get(tag, _NOTHING)]
        return nodes

    # Bulk reads: one call per rule rather than one per context element, for the rules that look at
    # every line of a large invoice.

    def select(self, elements: Iterable[Element], path: str) -> list[Element]:
        """``elements/path``: every ``path`` element under each element, in order."""
        return [node for el in elements for node in self.all(el, path)]

    def missing(self, elements: Iterable[Element], *paths: str) -> list[Element]:
        """The elements with none of ``paths``: ``exists(a) or exists(b) ...`` is false."""
        if len(paths) == 1 and len(tags := _STEPS.get(paths[0]) or steps(paths[0])) == 1:
            kids, tag = self._kids, tags[0]
            return [el for el in elements if tag not in kids[el]]
        broken = []
        for el in elements:
            for path in paths:
                if self.all(el, path):
                    break
            else:
                broken.append(el)
        return broken

    def blank(self, elements: Iterable[Element], path: str) -> list[Element]:
        """The elements whose ``path`` is missing or blank: ``normalize-space(path) != ''`` is false,
        or cannot be evaluated because there are several ``path`` elements."""
        broken = []
        for el in elements:
            found = self.all(el, path)
            if len(found) != 1 or not string_value(found[0]).strip(XML_WHITESPACE):
                broken.append(el)
        return broken

    def first(self, el: Element, path: str) -> Element | None:
        first, rest = _PLANS.get(path) or _plan(path)
        found = self.all(el, path) if rest else self._kids[el].get(first, _NOTHING)
        return found[0] if found else None

    def has(self, el: Element, path: str) -> bool:
        """``exists(path)``."""
        first, rest = _PLANS.get(path) or _plan(path)
        return bool(self.all(el, path)) if rest else first in self._kids[el]

    def text(self, el: Element, path: str) -> str:
        """The string value of the first ``path`` element, empty when there is none."""
        return string_value(self.first(el, path))

    def single(self, el: Element, path: str) -> Element | None:
        """The one ``path`` element where the assertion takes a single value (None when absent);
        Unreadable when there are several, as a function of one string errors on a sequence."""
        first, rest = _PLANS.get(path) or _plan(path)
        found = self.all(el, path) if rest else self._kids[el].get(first, _NOTHING)
        if len(found) > 1:
            raise Unreadable(path)
        return found[0] if found else None

    def filled(self, el: Element, path: str) -> bool:
        """``normalize-space(path) != ''`` (Unreadable when there are several)."""
        return string_value(self.single(el, path)).strip(XML_WHITESPACE) != ""

    def amount(self, el: Element, path: str) -> Decimal | None:
        """``xs:decimal(path)``: None when absent (the empty sequence); Unreadable when not a
        number, or when there are several (a sequence cannot be cast)."""
        found = self.single(el, path)
        return None if found is None else parse(string_value(found))

    def amounts(self, elements: Iterable[Element], path: str) -> list[Decimal]:
        """``elements/xs:decimal(path)``: every ``path`` value under each element."""
        values = []
        for el in elements:
            for node in self.all(el, path):
                values.append(parse(string_value(node)))
        return values

    def is_vat(self, holder: Element) -> bool:
        """``cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT'`` on a tax category or party tax scheme."""
        found = self._vat.get(holder)
        if found is None:
            found = self._vat[holder] = any(
                self.text(scheme, "cbc:ID").upper().strip(XML_WHITESPACE) == "VAT"
                for scheme in self.all(holder, "cac:TaxScheme")
            )
        return found

    def vat_categories(self, parent: Element, path: str = "cac:TaxCategory") -> list[Element]:
        """``path[cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT']`` under ``parent``."""
        return [category for category in self.all(parent, path) if self.is_vat(category)]

    def indicator(self, allowance_or_charge: Element) -> bool | None:
        """``cbc:ChargeIndicator`` cast to xs:boolean (true/false/1/0); None when absent or not boolean."""
        value = self.text(allowance_or_charge, "cbc:ChargeIndicator").strip(XML_WHITESPACE)
        if value in ("true", "1"):
            return True
        if value in ("false", "0"):
            return False
        return None

    def allowances_and_charges(self, parent: Element, *, charge: bool) -> list[Element]:
        """``parent/cac:AllowanceCharge[cbc:ChargeIndicator = charge]``."""
        return [ac for ac in self.all(parent, "cac:AllowanceCharge") if self.indicator(ac) is charge]


def tree(doc: Doc) -> Tree:
    """The document's shared :class:`Tree` (``doc.tree``)."""
    return doc.tree


# ---- where the rule contexts are ----


def contexts(doc: Doc, name: str) -> list[Element]:
    """Every ``cac:<name>`` element anywhere in the document, in document order.

    Read from the validation's one shared walk of the tree (:mod:`._tree`), which the table-driven
    families need anyway, so that finding a context never walks the document again."""
    tag = _CONTEXTS.get(name)
    if tag is None:
        tag = _CONTEXTS[name] = CAC + name
    return doc.walk.elements.get(tag, _NO_ELEMENTS)


_CONTEXTS: dict[str, str] = {}  # context name -> tag, built once (the names are the rules' own constants)


def absent(doc: Doc, *tags: str) -> bool:
    """True when the document holds no element of any of ``tags`` (``cac:Name`` form): a rule about
    them cannot be broken, and can answer without looking at every line."""
    index = doc.walk.elements
    return not any(steps(tag)[0] in index for tag in tags)


def is_document(doc: Doc) -> bool:
    """True when the root is ``/ubl:Invoice`` or ``/cn:CreditNote`` (the root rule context)."""
    return doc.root.tag in ROOT_TAGS


def _root(doc: Doc) -> list[Element]:
    return [doc.root] if is_document(doc) else []


def root(doc: Doc) -> list[Element]:
    """The ``/ubl:Invoice | /cn:CreditNote`` context: the root, when it is one of the two."""
    found: list[Element] | None = doc.views.get("e2.root")
    return found if found is not None else doc.memo("e2.root", _root)


def _all_lines(doc: Doc) -> list[Element]:
    invoice_lines, credit_note_lines = contexts(doc, "InvoiceLine"), contexts(doc, "CreditNoteLine")
    if invoice_lines and credit_note_lines:  # both kinds in one document: keep document order
        return list(doc.root.iter(CAC + "InvoiceLine", CAC + "CreditNoteLine"))
    return invoice_lines or credit_note_lines


def all_lines(doc: Doc) -> list[Element]:
    """Every ``cac:InvoiceLine`` and ``cac:CreditNoteLine`` (BG-25), at any depth, as the
    official contexts match them whatever the document type."""
    found: list[Element] | None = doc.views.get("e2.lines")
    return found if found is not None else doc.memo("e2.lines", _all_lines)


def document_allowances(doc: Doc) -> list[Element]:
    """Document level allowances (BG-20): root ``cac:AllowanceCharge`` with ChargeIndicator false."""
    return doc.memo(
        "e2.allowances",
        lambda d: [ac for r in root(d) for ac in d.tree.allowances_and_charges(r, charge=False)],
    )


def document_charges(doc: Doc) -> list[Element]:
    """Document level charges (BG-21): root ``cac:AllowanceCharge`` with ChargeIndicator true."""
    return doc.memo(
        "e2.charges", lambda d: [ac for r in root(d) for ac in d.tree.allowances_and_charges(r, charge=True)]
    )


def _line_allowances_and_charges(doc: Doc) -> tuple[list[Element], list[Element]]:
    t = tree(doc)
    allowances: list[Element] = []
    charges: list[Element] = []
    for line in all_lines(doc):
        for ac in t.kids(line).get(ALLOWANCE_CHARGE, _NOTHING):
            charge = t.indicator(ac)
            if charge is True:
                charges.append(ac)
            elif charge is False:
                allowances.append(ac)
    return allowances, charges


def line_allowances(doc: Doc) -> list[Element]:
    """Invoice line allowances (BG-27): each line's ``cac:AllowanceCharge`` with ChargeIndicator false."""
    return doc.memo("e2.line_allowances_charges", _line_allowances_and_charges)[0]


def line_charges(doc: Doc) -> list[Element]:
    """Invoice line charges (BG-28): each line's ``cac:AllowanceCharge`` with ChargeIndicator true."""
    return doc.memo("e2.line_allowances_charges", _line_allowances_and_charges)[1]


def _split_periods(doc: Doc) -> tuple[list[Element], list[Element]]:
    of_lines: list[Element] = []
    others: list[Element] = []
    for period in contexts(doc, "InvoicePeriod"):
        parent = period.getparent()
        (of_lines if parent is not None and parent.tag in LINE_TAGS else others).append(period)
    return of_lines, others


def line_periods(doc: Doc) -> list[Element]:
    """Invoice line periods (BG-26): the ``cac:InvoicePeriod`` of a line."""
    return doc.memo("e2.periods", _split_periods)[0]


def document_periods(doc: Doc) -> list[Element]:
    """Invoicing periods (BG-14): every other ``cac:InvoicePeriod``. The official pattern lists the
    line period context first, so a line's period never answers to the invoicing period rules."""
    return doc.memo("e2.periods", _split_periods)[1]


def vat_breakdowns(doc: Doc) -> list[Element]:
    """The ``cac:TaxTotal/cac:TaxSubtotal`` context (BG-23): every subtotal of every tax total."""
    return doc.memo(
        "e2.breakdowns",
        lambda d: [sub for total in contexts(d, "TaxTotal") for sub in d.tree.all(total, "cac:TaxSubtotal")],
    )


# ---- numbers, as xs:decimal ----


def total(values: Iterable[Decimal]) -> Decimal:
    """``sum(...)``, exactly (0 for no values)."""
    return reduce(EXACT.add, values, ZERO)  # as sum() under EXACT, without switching contexts


def add(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.subtract(a, b)


def multiply(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.multiply(a, b)


def percent(rate: Decimal) -> Decimal:
    """``rate div 100``: the decimal point moved, as exact as the division (and rounded as it would
    be, to the exact context, in the one case either is rounded: more than 400 digits)."""
    return rate.scaleb(-2, EXACT)


def round_half_up(value: Decimal) -> Decimal:
    """XPath 2.0 ``round``: the nearest integer, a half going towards positive infinity
    (``round(2.5) = 3``, ``round(-2.5) = -2``)."""
    return EXACT.add(value, HALF).to_integral_value(rounding=ROUND_FLOOR)


def rounds_to_zero(value: Decimal) -> bool:
    """``round(value) = 0``: from -0.5 (which rounds up to 0) to below 0.5, compared without rounding."""
    return -HALF <= value < HALF


def round2(value: Decimal) -> Decimal:
    """``round(value * 10 * 10) div 100``: two decimals, halves towards positive infinity.

    Quantized in one step where the result fits the exact context with room to spare (any amount an
    invoice states): the same number as the three steps, which are kept for larger values, where the
    context's 400 digits round them.
    """
    if value.adjusted() < 390:
        return value.quantize(CENT, rounding=ROUND_HALF_UP if value >= 0 else ROUND_HALF_DOWN, context=EXACT)
    return EXACT.divide(round_half_up(EXACT.multiply(value, HUNDRED)), HUNDRED)


def failing(elements: Iterable[Element], holds: Callable[[Element], bool]) -> Iterator[Element]:
    """Every context element where the assertion ``holds`` is false or cannot be evaluated because a
    number in it is unreadable (the official validation errors there: fail closed)."""
    broken = []
    for el in elements:
        try:
            ok = holds(el)
        except Unreadable:
            ok = False
        if not ok:
            broken.append(el)
    return iter(broken)
