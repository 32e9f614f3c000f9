"""What the VAT category rules read of a document, gathered in one walk and shared through ``Doc.memo``.

The official UBL binding of the VAT rules (BR-S-*, BR-Z-*, ... BR-B-*) selects tax categories in
several places and with slightly different filters, and :mod:`vat` has to reproduce each of them:

* the VAT breakdown categories (BT-118): ``/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory``;
* the line categories (BT-151): ``cac:Item/cac:ClassifiedTaxCategory`` of an Invoice or Credit note line;
* the allowance and charge categories (BT-95, BT-102): ``cac:AllowanceCharge/cac:TaxCategory``, split by
  ``cbc:ChargeIndicator`` and, for some rules, restricted to the document level;
* "the VAT scheme" filter ``cac:TaxScheme/cbc:ID = 'VAT'`` (case-insensitive, whitespace-normalised),
  which most rules apply and a few do not.

Values are compared as the official XPath 2.0 does: codes after ``normalize-space`` (or as written,
where the official test compares ``cbc:ID = 'L'`` directly), amounts as ``xs:decimal``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from services.invoicing.validation.rules.base import NS, Doc, Element

_CAC = "{" + NS["cac"] + "}"
_CBC = "{" + NS["cbc"] + "}"
TAX_CATEGORY = _CAC + "TaxCategory"
CLASSIFIED_TAX_CATEGORY = _CAC + "ClassifiedTaxCategory"
ALLOWANCE_CHARGE = _CAC + "AllowanceCharge"
TAX_SUBTOTAL = _CAC + "TaxSubtotal"
TAX_TOTAL = _CAC + "TaxTotal"
ITEM = _CAC + "Item"
LINE_TAGS = frozenset({_CAC + "InvoiceLine", _CAC + "CreditNoteLine"})
INVOICE_LINE = _CAC + "InvoiceLine"
CREDIT_NOTE_LINE = _CAC + "CreditNoteLine"

_XML_SPACE = re.compile(r"[ \t\r\n]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DOUBLE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def normalize_space(value: str) -> str:
    """XPath ``normalize-space``: XML whitespace collapsed to one space and trimmed."""
    return _XML_SPACE.sub(" ", value).strip(" ")


def string_value(el: Element) -> str:
    """The XPath string value of an element: all of its descendant text."""
    return "".join(str(part) for part in el.itertext())


def xs_decimal(value: str | None) -> Decimal | None:
    """``xs:decimal(value)``: None when absent or not a decimal literal (where XPath raises an error)."""
    if value is None:
        return None
    value = normalize_space(value)
    return Decimal(value) if _DECIMAL.fullmatch(value) else None


def xs_number(value: str | None) -> Decimal | None:
    """An untyped value compared with a number, which XPath casts to ``xs:double`` (exponents allowed)."""
    if value is None:
        return None
    value = normalize_space(value)
    return Decimal(value) if _DOUBLE.fullmatch(value) else None


def xs_boolean(value: str | None) -> bool | None:
    """``cbc:ChargeIndicator`` cast to ``xs:boolean``; None when absent or not a boolean literal."""
    if value is None:
        return None
    return {"true": True, "1": True, "false": False, "0": False}.get(normalize_space(value))


def round_cents(value: Decimal) -> Decimal:
    """``round(value * 10 * 10) div 100``: XPath 2.0 rounds a half towards positive infinity."""
    with localcontext() as ctx:
        ctx.prec = 60
        return (value * 100 + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR) / 100


def _is_vat_scheme(category: Element) -> bool:
    """``cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT'``."""
    for scheme in category.iterchildren(_CAC + "TaxScheme"):
        scheme_id = scheme.find(_CBC + "ID")
        if normalize_space(string_value(scheme_id).upper() if scheme_id is not None else "") == "VAT":
            return True
    return False


@dataclass(frozen=True, slots=True)
class Category:
    """One ``cac:TaxCategory`` or ``cac:ClassifiedTaxCategory`` element, read the ways the rules read it."""

    el: Element
    code: str  # normalize-space(cbc:ID): the first VAT category code, '' when absent
    codes: tuple[str, ...]  # every cbc:ID after normalize-space (for cbc:ID[normalize-space(.) = 'X'])
    raw_codes: tuple[str, ...]  # every cbc:ID as written (for cbc:ID = 'X')
    vat: bool  # under the VAT tax scheme
    percents: tuple[str, ...]  # every cbc:Percent as written (BT-96, BT-103, BT-119, BT-152)

    @classmethod
    def read(cls, el: Element) -> Category:
        ids = [string_value(i) for i in el.iterchildren(_CBC + "ID")]
        normalized = [normalize_space(i) for i in ids]
        return cls(
            el=el,
            code=normalized[0] if normalized else "",
            codes=tuple(normalized),
            raw_codes=tuple(ids),
            vat=_is_vat_scheme(el),
            percents=tuple(string_value(p) for p in el.iterchildren(_CBC + "Percent")),
        )

    def has(self, code: str) -> bool:
        """``cac:TaxCategory[normalize-space(cbc:ID) = code]``."""
        return self.code == code

    def has_vat(self, code: str) -> bool:
        """``...[normalize-space(cbc:ID) = code][cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT']``."""
        return self.vat and self.code == code

    def decimal_percents(self) -> list[Decimal | None]:
        return [xs_decimal(p) for p in self.percents]


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """One ``cac:AllowanceCharge`` with its ``cbc:ChargeIndicator`` and its tax categories."""

    el: Element
    charge: bool | None  # True: charge (BG-21), False: allowance (BG-20), None: indicator unusable
    document_level: bool
    amount: str | None  # cbc:Amount (BT-92, BT-99) as written
    categories: tuple[Category, ...]


