"""The shapes of the VAT category rules (BR-S, BR-Z, BR-E, BR-AE, BR-IC, BR-G, BR-O, BR-AF, BR-AG, BR-B).

Each function here builds the check of one shape for one VAT category code (UNCL 5305); the table in
:mod:`vat` applies them rule by rule. The shapes follow the UBL binding of the CEN/TC 434 artefacts
(release 1.3.16) closely, including where one family's test differs from the others' (which elements
are counted, whether the VAT scheme filter applies, exact or tolerant comparison), because Tessera
must give the same verdict as the official validator. Each check yields the official context element:
the document root for -01..-04, the category element of the line, allowance or charge for -05..-07,
and the ``cac:TaxCategory`` of the VAT breakdown for -08..-10.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from enum import Enum

from services.invoicing.validation.rules.base import NS, Element
from services.invoicing.validation.rules.vat_view import (
    Breakdown,
    Category,
    Posting,
    VatView,
    double_bounds,
    round_cents,
    string_value,
    xs_number,
)

VatCheck = Callable[[VatView], Iterable[Element]]  # yields the elements where the rule is broken
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


def as_written(code: str) -> Matcher:
    """``[cbc:ID = code]``: the code compared without normalising spaces, without the VAT scheme filter."""
    return lambda c: code in c.raw_codes


def vat_as_written(code: str) -> Matcher:
    """``[cbc:ID = code][cac:TaxScheme/cbc:ID = 'VAT']``: the code compared without normalising spaces."""
    return lambda c: c.vat and code in c.raw_codes


def _categories(view: VatView, where: Where, *, document_level: bool = False) -> Iterable[Category]:
    """Where the -02..-04 rules look: ``//cac:ClassifiedTaxCategory``, ``//cac:AllowanceCharge[...]/cac:TaxCategory``."""
    if where is Where.LINE:
        return view.classified
    return view.allowance_categories(charge=where is Where.CHARGE, document_level=document_level)


# -01: a category in use needs its VAT breakdown -------------------------------------------------


def breakdown_exactly_one(code: str) -> VatCheck:
    """Categories without a rate: exactly one breakdown of ``code`` once any tax category names it.

    The official test looks for the code in every ``cac:TaxCategory`` (the breakdown's own included)
    and every ``cac:ClassifiedTaxCategory``, with the VAT scheme filter.
    """

    def check(view: VatView) -> Iterator[Element]:
        used = any(c.vat and code in c.codes for c in view.tax_categories) or any(
            c.vat and code in c.codes for c in view.classified
        )
        if used and sum(b.category.codes.count(code) for b in view.breakdowns if b.category.vat) != 1:
            yield view.root

    return check


def breakdown_at_least_one(code: str, *, uses: Matcher, present: Matcher, absent: Matcher) -> VatCheck:
    """Categories with rates: one breakdown or more of ``code`` if and only if lines or allowances use it.

    ``uses`` selects the line and allowance/charge categories counted as uses; ``present`` and
    ``absent`` select the breakdowns counted when the code is used and when it is not (the official
    tests differ slightly per family here).
    """

    def check(view: VatView) -> Iterator[Element]:
        used = any(uses(c) for c in view.every_allowance_category()) or any(uses(c) for c in view.classified)
        breakdowns = view.breakdown_categories
        broken = not any(map(present, breakdowns)) if used else any(map(absent, breakdowns))
        if broken:
            yield view.root

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
) -> VatCheck:
    """Broken when a ``guard`` category exists and not both a ``trigger`` category and ``requirement``.

    The official test reads ``(exists(trigger) and requirement) or not(exists(guard))``; both are the
    category with the VAT scheme filter unless a family's test says otherwise.
    """
    trigger = trigger or vat(code)
    guard = guard or vat(code)

    def check(view: VatView) -> Iterator[Element]:
        categories = tuple(_categories(view, where, document_level=document_level))
        if not any(guard(c) for c in categories):
            return
        if not (any(trigger(c) for c in categories) and requirement(view)):
            yield view.root

    return check


# -05..-07: the VAT rate of lines, allowances and charges of the category -------------------------


def rate_positive(c: Category) -> bool:
    """``(cbc:Percent) > 0`` (S): compared as a number."""
    return any((p := xs_number(value)) is not None and p > 0 for value in c.percents)


def rate_not_negative(c: Category) -> bool:
    """``(cbc:Percent) >= 0`` (L, M): compared as a number."""
    return any((p := xs_number(value)) is not None and p >= 0 for value in c.percents)


def rate_zero(c: Category) -> bool:
    """``xs:decimal(cbc:Percent) = 0`` (Z, E, AE, K, G)."""
    return any(p is not None and p == 0 for p in c.rates)


