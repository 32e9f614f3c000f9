"""What the VAT category rules read of a document, gathered in one walk and shared through ``Doc.memo``.

The official UBL binding of the VAT rules (BR-S-*, BR-Z-*, ... BR-B-*) selects tax categories in
several places and with slightly different filters, and :mod:`vat_checks` has to reproduce each of them:

* the VAT breakdown categories (BT-118): ``/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory``;
* the line categories (BT-151): ``cac:Item/cac:ClassifiedTaxCategory`` of an Invoice or Credit note line;
* the allowance and charge categories (BT-95, BT-102): ``cac:AllowanceCharge/cac:TaxCategory``, split by
  ``cbc:ChargeIndicator`` and, for some rules, restricted to the document level;
* "the VAT scheme" filter ``cac:TaxScheme/cbc:ID = 'VAT'`` (case-insensitive, whitespace-normalised),
  which most rules apply and a few do not.

Values are compared as the official XPath 2.0 does: codes after ``normalize-space`` (or as written,
where the official test compares ``cbc:ID = 'L'`` directly), amounts as ``xs:decimal``.

The walk visits each category element's children once (lxml calls dominate the cost of a rule);
the parties and line amounts, which only some rules need, are read on first use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import cached_property, lru_cache

from services.invoicing.validation.rules.base import NS, Doc, Element

_CAC = "{" + NS["cac"] + "}"
_CBC = "{" + NS["cbc"] + "}"
TAX_CATEGORY = _CAC + "TaxCategory"
CLASSIFIED_TAX_CATEGORY = _CAC + "ClassifiedTaxCategory"
ALLOWANCE_CHARGE = _CAC + "AllowanceCharge"
INVOICE_LINE = _CAC + "InvoiceLine"
CREDIT_NOTE_LINE = _CAC + "CreditNoteLine"
_LINE_TAGS = frozenset({INVOICE_LINE, CREDIT_NOTE_LINE})
_TAX_SUBTOTAL = _CAC + "TaxSubtotal"
_TAX_TOTAL = _CAC + "TaxTotal"
_TAX_SCHEME = _CAC + "TaxScheme"
_ITEM = _CAC + "Item"
_ID = _CBC + "ID"
_PERCENT = _CBC + "Percent"
_EXEMPTION_REASONS = frozenset({_CBC + "TaxExemptionReason", _CBC + "TaxExemptionReasonCode"})
_TAXABLE_AMOUNT = _CBC + "TaxableAmount"
_TAX_AMOUNT = _CBC + "TaxAmount"
_CHARGE_INDICATOR = _CBC + "ChargeIndicator"
_AMOUNT = _CBC + "Amount"
_LINE_EXTENSION_AMOUNT = _CBC + "LineExtensionAmount"

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_CENT = Decimal("0.01")
EXACT = Context(prec=200)  # xs:decimal arithmetic is exact: 200 digits hold any sum a document can state


def normalize_space(value: str) -> str:
    """XPath ``normalize-space``: XML whitespace collapsed to one space and trimmed."""
    value = value.strip(" \t\r\n")
    if "  " in value or "\n" in value or "\t" in value or "\r" in value:
        return _XML_SPACE.sub(" ", value)
    return value


def string_value(el: Element) -> str:
    """The XPath string value of an element: all of its descendant text."""
    if len(el) == 0:
        return el.text or ""
    return "".join(str(part) for part in el.itertext())


def xs_decimal(value: str | None) -> Decimal | None:
    """``xs:decimal(value)``: None when absent or not a decimal literal (where XPath raises an error)."""
    return None if value is None else _parse_decimal(value)


@lru_cache(maxsize=4096)
def _parse_decimal(value: str) -> Decimal | None:
    value = normalize_space(value)
    return Decimal(value) if _DECIMAL.fullmatch(value) else None


def xs_number(value: str | None) -> Decimal | None:
    """An untyped value compared with a number, which XPath casts to ``xs:double`` (exponents allowed)."""
    return None if value is None else _parse_number(value)


@lru_cache(maxsize=4096)
def _parse_number(value: str) -> Decimal | None:
    value = normalize_space(value)
    return Decimal(value) if _DOUBLE.fullmatch(value) else None


def xs_boolean(value: str | None) -> bool | None:
    """``cbc:ChargeIndicator`` cast to ``xs:boolean``; None when absent or not a boolean literal."""
    return None if value is None else _BOOLEANS.get(normalize_space(value))


def double_bounds(value: str) -> tuple[Decimal, Decimal] | None:
    """``xs:decimal(value - 1)`` and ``xs:decimal(value + 1)`` for an untyped ``value``, as the official
    BR-S-08, BR-AF-08 and BR-AG-08 compute their tolerance: the arithmetic on an untyped value is
    ``xs:double`` arithmetic, and the cast back to ``xs:decimal`` keeps the double's exact binary value.

    This is the one place where Tessera computes in binary floating point, on purpose: 100.10 - 1 is
    99.0999999999999943... in double, so a line sum of exactly 99.10 lies inside the official tolerance
    and only an emulation of the double step gives the official verdict there. None when ``value`` is
    not a number.
    """
    number = xs_number(value)
    if number is None:
        return None
    as_double = float(number)  # the nearest double, as the cast of the untyped value to xs:double
    return Decimal(as_double - 1), Decimal(as_double + 1)


def round_cents(value: Decimal) -> Decimal:
    """``round(value * 10 * 10) div 100``: XPath 2.0 rounds a half towards positive infinity, that is
    away from zero for a positive value (2.675 -> 2.68) and towards zero for a negative one (-2.675 -> -2.67)."""
    rounding = ROUND_HALF_UP if value >= 0 else ROUND_HALF_DOWN
    return value.quantize(_CENT, rounding=rounding, context=EXACT)


def _is_vat_scheme(scheme: Element) -> bool:
    """``normalize-space(upper-case(cbc:ID)) = 'VAT'`` for one ``cac:TaxScheme`` (its first ``cbc:ID``)."""
    for child in scheme:
        if child.tag == _ID:
            value = string_value(child)
            return value == "VAT" or normalize_space(value.upper()) == "VAT"
    return False


@dataclass(slots=True)
class Category:
    """One ``cac:TaxCategory`` or ``cac:ClassifiedTaxCategory`` element, read the ways the rules read it."""

    el: Element
    code: str  # normalize-space(cbc:ID): the first VAT category code, '' when absent
    codes: list[str]  # every cbc:ID normalised, for cbc:ID[normalize-space(.) = 'X']
    raw_codes: list[str]  # every cbc:ID as written, for cbc:ID = 'X'
    vat: bool  # cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT'
    percents: list[str]  # every cbc:Percent as written (BT-96, BT-103, BT-119, BT-152)
    rates: list[Decimal | None]  # xs:decimal of each cbc:Percent
    exemption_reason: bool  # a cbc:TaxExemptionReason (BT-120) or ...Code (BT-121) child

    @classmethod
    def read(cls, el: Element) -> Category:
        """Read the element's children in one pass (an lxml lookup per field would cost more)."""
        codes: list[str] = []
        raw_codes: list[str] = []
        percents: list[str] = []
        vat = exemption_reason = False
        for child in el:
            tag = child.tag
            if tag == _ID:
                raw = string_value(child)
                raw_codes.append(raw)
                codes.append(normalize_space(raw))
            elif tag == _PERCENT:
                percents.append(string_value(child))
            elif tag == _TAX_SCHEME:
                vat = vat or _is_vat_scheme(child)
            elif tag in _EXEMPTION_REASONS:
                exemption_reason = True
        rates = [xs_decimal(p) for p in percents]
        return cls(el, codes[0] if codes else "", codes, raw_codes, vat, percents, rates, exemption_reason)


