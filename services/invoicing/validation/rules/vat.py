"""The VAT category rules of EN 16931: BR-S, BR-Z, BR-E, BR-AE, BR-IC, BR-G, BR-O, BR-AF, BR-AG, BR-B.

Every family repeats one pattern for its VAT category code (UNCL 5305):

====  ===========================================================  =====================================
 -01  a line, allowance or charge of the category needs a VAT       document (``/Invoice``)
      breakdown (BG-23) of that category
 -02  lines of the category need the seller (and buyer) identifiers document
 -03  ... so do document level allowances of the category           document
 -04  ... and document level charges                                 document
 -05  the VAT rate of a line of the category (BT-152)                each line ClassifiedTaxCategory
 -06  the VAT rate of an allowance of the category (BT-96)           each allowance TaxCategory
 -07  the VAT rate of a charge of the category (BT-103)              each charge TaxCategory
 -08  taxable amount (BT-116) = lines - allowances + charges          each breakdown TaxCategory
 -09  VAT amount (BT-117) = taxable amount x rate, or zero           each breakdown TaxCategory
 -10  exemption reason (BT-120/BT-121) required or forbidden         each breakdown TaxCategory
====  ===========================================================  =====================================

so the checks below are a few parametrised shapes, and the table at the end gives each rule id its
shape, parameters and message. The shapes follow the UBL binding of the CEN/TC 434 artefacts
(release 1.3.16), including where one family's test differs from the others' (which elements are
counted, whether the VAT scheme filter applies, tolerances), because Tessera must give the same
verdict as the official validator. The last column is the context: one finding per context element.
Families without a rate (all but S, L, M) compare whole amounts exactly; S, L and M compare per rate
with the official tolerance of one currency unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from services.invoicing.validation.rules.base import NS, Check, Doc, Element, rule
from services.invoicing.validation.rules.vat_view import (
    Category,
    VatView,
    round_cents,
    string_value,
    vat_view,
    xs_decimal,
    xs_number,
)

Matcher = Callable[[Category], bool]
Requirement = Callable[[VatView], bool]


class Where(Enum):
    """Where a VAT category code is given: on lines (BT-151), allowances (BT-95) or charges (BT-102)."""

    LINE = "line"
    ALLOWANCE = "allowance"
    CHARGE = "charge"


def vat(code: str) -> Matcher:
    """``[normalize-space(cbc:ID) = code][cac:TaxScheme/cbc:ID = 'VAT']``: the usual selection."""
    return lambda c: c.vat and c.code == code


def any_scheme(code: str) -> Matcher:
    """``[normalize-space(cbc:ID) = code]`` without the VAT scheme filter."""
    return lambda c: c.code == code


def vat_as_written(code: str) -> Matcher:
    """``[cbc:ID = code][cac:TaxScheme/cbc:ID = 'VAT']``: the code compared without normalising spaces."""
    return lambda c: c.vat and code in c.raw_codes


def _categories(view: VatView, where: Where, *, document_level: bool = False) -> Iterable[Category]:
    """Where the -02..-04 rules look: ``//cac:ClassifiedTaxCategory``, ``//cac:AllowanceCharge[...]/cac:TaxCategory``."""
    if where is Where.LINE:
        return view.classified
    return view.allowance_categories(charge=where is Where.CHARGE, document_level=document_level)


# -01: a category in use needs its VAT breakdown -------------------------------------------------


def breakdown_exactly_one(code: str) -> Check:
    """Categories without a rate: exactly one breakdown of ``code`` once any tax category names it.

    The official test looks for the code in every ``cac:TaxCategory`` (the breakdown's own included)
    and every ``cac:ClassifiedTaxCategory``, with the VAT scheme filter.
    """

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        used = any(c.vat and code in c.codes for c in view.tax_categories) or any(
            c.vat and code in c.codes for c in view.classified
        )
        if used and sum(c.codes.count(code) for c in view.breakdown if c.vat) != 1:
            yield doc.root

    return check


def breakdown_at_least_one(code: str, *, uses: Matcher, present: Matcher, absent: Matcher) -> Check:
    """Categories with rates: one breakdown or more of ``code`` if and only if lines or allowances use it.

    ``uses`` selects the line and allowance/charge categories counted as uses; ``present`` and
    ``absent`` select the breakdowns counted when the code is used and when it is not (the official
    tests differ slightly per family here).
    """

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        used = any(uses(c) for c in view.every_allowance_category()) or any(uses(c) for c in view.classified)
        if used:
            broken = not any(present(c) for c in view.breakdown)
        else:
            broken = any(absent(c) for c in view.breakdown)
        if broken:
            yield doc.root

    return check


# -02..-04: seller and buyer identifiers ---------------------------------------------------------


def seller_tax_id(v: VatView) -> bool:
    """Seller VAT identifier or tax registration identifier (BT-31, BT-32) or tax representative (BT-63)."""
    return v.seller_tax_id or v.tax_representative_vat_id