def rate_absent(c: Category) -> bool:
    """``not(cbc:Percent)`` (O): no rate at all."""
    return not c.percents


def rate(code: str, where: Where, allowed: Matcher) -> VatCheck:
    """Each line, allowance or charge category ``code`` (VAT scheme) whose rate is not ``allowed``."""
    selected = vat(code)

    def check(view: VatView) -> Iterator[Element]:
        categories = view.line_categories if where is Where.LINE else _categories(view, where)
        for c in categories:
            if selected(c) and not allowed(c):
                yield c.el

    return check


# -08: the taxable amount of the breakdown ----------------------------------------------------------


def _sum(postings: Iterable[Posting]) -> Decimal | None:
    """``sum(.../xs:decimal(...))``: absent amounts add nothing; None when one is not a decimal."""
    total = Decimal(0)
    for posting in postings:
        if posting.invalid:
            return None
        if posting.value is not None:
            total += posting.value
    return total


def _basis(view: VatView, code: str, rate_value: Decimal | None, *, credit_note: bool) -> Decimal | None:
    """Lines (Invoice or Credit note) - document level allowances + document level charges of the category.

    None when an amount is not a decimal (the official validator cannot evaluate the rule then).
    """
    net = _sum(ln for ln in view.lines if ln.credit_note is credit_note and ln.matches(code, rate_value))
    postings = [ac for ac in view.allowances_charges if ac.document_level and ac.matches(code, rate_value)]
    charges = _sum(ac for ac in postings if ac.charge is True)
    allowances = _sum(ac for ac in postings if ac.charge is False)
    if net is None or charges is None or allowances is None:
        return None
    return net + charges - allowances


def _document_kinds(view: VatView) -> Iterator[bool]:
    """The line kinds the official tests sum: Invoice lines if present, Credit note lines if present."""
    if view.has_invoice_lines:
        yield False
    if view.has_credit_note_lines:
        yield True


def taxable_exact(code: str) -> VatCheck:
    """BT-116 equals lines - allowances + charges of ``code``, exactly (categories without a rate).

    Lines and document level allowances/charges are matched on the code alone, without the scheme filter.
    """
    selected = vat(code)

    def check(view: VatView) -> Iterator[Element]:
        for breakdown in view.breakdowns:
            if not selected(breakdown.category):
                continue
            bases = [_basis(view, code, None, credit_note=kind) for kind in _document_kinds(view)]
            if not any(b is not None and b in breakdown.taxable for b in bases):
                yield breakdown.category.el

    return check


def _within_one(amounts: list[Decimal | None], expected: Decimal) -> bool:
    """``amount - 1 < expected < amount + 1``: the official tolerance of one currency unit."""
    return any(a is not None and a - 1 < expected < a + 1 for a in amounts)


def _within_official_tolerance(taxable: list[str], expected: Decimal) -> bool:
    """``xs:decimal(TaxableAmount - 1) < expected < xs:decimal(TaxableAmount + 1)`` (see :func:`double_bounds`)."""
    for text in taxable:
        bounds = double_bounds(text)
        if bounds is not None and bounds[0] < expected < bounds[1]:
            return True
    return False


def taxable_per_rate(code: str, *, needs_posting: bool) -> VatCheck:
    """For each rate (BT-119) of the breakdown, BT-116 is lines - allowances + charges of ``code`` at that rate.

    Within one currency unit. With ``needs_posting`` (S) a line, allowance or charge of the code and
    rate must also exist; a breakdown without a rate is not checked (``every $rate in ()`` holds).
    """
    selected = vat(code)

    def posted(view: VatView, rate_value: Decimal, credit_note: bool) -> bool:
        return any(
            ln.credit_note is credit_note and ln.matches(code, rate_value) for ln in view.lines
        ) or any(ac.matches(code, rate_value) for ac in view.allowances_charges)

    def agrees(view: VatView, breakdown: Breakdown, rate_value: Decimal) -> bool:
        # With needs_posting the official test asks for a posting of the rate rather than for lines.
        for kind in (False, True) if needs_posting else _document_kinds(view):
            if needs_posting and not posted(view, rate_value, kind):
                continue
            basis = _basis(view, code, rate_value, credit_note=kind)
            if basis is not None and _within_official_tolerance(breakdown.taxable_text, basis):
                return True
        return False

    def check(view: VatView) -> Iterator[Element]:
        for breakdown in view.breakdowns:
            category = breakdown.category
            if selected(category) and not all(
                r is not None and agrees(view, breakdown, r) for r in category.rates
            ):
                yield category.el

    return check


# -09: the VAT amount of the breakdown ------------------------------------------------------------