@dataclass(slots=True)
class Breakdown:
    """A VAT breakdown (BG-23): the category of a document level ``cac:TaxSubtotal`` and its amounts."""

    category: Category
    taxable: list[Decimal | None]  # xs:decimal of each cbc:TaxableAmount (BT-116)
    tax: list[Decimal | None]  # xs:decimal of each cbc:TaxAmount (BT-117)
    taxable_text: list[str]  # each cbc:TaxableAmount as written


@dataclass(slots=True)
class Posting:
    """An amount booked under VAT categories: an Invoice or Credit note line (BG-25), or an allowance
    or charge (BG-20, BG-21), as the taxable-amount rules sum them."""

    amount: str | None  # BT-131, BT-92 or BT-99 as written
    categories: list[Category] = field(default_factory=list)
    charge: bool | None = None  # allowances/charges: True charge, False allowance, None indicator unusable
    document_level: bool = False  # allowances/charges directly under the document root
    credit_note: bool = False  # lines: a cac:CreditNoteLine rather than a cac:InvoiceLine
    value: Decimal | None = None  # xs:decimal(amount)
    invalid: bool = False  # an amount that is not a decimal (the official rule cannot be evaluated)
    codes: frozenset[str] = frozenset()  # normalize-space(cbc:ID) of each category
    rates: frozenset[Decimal] = frozenset()  # xs:decimal(cbc:Percent) of each category

    def seal(self) -> Posting:
        """Compute the derived fields once the categories are known."""
        self.value = xs_decimal(self.amount)
        self.invalid = self.amount is not None and self.value is None
        self.codes = frozenset(c.code for c in self.categories)
        self.rates = frozenset(r for c in self.categories for r in c.rates if r is not None)
        return self

    def matches(self, code: str, rate: Decimal | None = None) -> bool:
        """``[...Category/normalize-space(cbc:ID) = code][...Category/xs:decimal(cbc:Percent) = rate]``.

        Both conditions are tested over all of the posting's categories, each on its own.
        """
        return code in self.codes and (rate is None or rate in self.rates)