def seller_vat_id(v: VatView) -> bool:
    """Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63)."""
    return v.seller_vat_id or v.tax_representative_vat_id


def seller_tax_id_and_buyer_id(v: VatView) -> bool:
    """As :func:`seller_tax_id`, and the Buyer VAT identifier (BT-48) or legal registration id (BT-47)."""
    return seller_tax_id(v) and (v.buyer_vat_id or v.buyer_legal_id)


def seller_and_buyer_vat_ids(v: VatView) -> bool:
    """As :func:`seller_vat_id`, and the Buyer VAT identifier (BT-48)."""
    return seller_vat_id(v) and v.buyer_vat_id


def no_vat_ids(v: VatView) -> bool:
    """None of the Seller (BT-31), Seller tax representative (BT-63) or Buyer (BT-48) VAT identifiers."""
    return not (v.seller_vat_id or v.tax_representative_vat_id or v.buyer_vat_id)


def identifiers(
    code: str,
    where: Where,
    requirement: Requirement,
    *,
    trigger: Matcher | None = None,
    guard: Matcher | None = None,
    document_level: bool = False,
) -> Check:
    """Broken when a ``guard`` category exists and not both a ``trigger`` category and ``requirement``.

    The official test reads ``(exists(trigger) and requirement) or not(exists(guard))``; both are the
    category with the VAT scheme filter unless a family's test says otherwise.
    """
    trigger = trigger or vat(code)
    guard = guard or vat(code)

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        categories = tuple(_categories(view, where, document_level=document_level))
        if not any(guard(c) for c in categories):
            return
        if not (any(trigger(c) for c in categories) and requirement(view)):
            yield doc.root

    return check


# -05..-07: the VAT rate of lines, allowances and charges of the category -------------------------


def rate_positive(c: Category) -> bool:
    return any((p := xs_number(value)) is not None and p > 0 for value in c.percents)


def rate_not_negative(c: Category) -> bool:
    return any((p := xs_number(value)) is not None and p >= 0 for value in c.percents)


def rate_zero(c: Category) -> bool:
    return any(p is not None and p == 0 for p in c.decimal_percents())


def rate_absent(c: Category) -> bool:
    return not c.percents


def rate(code: str, where: Where, allowed: Matcher) -> Check:
    """Each line, allowance or charge category ``code`` (VAT scheme) whose rate is not ``allowed``."""
    selected = vat(code)

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        categories = view.line_categories if where is Where.LINE else _categories(view, where)
        for c in categories:
            if selected(c) and not allowed(c):
                yield c.el

    return check


# -08: the taxable amount of the breakdown ----------------------------------------------------------


def _sum(amounts: Iterable[str | None]) -> Decimal | None:
    """``sum(.../xs:decimal(...))``: absent amounts add nothing; None when one is not a decimal."""
    total = Decimal(0)
    for amount in amounts:
        if amount is None:
            continue
        value = xs_decimal(amount)
        if value is None:
            return None
        total += value
    return total


def _matches(categories: tuple[Category, ...], code: str, rate_value: Decimal | None) -> bool:
    """``[cac:...Category/normalize-space(cbc:ID) = code][cac:...Category/xs:decimal(cbc:Percent) = rate]``.

    Both conditions are tested over all of the element's categories, each on its own.
    """
    return any(c.code == code for c in categories) and (
        rate_value is None or any(rate_value in c.decimal_percents() for c in categories)
    )


def _basis(view: VatView, code: str, rate_value: Decimal | None, *, credit_note: bool) -> Decimal | None:
    """Lines (Invoice or Credit note) - document level allowances + document level charges of the category.

    None when an amount is not a decimal (the official validator cannot evaluate the rule then).
    """
    net = _sum(
        ln.amount
        for ln in view.lines
        if ln.credit_note is credit_note and _matches(ln.categories, code, rate_value)
    )
    postings = [
        ac
        for ac in view.allowances_charges
        if ac.document_level and _matches(ac.categories, code, rate_value)
    ]
    charges = _sum(ac.amount for ac in postings if ac.charge is True)
    allowances = _sum(ac.amount for ac in postings if ac.charge is False)
    if net is None or charges is None or allowances is None:
        return None
    return net + charges - allowances


def _subtotal_amounts(category: Category, name: str) -> list[Decimal | None]:
    """``xs:decimal(../cbc:<name>)`` of a breakdown category: the BT-116 or BT-117 of its VAT breakdown."""
    subtotal = category.el.getparent()
    if subtotal is None:
        return []
    return [xs_decimal(string_value(el)) for el in subtotal.iterfind(f"cbc:{name}", NS)]


def _document_kinds(view: VatView) -> Iterator[bool]:
    """The line kinds the official tests sum: Invoice lines if present, Credit note lines if present."""
    if view.has_invoice_lines:
        yield False
    if view.has_credit_note_lines:
        yield True