def tax_amount_zero(code: str) -> VatCheck:
    """BT-117 of a breakdown of ``code`` is zero."""
    selected = vat(code)

    def check(view: VatView) -> Iterator[Element]:
        for breakdown in view.breakdowns:
            if selected(breakdown.category) and not any(a is not None and a == 0 for a in breakdown.tax):
                yield breakdown.category.el

    return check


def tax_amount_at_rate(code: str) -> VatCheck:
    """|BT-117| is within one unit of round(|BT-116| x BT-119 / 100, 2) for a breakdown of ``code``."""
    selected = vat(code)

    def agrees(breakdown: Breakdown) -> bool:
        rates, taxable = breakdown.category.rates, breakdown.taxable
        if len(rates) != 1 or len(taxable) != 1 or rates[0] is None or taxable[0] is None:
            return False
        expected = round_cents(abs(taxable[0]) * (rates[0] / 100))
        return _within_one([abs(t) if t is not None else None for t in breakdown.tax], expected)

    def check(view: VatView) -> Iterator[Element]:
        for breakdown in view.breakdowns:
            if selected(breakdown.category) and not agrees(breakdown):
                yield breakdown.category.el

    return check


# -10: the VAT exemption reason of the breakdown ---------------------------------------------------


def exemption_reason(code: str, *, required: bool) -> VatCheck:
    """A breakdown of ``code`` has an exemption reason (BT-120/BT-121) when ``required``, none otherwise."""
    selected = vat(code)

    def check(view: VatView) -> Iterator[Element]:
        for category in view.breakdown_categories:
            if selected(category) and category.exemption_reason is not required:
                yield category.el

    return check


# Rules particular to one family ----------------------------------------------------------------


def _has_breakdown(view: VatView, code: str) -> bool:
    """``exists(cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[VAT scheme]/cbc:ID[normalize-space(.) = code])``."""
    return any(c.vat and code in c.codes for c in view.breakdown_categories)


def intra_community_delivery_date(view: VatView) -> Iterator[Element]:
    """BR-IC-11: with a K breakdown, the Actual delivery date (BT-72) or an Invoicing period (BG-14)."""
    if not _has_breakdown(view, "K"):
        return
    date = view.root.find("cac:Delivery/cbc:ActualDeliveryDate", NS)
    period = view.root.find("cac:InvoicePeriod/*", NS)
    if not ((date is not None and len(string_value(date)) > 1) or period is not None):
        yield view.root


def intra_community_deliver_to_country(view: VatView) -> Iterator[Element]:
    """BR-IC-12: with a K breakdown, the Deliver to country code (BT-80) of at least two characters."""
    if not _has_breakdown(view, "K"):
        return
    country = view.root.find(
        "cac:Delivery/cac:DeliveryLocation/cac:Address/cac:Country/cbc:IdentificationCode", NS
    )
    if country is None or len(string_value(country)) <= 1:
        yield view.root


def not_subject_alone(categories: Callable[[VatView], Iterable[Category]]) -> VatCheck:
    """BR-O-11..14: with an O breakdown, no category (VAT scheme) other than O among ``categories``."""

    def check(view: VatView) -> Iterator[Element]:
        if _has_breakdown(view, "O") and any(c.vat and c.code != "O" for c in categories(view)):
            yield view.root

    return check


def _written(categories: Iterable[Category], code: str) -> bool:
    """``.../cbc:ID = code``: some category has the code exactly as written."""
    return any(code in c.raw_codes for c in categories)


def split_payment_domestic(view: VatView) -> Iterator[Element]:
    """BR-B-01: with a split payment category (B) anywhere, every country code in the document is IT."""
    if not (_written(view.tax_categories, "B") or _written(view.classified, "B")):
        return
    codes = view.root.iter("{" + NS["cbc"] + "}IdentificationCode")
    if any(string_value(code) != "IT" for code in codes):
        yield view.root


def split_payment_not_standard(view: VatView) -> Iterator[Element]:
    """BR-B-02: split payment (B) and standard rated (S) are not used in the same document.

    As in the official test, the breakdown, document level allowances/charges and lines are looked at
    for B, while S is looked for on document level allowances/charges and lines only.
    """
    document_postings = [c for ac in view.allowances_charges if ac.document_level for c in ac.categories]
    breakdowns = view.breakdown_categories
    split = _written(breakdowns, "B") or _written(document_postings, "B") or _written(view.classified, "B")
    if not split:
        return
    subtotal_ids = (string_value(el) for el in view.root.iterfind("cac:TaxTotal/cac:TaxSubtotal/cbc:ID", NS))
    if "S" in subtotal_ids or _written(document_postings, "S") or _written(view.classified, "S"):
        yield view.root