def _party_has_id(root: Element, party_path: str, *, vat_only: bool) -> bool:
    """Whether ``party_path/cac:PartyTaxScheme[...]/cbc:CompanyID`` exists."""
    for scheme in root.iterfind(f"{party_path}/cac:PartyTaxScheme", NS):
        if scheme.find("cbc:CompanyID", NS) is not None and (
            not vat_only or any(_is_vat_scheme(s) for s in scheme.iterchildren(_TAX_SCHEME))
        ):
            return True
    return False


class VatView:
    """The tax categories of one document by role, and (on first use) its parties and lines."""

    def __init__(self, root: Element) -> None:
        self.root = root
        self.breakdowns: list[Breakdown] = []  # /*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory
        self.tax_categories: list[Category] = []  # //cac:TaxCategory, anywhere
        self.classified: list[Category] = []  # //cac:ClassifiedTaxCategory, anywhere
        self.line_categories: list[Category] = []  # (InvoiceLine | CreditNoteLine)/Item/ClassifiedTaxCategory
        self._by_line: dict[Element, list[Category]] = {}
        by_allowance: dict[Element, Posting] = {}
        for el in root.iter(TAX_CATEGORY, CLASSIFIED_TAX_CATEGORY, ALLOWANCE_CHARGE):
            parent = el.getparent()
            if el.tag == ALLOWANCE_CHARGE:
                by_allowance[el] = self._read_allowance_charge(el, document_level=parent is root)
                continue
            category = Category.read(el)
            if el.tag == CLASSIFIED_TAX_CATEGORY:
                self.classified.append(category)
                line = parent.getparent() if parent is not None and parent.tag == _ITEM else None
                if line is not None and line.tag in _LINE_TAGS:
                    self.line_categories.append(category)
                    self._by_line.setdefault(line, []).append(category)
                continue
            self.tax_categories.append(category)
            if parent is None:
                continue
            if parent.tag == ALLOWANCE_CHARGE:
                by_allowance[parent].categories.append(category)
            elif parent.tag == _TAX_SUBTOTAL:
                total = parent.getparent()
                if total is not None and total.tag == _TAX_TOTAL and total.getparent() is root:
                    self.breakdowns.append(self._read_breakdown(category, parent))
        # //cac:AllowanceCharge, any level
        self.allowances_charges: list[Posting] = [ac.seal() for ac in by_allowance.values()]
        self.present_codes: frozenset[str] = frozenset(
            code for c in (*self.tax_categories, *self.classified) for code in (*c.codes, *c.raw_codes)
        )

    @staticmethod
    def _read_allowance_charge(el: Element, *, document_level: bool) -> Posting:
        indicator: str | None = None
        amount: str | None = None
        for child in el:
            if child.tag == _CHARGE_INDICATOR and indicator is None:
                indicator = string_value(child)
            elif child.tag == _AMOUNT and amount is None:
                amount = string_value(child)
        return Posting(amount, charge=xs_boolean(indicator), document_level=document_level)

    @staticmethod
    def _read_breakdown(category: Category, subtotal: Element) -> Breakdown:
        breakdown = Breakdown(category, [], [], [])
        for child in subtotal:
            if child.tag == _TAXABLE_AMOUNT:
                breakdown.taxable_text.append(string_value(child))
                breakdown.taxable.append(xs_decimal(breakdown.taxable_text[-1]))
            elif child.tag == _TAX_AMOUNT:
                breakdown.tax.append(xs_decimal(string_value(child)))
        return breakdown

    @property
    def breakdown_categories(self) -> list[Category]:
        return [b.category for b in self.breakdowns]

    def allowance_categories(self, *, charge: bool, document_level: bool = False) -> list[Category]:
        """``cac:AllowanceCharge[cbc:ChargeIndicator = charge]/cac:TaxCategory`` (any level unless asked)."""
        return [
            c
            for ac in self.allowances_charges
            if ac.charge is charge and (ac.document_level or not document_level)
            for c in ac.categories
        ]

    def every_allowance_category(self) -> list[Category]:
        """``//cac:AllowanceCharge/cac:TaxCategory``, whatever the charge indicator."""
        return [c for ac in self.allowances_charges for c in ac.categories]

    @cached_property
    def lines(self) -> list[Posting]:
        """The document's Invoice and Credit note lines, with their net amounts and categories."""
        return [
            Posting(
                next((string_value(c) for c in line if c.tag == _LINE_EXTENSION_AMOUNT), None),
                self._by_line.get(line, []),
                credit_note=line.tag == CREDIT_NOTE_LINE,
            ).seal()
            for line in self.root.iterchildren(INVOICE_LINE, CREDIT_NOTE_LINE)
        ]

    @property
    def has_invoice_lines(self) -> bool:
        """``exists(//cac:InvoiceLine)``."""
        return any(not line.credit_note for line in self.lines)

    @property
    def has_credit_note_lines(self) -> bool:
        """``exists(//cac:CreditNoteLine)``."""
        return any(line.credit_note for line in self.lines)

    @cached_property
    def seller_tax_id(self) -> bool:
        """A Seller ``cac:PartyTaxScheme/cbc:CompanyID`` of any scheme: BT-31 or BT-32."""
        return _party_has_id(self.root, "cac:AccountingSupplierParty/cac:Party", vat_only=False)

    @cached_property
    def seller_vat_id(self) -> bool:
        """The Seller VAT identifier (BT-31)."""
        return _party_has_id(self.root, "cac:AccountingSupplierParty/cac:Party", vat_only=True)

    @cached_property
    def tax_representative_vat_id(self) -> bool:
        """The Seller tax representative VAT identifier (BT-63)."""
        return _party_has_id(self.root, "cac:TaxRepresentativeParty", vat_only=True)

    @cached_property
    def buyer_vat_id(self) -> bool:
        """The Buyer VAT identifier (BT-48)."""
        return _party_has_id(self.root, "cac:AccountingCustomerParty/cac:Party", vat_only=True)

    @cached_property
    def buyer_legal_id(self) -> bool:
        """The Buyer legal registration identifier (BT-47)."""
        path = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
        return self.root.find(path, NS) is not None


def vat_view(doc: Doc) -> VatView:
    """The document's VAT categories, read once per validation."""
    return doc.memo("vat.view", lambda d: VatView(d.root))