def taxable_exact(code: str) -> Check:
    """BT-116 equals lines - allowances + charges of ``code``, exactly (categories without a rate).

    Lines and document level allowances/charges are matched on the code alone, without the scheme filter.
    """
    selected = vat(code)

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        for category in view.breakdown:
            if not selected(category):
                continue
            taxable = _subtotal_amounts(category, "TaxableAmount")
            bases = [_basis(view, code, None, credit_note=kind) for kind in _document_kinds(view)]
            if not any(b is not None and b in taxable for b in bases):
                yield category.el

    return check


def _within_one(amounts: list[Decimal | None], expected: Decimal) -> bool:
    """``amount - 1 < expected < amount + 1``: the official tolerance of one currency unit."""
    return any(a is not None and a - 1 < expected < a + 1 for a in amounts)


def taxable_per_rate(code: str, *, needs_posting: bool) -> Check:
    """For each rate (BT-119) of the breakdown, BT-116 is lines - allowances + charges of ``code`` at that rate.

    Within one currency unit. With ``needs_posting`` (S) a line, allowance or charge of the code and
    rate must also exist; a breakdown without a rate is not checked (``every $rate in ()`` holds).
    """
    selected = vat(code)

    def posted(view: VatView, rate_value: Decimal, credit_note: bool) -> bool:
        return any(
            ln.credit_note is credit_note and _matches(ln.categories, code, rate_value) for ln in view.lines
        ) or any(_matches(ac.categories, code, rate_value) for ac in view.allowances_charges)

    def agrees(view: VatView, category: Category, rate_value: Decimal) -> bool:
        taxable = _subtotal_amounts(category, "TaxableAmount")
        for kind in _document_kinds(view):
            if needs_posting and not posted(view, rate_value, kind):
                continue
            basis = _basis(view, code, rate_value, credit_note=kind)
            if basis is not None and _within_one(taxable, basis):
                return True
        return False

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        for category in view.breakdown:
            if selected(category) and not all(
                r is not None and agrees(view, category, r) for r in category.decimal_percents()
            ):
                yield category.el

    return check


# -09: the VAT amount of the breakdown ------------------------------------------------------------


def tax_amount_zero(code: str) -> Check:
    """BT-117 of a breakdown of ``code`` is zero."""
    selected = vat(code)

    def check(doc: Doc) -> Iterator[Element]:
        for category in vat_view(doc).breakdown:
            if selected(category) and not any(
                a is not None and a == 0 for a in _subtotal_amounts(category, "TaxAmount")
            ):
                yield category.el

    return check


def tax_amount_at_rate(code: str) -> Check:
    """|BT-117| is within one unit of round(|BT-116| x BT-119 / 100, 2) for a breakdown of ``code``."""
    selected = vat(code)

    def agrees(category: Category) -> bool:
        rates = category.decimal_percents()
        taxable = _subtotal_amounts(category, "TaxableAmount")
        tax = _subtotal_amounts(category, "TaxAmount")
        if len(rates) != 1 or len(taxable) != 1 or rates[0] is None or taxable[0] is None:
            return False
        expected = round_cents(abs(taxable[0]) * (rates[0] / 100))
        return _within_one([abs(t) if t is not None else None for t in tax], expected)

    def check(doc: Doc) -> Iterator[Element]:
        for category in vat_view(doc).breakdown:
            if selected(category) and not agrees(category):
                yield category.el

    return check


# -10: the VAT exemption reason of the breakdown ---------------------------------------------------


def _has_exemption_reason(category: Category) -> bool:
    """A VAT exemption reason text (BT-120) or code (BT-121) is present."""
    return category.el.find("cbc:TaxExemptionReason", NS) is not None or (
        category.el.find("cbc:TaxExemptionReasonCode", NS) is not None
    )


def exemption_reason(code: str, *, required: bool) -> Check:
    """A breakdown of ``code`` has an exemption reason (BT-120/BT-121) when ``required``, none otherwise."""
    selected = vat(code)

    def check(doc: Doc) -> Iterator[Element]:
        for category in vat_view(doc).breakdown:
            if selected(category) and _has_exemption_reason(category) is not required:
                yield category.el

    return check


# Rules particular to one family ----------------------------------------------------------------


def _has_breakdown(view: VatView, code: str) -> bool:
    """``exists(cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[VAT scheme]/cbc:ID[normalize-space(.) = code])``."""
    return any(c.vat and code in c.codes for c in view.breakdown)


def intra_community_delivery_date(doc: Doc) -> Iterator[Element]:
    """BR-IC-11: with a K breakdown, the Actual delivery date (BT-72) or an Invoicing period (BG-14)."""
    if not _has_breakdown(vat_view(doc), "K"):
        return
    date = doc.root.find("cac:Delivery/cbc:ActualDeliveryDate", NS)
    period = doc.root.find("cac:InvoicePeriod/*", NS)
    if not ((date is not None and len(string_value(date)) > 1) or period is not None):
        yield doc.root


