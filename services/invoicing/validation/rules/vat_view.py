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

The view reads the elements that matter from the validation's shared walk (:mod:`._tree`): the tax
categories, lines and allowances by tag and their children from its maps, so that lxml is asked only
for texts and parents. lxml calls, not the rules' arithmetic, dominate the cost of these rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Context, Decimal
from functools import cached_property, lru_cache

from services.invoicing.validation.rules._tree import Children
from services.invoicing.validation.rules._tree import Walk as SharedWalk
from services.invoicing.validation.rules.base import NS, Doc, Element

_CAC = "{" + NS["cac"] + "}"
_CBC = "{" + NS["cbc"] + "}"
TAX_CATEGORY = _CAC + "TaxCategory"
CLASSIFIED_TAX_CATEGORY = _CAC + "ClassifiedTaxCategory"
ALLOWANCE_CHARGE = _CAC + "AllowanceCharge"
INVOICE_LINE = _CAC + "InvoiceLine"
CREDIT_NOTE_LINE = _CAC + "CreditNoteLine"
_TAX_SUBTOTAL = _CAC + "TaxSubtotal"
_TAX_TOTAL = _CAC + "TaxTotal"
_TAX_SCHEME = _CAC + "TaxScheme"
_ITEM = _CAC + "Item"
_ID = _CBC + "ID"
_PERCENT = _CBC + "Percent"
_TAXABLE_AMOUNT = _CBC + "TaxableAmount"
_TAX_AMOUNT = _CBC + "TaxAmount"
_CHARGE_INDICATOR = _CBC + "ChargeIndicator"
_AMOUNT = _CBC + "Amount"
_LINE_EXTENSION_AMOUNT = _CBC + "LineExtensionAmount"
_PARTY_TAX_SCHEME = _CAC + "PartyTaxScheme"
_PARTY = _CAC + "Party"
_COMPANY_ID = _CBC + "CompanyID"
_SUPPLIER = _CAC + "AccountingSupplierParty"
_CUSTOMER = _CAC + "AccountingCustomerParty"
_TAX_REPRESENTATIVE = _CAC + "TaxRepresentativeParty"
_NONE: tuple[Element, ...] = ()
_EXEMPTION_REASON = _CBC + "TaxExemptionReason"
_EXEMPTION_REASON_CODE = _CBC + "TaxExemptionReasonCode"

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_INFINITIES = {"INF": Decimal("Infinity"), "+INF": Decimal("Infinity"), "-INF": Decimal("-Infinity")}
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
    if value in _INFINITIES:
        return _INFINITIES[value]
    return Decimal(value) if _DOUBLE.fullmatch(value) else None  # NaN compares false: None says the same


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


def _is_vat_scheme(scheme: Element, kids: Children) -> bool:
    """``normalize-space(upper-case(cbc:ID)) = 'VAT'`` for one ``cac:TaxScheme`` (its first ``cbc:ID``)."""
    ids = kids[scheme].get(_ID)
    if not ids:
        return False
    value = string_value(ids[0])
    return value == "VAT" or normalize_space(value.upper()) == "VAT"


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
    def read(cls, el: Element, kids: Children) -> Category:
        """Read the element's children from the shared walk's map.

        Plain loops rather than comprehensions: a category is read for every line of an invoice, and
        a comprehension costs a function call each on the Python versions Tessera runs on.
        """
        mine = kids[el]
        codes: list[str] = []
        raw_codes: list[str] = []
        for code in mine.get(_ID, _NONE):
            raw = string_value(code)
            raw_codes.append(raw)
            codes.append(normalize_space(raw))
        percents: list[str] = []
        rates: list[Decimal | None] = []
        for percent in mine.get(_PERCENT, _NONE):
            written = string_value(percent)
            percents.append(written)
            rates.append(xs_decimal(written))
        vat = False
        for scheme in mine.get(_TAX_SCHEME, _NONE):
            if _is_vat_scheme(scheme, kids):
                vat = True
                break
        exemption_reason = _EXEMPTION_REASON in mine or _EXEMPTION_REASON_CODE in mine
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
        codes: set[str] = set()
        rates: set[Decimal] = set()
        for category in self.categories:
            codes.add(category.code)
            for rate in category.rates:
                if rate is not None:
                    rates.add(rate)
        self.codes, self.rates = frozenset(codes), frozenset(rates)
        return self

    def matches(self, code: str, rate: Decimal | None = None) -> bool:
        """``[...Category/normalize-space(cbc:ID) = code][...Category/xs:decimal(cbc:Percent) = rate]``.

        Both conditions are tested over all of the posting's categories, each on its own.
        """
        return code in self.codes and (rate is None or rate in self.rates)