@dataclass(frozen=True, slots=True)
class Line:
    """One Invoice line or Credit note line (BG-25) as the taxable-amount rules sum it."""

    credit_note: bool  # a cac:CreditNoteLine rather than a cac:InvoiceLine
    amount: str | None  # Invoice line net amount (BT-131) as written
    categories: tuple[Category, ...]  # its cac:Item/cac:ClassifiedTaxCategory elements (BT-151)


@dataclass(frozen=True, slots=True)
class VatView:
    breakdown: tuple[Category, ...]  # /*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory (BT-118)
    tax_categories: tuple[Category, ...]  # //cac:TaxCategory, anywhere
    classified: tuple[Category, ...]  # //cac:ClassifiedTaxCategory, anywhere
    line_categories: tuple[Category, ...]  # (InvoiceLine | CreditNoteLine)/Item/ClassifiedTaxCategory
    allowances_charges: tuple[AllowanceCharge, ...]  # //cac:AllowanceCharge, any level
    lines: tuple[Line, ...]
    has_invoice_lines: bool  # exists(//cac:InvoiceLine)
    has_credit_note_lines: bool  # exists(//cac:CreditNoteLine)
    seller_tax_id: bool  # Seller PartyTaxScheme/CompanyID, any scheme (BT-31 or BT-32)
    seller_vat_id: bool  # Seller VAT identifier (BT-31)
    tax_representative_vat_id: bool  # Seller tax representative VAT identifier (BT-63)
    buyer_vat_id: bool  # Buyer VAT identifier (BT-48)
    buyer_legal_id: bool  # Buyer legal registration identifier (BT-47)

    def allowance_categories(self, *, charge: bool, document_level: bool = False) -> Iterable[Category]:
        """``cac:AllowanceCharge[cbc:ChargeIndicator = charge]/cac:TaxCategory`` (any level unless asked)."""
        for ac in self.allowances_charges:
            if ac.charge is charge and (ac.document_level or not document_level):
                yield from ac.categories

    def every_allowance_category(self) -> Iterable[Category]:
        """``//cac:AllowanceCharge/cac:TaxCategory``, whatever the charge indicator."""
        for ac in self.allowances_charges:
            yield from ac.categories


def _party_ids(root: Element, party_path: str, *, vat_only: bool) -> bool:
    """Whether ``party_path/cac:PartyTaxScheme[...]/cbc:CompanyID`` exists."""
    for scheme in root.iterfind(f"{party_path}/cac:PartyTaxScheme", NS):
        if scheme.find("cbc:CompanyID", NS) is not None and (not vat_only or _is_vat_scheme(scheme)):
            return True
    return False


def _read(doc: Doc) -> VatView:
    root = doc.root
    categories: dict[Element, Category] = {}
    tax_categories: list[Category] = []
    classified: list[Category] = []
    line_categories: list[Category] = []
    breakdown: list[Category] = []
    for el in root.iter(TAX_CATEGORY, CLASSIFIED_TAX_CATEGORY):
        category = categories[el] = Category.read(el)
        parent = el.getparent()
        if el.tag == CLASSIFIED_TAX_CATEGORY:
            classified.append(category)
            if parent is not None and parent.tag == ITEM:
                line = parent.getparent()
                if line is not None and line.tag in LINE_TAGS:
                    line_categories.append(category)
            continue
        tax_categories.append(category)
        if parent is not None and parent.tag == TAX_SUBTOTAL:
            total = parent.getparent()
            if total is not None and total.tag == TAX_TOTAL and total.getparent() is root:
                breakdown.append(category)

    allowances_charges = tuple(
        AllowanceCharge(
            el=ac,
            charge=xs_boolean(ac.findtext("cbc:ChargeIndicator", namespaces=NS)),
            document_level=ac.getparent() is root,
            amount=ac.findtext("cbc:Amount", namespaces=NS),
            categories=tuple(categories[c] for c in ac.iterchildren(TAX_CATEGORY)),
        )
        for ac in root.iter(ALLOWANCE_CHARGE)
    )
    lines = tuple(
        Line(
            credit_note=line.tag == CREDIT_NOTE_LINE,
            amount=line.findtext("cbc:LineExtensionAmount", namespaces=NS),
            categories=tuple(
                categories[c]
                for c in line.iterfind("cac:Item/cac:ClassifiedTaxCategory", NS)
                if c in categories
            ),
        )
        for line in root.iterchildren(INVOICE_LINE, CREDIT_NOTE_LINE)
    )
    return VatView(
        breakdown=tuple(breakdown),
        tax_categories=tuple(tax_categories),
        classified=tuple(classified),
        line_categories=tuple(line_categories),
        allowances_charges=allowances_charges,
        lines=lines,
        has_invoice_lines=any(not line.credit_note for line in lines),
        has_credit_note_lines=any(line.credit_note for line in lines),
        seller_tax_id=_party_ids(root, "cac:AccountingSupplierParty/cac:Party", vat_only=False),
        seller_vat_id=_party_ids(root, "cac:AccountingSupplierParty/cac:Party", vat_only=True),
        tax_representative_vat_id=_party_ids(root, "cac:TaxRepresentativeParty", vat_only=True),
        buyer_vat_id=_party_ids(root, "cac:AccountingCustomerParty/cac:Party", vat_only=True),
        buyer_legal_id=root.find(
            "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID", NS
        )
        is not None,
    )


def vat_view(doc: Doc) -> VatView:
    """The document's VAT categories, parties and postings, read once per validation."""
    return doc.memo("vat.view", _read)