def intra_community_deliver_to_country(doc: Doc) -> Iterator[Element]:
    """BR-IC-12: with a K breakdown, the Deliver to country code (BT-80) of at least two characters."""
    if not _has_breakdown(vat_view(doc), "K"):
        return
    country = doc.root.find(
        "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode", NS
    )
    if country is None or len(string_value(country)) <= 1:
        yield doc.root


def not_subject_alone(categories: Callable[[VatView], Iterable[Category]]) -> Check:
    """BR-O-11..14: with an O breakdown, no category (VAT scheme) other than O among ``categories``."""

    def check(doc: Doc) -> Iterator[Element]:
        view = vat_view(doc)
        if _has_breakdown(view, "O") and any(c.vat and c.code != "O" for c in categories(view)):
            yield doc.root

    return check


def _written(categories: Iterable[Category], code: str) -> bool:
    """``.../cbc:ID = code``: some category has the code exactly as written."""
    return any(code in c.raw_codes for c in categories)


def split_payment_domestic(doc: Doc) -> Iterator[Element]:
    """BR-B-01: with a split payment category (B) anywhere, every country code in the document is IT."""
    view = vat_view(doc)
    if not (_written(view.tax_categories, "B") or _written(view.classified, "B")):
        return
    codes = doc.root.iter("{" + NS["cbc"] + "}IdentificationCode")
    if any(string_value(code) != "IT" for code in codes):
        yield doc.root


def split_payment_not_standard(doc: Doc) -> Iterator[Element]:
    """BR-B-02: split payment (B) and standard rated (S) are not used in the same document.

    As in the official test, the breakdown, document level allowances/charges and lines are looked at
    for B, while S is looked for on document level allowances/charges and lines only.
    """
    view = vat_view(doc)
    document_postings = [c for ac in view.allowances_charges if ac.document_level for c in ac.categories]
    split = (
        _written(view.breakdown, "B") or _written(document_postings, "B") or _written(view.classified, "B")
    )
    if not split:
        return
    subtotal_ids = (string_value(el) for el in doc.root.iterfind("cac:TaxTotal/cac:TaxSubtotal/cbc:ID", NS))
    if "S" in subtotal_ids or _written(document_postings, "S") or _written(view.classified, "S"):
        yield doc.root


# The rules -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VatRule:
    id: str
    check: Check
    terms: tuple[str, ...]
    message: str


USE = ("BG-25", "BG-20", "BG-21", "BT-151", "BT-95", "BT-102", "BG-23", "BT-118")
LINE_IDS = ("BG-25", "BT-151")
ALLOWANCE_IDS = ("BG-20", "BT-95")
CHARGE_IDS = ("BG-21", "BT-102")
SELLER = ("BT-31", "BT-32", "BT-63")
LINE_RATE = ("BG-25", "BT-151", "BT-152")
ALLOWANCE_RATE = ("BG-20", "BT-95", "BT-96")
CHARGE_RATE = ("BG-21", "BT-102", "BT-103")
TAXABLE = ("BG-23", "BT-118", "BT-116", "BT-131", "BT-92", "BT-99")
TAXABLE_BY_RATE = (*TAXABLE, "BT-119", "BT-152", "BT-96", "BT-103")
TAX_ZERO = ("BG-23", "BT-118", "BT-117")
TAX_AT_RATE = ("BG-23", "BT-118", "BT-117", "BT-116", "BT-119")
EXEMPTION = ("BG-23", "BT-118", "BT-120", "BT-121")

L, A, C = Where.LINE, Where.ALLOWANCE, Where.CHARGE