class VatView:
    """The tax categories of one document by role, its lines, allowances and charges, and which VAT
    identifiers its parties carry: everything read from the shared walk of the document."""

    def __init__(self, root: Element, shared: SharedWalk) -> None:
        self.root = root
        self.breakdowns: list[Breakdown] = []  # /*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory
        self.tax_categories: list[Category] = []  # //cac:TaxCategory, anywhere
        self.classified: list[Category] = []  # //cac:ClassifiedTaxCategory, anywhere
        self.line_categories: list[Category] = []  # (InvoiceLine | CreditNoteLine)/Item/ClassifiedTaxCategory
        self.seller_tax_id = False  # Seller PartyTaxScheme/CompanyID of any scheme: BT-31 or BT-32
        self.seller_vat_id = False  # Seller VAT identifier (BT-31)
        self.tax_representative_vat_id = False  # Seller tax representative VAT identifier (BT-63)
        self.buyer_vat_id = False  # Buyer VAT identifier (BT-48)
        # The parents of ``cac:Item`` elements with a ``cac:ClassifiedTaxCategory[VAT scheme]/cbc:ID``:
        # the lines that BR-CO-04 accepts, whatever their depth.
        self.vat_categorized: set[Element] = set()
        index, kids = shared.elements, shared.children
        # Ancestors come before their descendants: lines and allowances/charges are read before the
        # categories filed under them.
        lines: dict[Element, Posting] = {}
        for line in _root_lines(root, kids[root]):  # an Invoice or Credit note line (BG-25)
            amounts = kids[line].get(_LINE_EXTENSION_AMOUNT)
            lines[line] = Posting(
                string_value(amounts[0]) if amounts else None, credit_note=line.tag == CREDIT_NOTE_LINE
            )
        allowances_charges = {
            el: self._allowance_charge(kids[el], document_level=el.getparent() is root)
            for el in index.get(ALLOWANCE_CHARGE, ())
        }
        for el in index.get(CLASSIFIED_TAX_CATEGORY, ()):
            category = Category.read(el, kids)
            self.classified.append(category)
            item = el.getparent()
            owner = item.getparent() if item is not None and item.tag == _ITEM else None
            if owner is not None and category.vat and category.codes:
                self.vat_categorized.add(owner)
            posting = lines.get(owner) if owner is not None else None
            if posting is not None:
                self.line_categories.append(category)
                posting.categories.append(category)
        for el in index.get(TAX_CATEGORY, ()):
            category = Category.read(el, kids)
            self.tax_categories.append(category)
            parent = el.getparent()
            if parent is None:
                continue
            parent_tag = parent.tag
            if parent_tag == ALLOWANCE_CHARGE:
                allowances_charges[parent].categories.append(category)
            elif parent_tag == _TAX_SUBTOTAL:
                total = parent.getparent()
                if total is not None and total.tag == _TAX_TOTAL and total.getparent() is root:
                    self.breakdowns.append(self._breakdown(category, kids[parent]))
        for el in index.get(_PARTY_TAX_SCHEME, ()):
            self._party_tax_scheme(el, kids)
        self.lines: list[Posting] = [line.seal() for line in lines.values()]
        self.allowances_charges: list[Posting] = [ac.seal() for ac in allowances_charges.values()]
        self.has_invoice_lines = any(not line.credit_note for line in self.lines)  # exists(//cac:InvoiceLine)
        self.has_credit_note_lines = any(
            line.credit_note for line in self.lines
        )  # exists(//cac:CreditNoteLine)
        present: set[str] = set()
        for category in (*self.tax_categories, *self.classified):
            present.update(category.codes)
            present.update(category.raw_codes)
        self.present_codes = frozenset(present)

    @staticmethod
    def _allowance_charge(children: dict[str, list[Element]], *, document_level: bool) -> Posting:
        indicators, amounts = children.get(_CHARGE_INDICATOR), children.get(_AMOUNT)
        indicator = string_value(indicators[0]) if indicators else None
        amount = string_value(amounts[0]) if amounts else None
        return Posting(amount, charge=xs_boolean(indicator), document_level=document_level)

    @staticmethod
    def _breakdown(category: Category, subtotal: dict[str, list[Element]]) -> Breakdown:
        taxable_text = [string_value(amount) for amount in subtotal.get(_TAXABLE_AMOUNT, ())]
        return Breakdown(
            category,
            [xs_decimal(text) for text in taxable_text],
            [xs_decimal(string_value(amount)) for amount in subtotal.get(_TAX_AMOUNT, ())],
            taxable_text,
        )

    def _party_tax_scheme(self, scheme: Element, kids: Children) -> None:
        """``//cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme[...]/cbc:CompanyID`` and the like."""
        mine = kids[scheme]
        parent = scheme.getparent()
        if _COMPANY_ID not in mine or parent is None:
            return
        vat = any(_is_vat_scheme(tax_scheme, kids) for tax_scheme in mine.get(_TAX_SCHEME, ()))
        parent_tag = parent.tag
        if parent_tag == _TAX_REPRESENTATIVE:
            self.tax_representative_vat_id = self.tax_representative_vat_id or vat
            return
        role = parent.getparent() if parent_tag == _PARTY else None
        role_tag = role.tag if role is not None else None
        if role_tag == _SUPPLIER:
            self.seller_tax_id = True
            self.seller_vat_id = self.seller_vat_id or vat
        elif role_tag == _CUSTOMER:
            self.buyer_vat_id = self.buyer_vat_id or vat

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
    def buyer_legal_id(self) -> bool:
        """The Buyer legal registration identifier (BT-47)."""
        path = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID"
        return self.root.find(path, NS) is not None


def _root_lines(root: Element, children: dict[str, list[Element]]) -> list[Element]:
    """The Invoice and Credit note lines directly under the root, in document order."""
    invoice_lines, credit_note_lines = children.get(INVOICE_LINE), children.get(CREDIT_NOTE_LINE)
    if invoice_lines and credit_note_lines:
        return list(root.iterchildren(INVOICE_LINE, CREDIT_NOTE_LINE))
    return invoice_lines or credit_note_lines or []


def vat_view(doc: Doc) -> VatView:
    """The document's VAT categories, read once per validation."""
    return doc.memo("vat.view", lambda d: VatView(d.root, d.walk))