RULES: tuple[VatRule, ...] = (
    # S: Standard rated. BR-S-01 counts categories of any scheme; BR-S-02 guards on S lines of any scheme.
    VatRule(
        "BR-S-01",
        breakdown_at_least_one("S", uses=any_scheme("S"), present=any_scheme("S"), absent=any_scheme("S")),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'S' (Standard rated) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'S', and a breakdown 'S' needs such a line, allowance or charge.",
    ),
    VatRule(
        "BR-S-02",
        identifiers("S", L, seller_tax_id, guard=any_scheme("S")),
        (*LINE_IDS, *SELLER),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-S-03",
        identifiers("S", A, seller_tax_id),
        (*ALLOWANCE_IDS, *SELLER),
        "A Document level allowance with VAT category code (BT-95) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-S-04",
        identifiers("S", C, seller_tax_id),
        (*CHARGE_IDS, *SELLER),
        "A Document level charge with VAT category code (BT-102) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-S-05",
        rate("S", L, rate_positive),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'S' (Standard rated) must have an Invoiced item VAT rate (BT-152) greater than zero.",
    ),
    VatRule(
        "BR-S-06",
        rate("S", A, rate_positive),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'S' (Standard rated) must have a Document level allowance VAT rate (BT-96) greater than zero.",
    ),
    VatRule(
        "BR-S-07",
        rate("S", C, rate_positive),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'S' (Standard rated) must have a Document level charge VAT rate (BT-103) greater than zero.",
    ),
    VatRule(
        "BR-S-08",
        taxable_per_rate("S", needs_posting=True),
        TAXABLE_BY_RATE,
        "For each VAT category rate (BT-119) of category 'S' (Standard rated), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'S' at that rate (BT-152, BT-96, BT-103).",
    ),
    VatRule(
        "BR-S-09",
        tax_amount_at_rate("S"),
        TAX_AT_RATE,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'S' (Standard rated) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals.",
    ),
    VatRule(
        "BR-S-10",
        exemption_reason("S", required=False),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'S' (Standard rated) must not have a VAT exemption reason text (BT-120) or code (BT-121).",
    ),
    # Z: Zero rated.
    VatRule(
        "BR-Z-01",
        breakdown_exactly_one("Z"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'Z' (Zero rated) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'Z'.",
    ),
    VatRule(
        "BR-Z-02",
        identifiers("Z", L, seller_tax_id),
        (*LINE_IDS, *SELLER),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-Z-03",
        identifiers("Z", A, seller_tax_id),
        (*ALLOWANCE_IDS, *SELLER),
        "A Document level allowance with VAT category code (BT-95) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-Z-04",
        identifiers("Z", C, seller_tax_id),
        (*CHARGE_IDS, *SELLER),
        "A Document level charge with VAT category code (BT-102) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-Z-05",
        rate("Z", L, rate_zero),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'Z' (Zero rated) must have an Invoiced item VAT rate (BT-152) of zero.",
    ),
    VatRule(
        "BR-Z-06",
        rate("Z", A, rate_zero),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'Z' (Zero rated) must have a Document level allowance VAT rate (BT-96) of zero.",
    ),
    VatRule(
        "BR-Z-07",
        rate("Z", C, rate_zero),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'Z' (Zero rated) must have a Document level charge VAT rate (BT-103) of zero.",
    ),
    VatRule(
        "BR-Z-08",
        taxable_exact("Z"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'Z' (Zero rated) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'Z'.",
    ),
    VatRule(
        "BR-Z-09",
        tax_amount_zero("Z"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'Z' (Zero rated) must be zero.",
    ),
    VatRule(
        "BR-Z-10",
        exemption_reason("Z", required=False),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'Z' (Zero rated) must not have a VAT exemption reason text (BT-120) or code (BT-121).",
    ),
    # E: Exempt from VAT.
    VatRule(
        "BR-E-01",
        breakdown_exactly_one("E"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'E' (Exempt from VAT) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'E'.",
    ),
    VatRule(
        "BR-E-02",
        identifiers("E", L, seller_tax_id),
        (*LINE_IDS, *SELLER),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-E-03",
        identifiers("E", A, seller_tax_id),
        (*ALLOWANCE_IDS, *SELLER),
        "A Document level allowance with VAT category code (BT-95) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-E-04",
        identifiers("E", C, seller_tax_id),
        (*CHARGE_IDS, *SELLER),
        "A Document level charge with VAT category code (BT-102) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-E-05",
        rate("E", L, rate_zero),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'E' (Exempt from VAT) must have an Invoiced item VAT rate (BT-152) of zero.",
    ),
    VatRule(
        "BR-E-06",
        rate("E", A, rate_zero),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'E' (Exempt from VAT) must have a Document level allowance VAT rate (BT-96) of zero.",
    ),
    VatRule(
        "BR-E-07",
        rate("E", C, rate_zero),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'E' (Exempt from VAT) must have a Document level charge VAT rate (BT-103) of zero.",
    ),
    VatRule(
        "BR-E-08",
        taxable_exact("E"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'E' (Exempt from VAT) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'E'.",
    ),
    VatRule(
        "BR-E-09",
        tax_amount_zero("E"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'E' (Exempt from VAT) must be zero.",
    ),
    VatRule(
        "BR-E-10",
        exemption_reason("E", required=True),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'E' (Exempt from VAT) must have a VAT exemption reason text (BT-120) or code (BT-121).",
    ),
    # AE: Reverse charge; the buyer must be identified too.
    VatRule(
        "BR-AE-01",
        breakdown_exactly_one("AE"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'AE' (Reverse charge) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'AE'.",
    ),
    VatRule(
        "BR-AE-02",
        identifiers("AE", L, seller_tax_id_and_buyer_id),
        (*LINE_IDS, *SELLER, "BT-48", "BT-47"),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47).",
    ),
    VatRule(
        "BR-AE-03",
        identifiers("AE", A, seller_tax_id_and_buyer_id),
        (*ALLOWANCE_IDS, *SELLER, "BT-48", "BT-47"),
        "A Document level allowance with VAT category code (BT-95) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47).",
    ),
    VatRule(
        "BR-AE-04",
        identifiers("AE", C, seller_tax_id_and_buyer_id),
        (*CHARGE_IDS, *SELLER, "BT-48", "BT-47"),
        "A Document level charge with VAT category code (BT-102) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47).",
    ),
    VatRule(
        "BR-AE-05",
        rate("AE", L, rate_zero),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'AE' (Reverse charge) must have an Invoiced item VAT rate (BT-152) of zero.",
    ),
    VatRule(
        "BR-AE-06",
        rate("AE", A, rate_zero),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'AE' (Reverse charge) must have a Document level allowance VAT rate (BT-96) of zero.",
    ),
    VatRule(
        "BR-AE-07",
        rate("AE", C, rate_zero),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'AE' (Reverse charge) must have a Document level charge VAT rate (BT-103) of zero.",
    ),
    VatRule(
        "BR-AE-08",
        taxable_exact("AE"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'AE' (Reverse charge) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'AE'.",
    ),
    VatRule(
        "BR-AE-09",
        tax_amount_zero("AE"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'AE' (Reverse charge) must be zero.",
    ),
    VatRule(
        "BR-AE-10",
        exemption_reason("AE", required=True),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'AE' (Reverse charge) must have a VAT exemption reason text (BT-120) or code (BT-121) saying reverse charge.",
    ),
    # K: Intra-community supply; seller and buyer VAT identifiers, delivery date and country.
    VatRule(
        "BR-IC-01",
        breakdown_exactly_one("K"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'K' (Intra-community supply) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'K'.",
    ),
    VatRule(
        "BR-IC-02",
        identifiers("K", L, seller_and_buyer_vat_ids),
        (*LINE_IDS, "BT-31", "BT-63", "BT-48"),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-IC-03",
        identifiers("K", A, seller_and_buyer_vat_ids),
        (*ALLOWANCE_IDS, "BT-31", "BT-63", "BT-48"),
        "A Document level allowance with VAT category code (BT-95) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-IC-04",
        identifiers("K", C, seller_and_buyer_vat_ids),
        (*CHARGE_IDS, "BT-31", "BT-63", "BT-48"),
        "A Document level charge with VAT category code (BT-102) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-IC-05",
        rate("K", L, rate_zero),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'K' (Intra-community supply) must have an Invoiced item VAT rate (BT-152) of zero.",
    ),
    VatRule(
        "BR-IC-06",
        rate("K", A, rate_zero),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'K' (Intra-community supply) must have a Document level allowance VAT rate (BT-96) of zero.",
    ),
    VatRule(
        "BR-IC-07",
        rate("K", C, rate_zero),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'K' (Intra-community supply) must have a Document level charge VAT rate (BT-103) of zero.",
    ),
    VatRule(
        "BR-IC-08",
        taxable_exact("K"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'K' (Intra-community supply) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'K'.",
    ),
    VatRule(
        "BR-IC-09",
        tax_amount_zero("K"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'K' (Intra-community supply) must be zero.",
    ),
    VatRule(
        "BR-IC-10",
        exemption_reason("K", required=True),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'K' (Intra-community supply) must have a VAT exemption reason text (BT-120) or code (BT-121) saying intra-community supply.",
    ),
    VatRule(
        "BR-IC-11",
        intra_community_delivery_date,
        ("BG-23", "BT-118", "BT-72", "BG-14"),
        "An Invoice with a VAT breakdown 'K' (Intra-community supply, BT-118) must give the Actual delivery date (BT-72) or the Invoicing period (BG-14).",
    ),
    VatRule(
        "BR-IC-12",
        intra_community_deliver_to_country,
        ("BG-23", "BT-118", "BT-80"),
        "An Invoice with a VAT breakdown 'K' (Intra-community supply, BT-118) must give the Deliver to country code (BT-80).",
    ),
    # G: Export outside the EU. BR-G-03/04 look for the category without the scheme filter first.
    VatRule(
        "BR-G-01",
        breakdown_exactly_one("G"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'G' (Export outside the EU) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'G'.",
    ),
    VatRule(
        "BR-G-02",
        identifiers("G", L, seller_vat_id),
        (*LINE_IDS, "BT-31", "BT-63"),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-G-03",
        identifiers("G", A, seller_vat_id, trigger=any_scheme("G")),
        (*ALLOWANCE_IDS, "BT-31", "BT-63"),
        "A Document level allowance with VAT category code (BT-95) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-G-04",
        identifiers("G", C, seller_vat_id, trigger=any_scheme("G")),
        (*CHARGE_IDS, "BT-31", "BT-63"),
        "A Document level charge with VAT category code (BT-102) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-G-05",
        rate("G", L, rate_zero),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'G' (Export outside the EU) must have an Invoiced item VAT rate (BT-152) of zero.",
    ),
    VatRule(
        "BR-G-06",
        rate("G", A, rate_zero),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'G' (Export outside the EU) must have a Document level allowance VAT rate (BT-96) of zero.",
    ),
    VatRule(
        "BR-G-07",
        rate("G", C, rate_zero),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'G' (Export outside the EU) must have a Document level charge VAT rate (BT-103) of zero.",
    ),
    VatRule(
        "BR-G-08",
        taxable_exact("G"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'G' (Export outside the EU) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'G'.",
    ),
    VatRule(
        "BR-G-09",
        tax_amount_zero("G"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'G' (Export outside the EU) must be zero.",
    ),
    VatRule(
        "BR-G-10",
        exemption_reason("G", required=True),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'G' (Export outside the EU) must have a VAT exemption reason text (BT-120) or code (BT-121) saying export outside the EU.",
    ),
    # O: Not subject to VAT; no VAT identifiers, no rate, and no other category beside it.
    VatRule(
        "BR-O-01",
        breakdown_exactly_one("O"),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'O' (Not subject to VAT) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'O'.",
    ),
    VatRule(
        "BR-O-02",
        identifiers("O", L, no_vat_ids),
        (*LINE_IDS, "BT-31", "BT-63", "BT-48"),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-O-03",
        identifiers("O", A, no_vat_ids, document_level=True),
        (*ALLOWANCE_IDS, "BT-31", "BT-63", "BT-48"),
        "A Document level allowance with VAT category code (BT-95) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-O-04",
        identifiers("O", C, no_vat_ids, document_level=True),
        (*CHARGE_IDS, "BT-31", "BT-63", "BT-48"),
        "A Document level charge with VAT category code (BT-102) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48).",
    ),
    VatRule(
        "BR-O-05",
        rate("O", L, rate_absent),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'O' (Not subject to VAT) must not have an Invoiced item VAT rate (BT-152).",
    ),
    VatRule(
        "BR-O-06",
        rate("O", A, rate_absent),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'O' (Not subject to VAT) must not have a Document level allowance VAT rate (BT-96).",
    ),
    VatRule(
        "BR-O-07",
        rate("O", C, rate_absent),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'O' (Not subject to VAT) must not have a Document level charge VAT rate (BT-103).",
    ),
    VatRule(
        "BR-O-08",
        taxable_exact("O"),
        TAXABLE,
        "The VAT category taxable amount (BT-116) of a VAT breakdown 'O' (Not subject to VAT) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'O'.",
    ),
    VatRule(
        "BR-O-09",
        tax_amount_zero("O"),
        TAX_ZERO,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'O' (Not subject to VAT) must be zero.",
    ),
    VatRule(
        "BR-O-10",
        exemption_reason("O", required=True),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'O' (Not subject to VAT) must have a VAT exemption reason text (BT-120) or code (BT-121) saying not subject to VAT.",
    ),
    VatRule(
        "BR-O-11",
        not_subject_alone(lambda v: v.breakdown),
        ("BG-23", "BT-118"),
        "An Invoice with a VAT breakdown (BG-23) 'O' (Not subject to VAT, BT-118) must not have a VAT breakdown of any other category.",
    ),
    VatRule(
        "BR-O-12",
        not_subject_alone(lambda v: v.classified),
        ("BG-23", "BT-118", "BG-25", "BT-151"),
        "An Invoice with a VAT breakdown 'O' (Not subject to VAT, BT-118) must not have an Invoice line (BG-25) whose Invoiced item VAT category code (BT-151) is not 'O'.",
    ),
    VatRule(
        "BR-O-13",
        not_subject_alone(lambda v: v.allowance_categories(charge=False)),
        ("BG-23", "BT-118", "BG-20", "BT-95"),
        "An Invoice with a VAT breakdown 'O' (Not subject to VAT, BT-118) must not have a Document level allowance (BG-20) whose VAT category code (BT-95) is not 'O'.",
    ),
    VatRule(
        "BR-O-14",
        not_subject_alone(lambda v: v.allowance_categories(charge=True)),
        ("BG-23", "BT-118", "BG-21", "BT-102"),
        "An Invoice with a VAT breakdown 'O' (Not subject to VAT, BT-118) must not have a Document level charge (BG-21) whose VAT category code (BT-102) is not 'O'.",
    ),
    # L: IGIC (Canary Islands), rated like S but a zero rate is allowed. CEN unit files: BR-IG-*.
    VatRule(
        "BR-AF-01",
        breakdown_at_least_one("L", uses=vat("L"), present=lambda c: "L" in c.raw_codes, absent=vat("L")),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'L' (IGIC) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'L', and a breakdown 'L' needs such a line, allowance or charge.",
    ),
    VatRule(
        "BR-AF-02",
        identifiers("L", L, seller_tax_id),
        (*LINE_IDS, *SELLER),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AF-03",
        identifiers("L", A, seller_tax_id),
        (*ALLOWANCE_IDS, *SELLER),
        "A Document level allowance with VAT category code (BT-95) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AF-04",
        identifiers("L", C, seller_tax_id, guard=vat_as_written("L")),
        (*CHARGE_IDS, *SELLER),
        "A Document level charge with VAT category code (BT-102) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AF-05",
        rate("L", L, rate_not_negative),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'L' (IGIC) must have an Invoiced item VAT rate (BT-152) of zero or more.",
    ),
    VatRule(
        "BR-AF-06",
        rate("L", A, rate_not_negative),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'L' (IGIC) must have a Document level allowance VAT rate (BT-96) of zero or more.",
    ),
    VatRule(
        "BR-AF-07",
        rate("L", C, rate_not_negative),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'L' (IGIC) must have a Document level charge VAT rate (BT-103) of zero or more.",
    ),
    VatRule(
        "BR-AF-08",
        taxable_per_rate("L", needs_posting=False),
        TAXABLE_BY_RATE,
        "For each VAT category rate (BT-119) of category 'L' (IGIC), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'L' at that rate (BT-152, BT-96, BT-103).",
    ),
    VatRule(
        "BR-AF-09",
        tax_amount_at_rate("L"),
        TAX_AT_RATE,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'L' (IGIC) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals.",
    ),
    VatRule(
        "BR-AF-10",
        exemption_reason("L", required=False),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'L' (IGIC) must not have a VAT exemption reason text (BT-120) or code (BT-121).",
    ),
    # M: IPSI (Ceuta and Melilla), as L. CEN unit files: BR-IP-*.
    VatRule(
        "BR-AG-01",
        breakdown_at_least_one("M", uses=vat("M"), present=vat_as_written("M"), absent=vat("M")),
        USE,
        "A line, allowance or charge with VAT category code (BT-151, BT-95, BT-102) 'M' (IPSI) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'M', and a breakdown 'M' needs such a line, allowance or charge.",
    ),
    VatRule(
        "BR-AG-02",
        identifiers("M", L, seller_tax_id),
        (*LINE_IDS, *SELLER),
        "An Invoice line with Invoiced item VAT category code (BT-151) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AG-03",
        identifiers("M", A, seller_tax_id),
        (*ALLOWANCE_IDS, *SELLER),
        "A Document level allowance with VAT category code (BT-95) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AG-04",
        identifiers("M", C, seller_tax_id),
        (*CHARGE_IDS, *SELLER),
        "A Document level charge with VAT category code (BT-102) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63).",
    ),
    VatRule(
        "BR-AG-05",
        rate("M", L, rate_not_negative),
        LINE_RATE,
        "An Invoice line with Invoiced item VAT category code (BT-151) 'M' (IPSI) must have an Invoiced item VAT rate (BT-152) of zero or more.",
    ),
    VatRule(
        "BR-AG-06",
        rate("M", A, rate_not_negative),
        ALLOWANCE_RATE,
        "A Document level allowance with VAT category code (BT-95) 'M' (IPSI) must have a Document level allowance VAT rate (BT-96) of zero or more.",
    ),
    VatRule(
        "BR-AG-07",
        rate("M", C, rate_not_negative),
        CHARGE_RATE,
        "A Document level charge with VAT category code (BT-102) 'M' (IPSI) must have a Document level charge VAT rate (BT-103) of zero or more.",
    ),
    VatRule(
        "BR-AG-08",
        taxable_per_rate("M", needs_posting=False),
        TAXABLE_BY_RATE,
        "For each VAT category rate (BT-119) of category 'M' (IPSI), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'M' at that rate (BT-152, BT-96, BT-103).",
    ),
    VatRule(
        "BR-AG-09",
        tax_amount_at_rate("M"),
        TAX_AT_RATE,
        "The VAT category tax amount (BT-117) of a VAT breakdown 'M' (IPSI) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals.",
    ),
    VatRule(
        "BR-AG-10",
        exemption_reason("M", required=False),
        EXEMPTION,
        "A VAT breakdown with VAT category code (BT-118) 'M' (IPSI) must not have a VAT exemption reason text (BT-120) or code (BT-121).",
    ),
    # B: Split payment (Italy).
    VatRule(
        "BR-B-01",
        split_payment_domestic,
        ("BT-151", "BT-95", "BT-102", "BT-40", "BT-55"),
        "An Invoice with VAT category code (BT-151, BT-95, BT-102) 'B' (Split payment) must be a domestic Italian invoice: every country code (e.g. BT-40, BT-55) must be IT.",
    ),
    VatRule(
        "BR-B-02",
        split_payment_not_standard,
        ("BG-25", "BG-20", "BG-21", "BT-151", "BT-95", "BT-102"),
        "An Invoice with a line, allowance or charge of VAT category code (BT-151, BT-95, BT-102) 'B' (Split payment) must not have one of category 'S' (Standard rated).",
    ),
)

for _vat_rule in RULES:
    rule(_vat_rule.id, terms=_vat_rule.terms, message=_vat_rule.message)(_vat_rule.check)
