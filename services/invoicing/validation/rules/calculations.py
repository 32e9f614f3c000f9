"""EN 16931 conditions and calculations BR-CO-03 .. BR-CO-26 (UBL binding, CEN/TC 434 artefacts 1.3.16).

Sums are compared after rounding to two decimals as the official assertions do,
``round(x * 10 * 10) div 100`` with XPath 2.0 ``round`` (halves go towards positive infinity),
in exact decimal arithmetic. Only BR-CO-17 allows a tolerance: the VAT category tax amount may
differ from the computed one by less than 1 (a whole currency unit), as in the official rule.

A missing amount makes a comparison false (the empty sequence equals nothing), so an
equation rule fires when a term it needs is absent; an amount that is not a number fails
the rule too (fail closed). Lines are ``cac:InvoiceLine`` or ``cac:CreditNoteLine``; the tax
totals are those of ``/ubl:Invoice`` or ``/cn:CreditNote``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal

from services.invoicing.validation.rules._amounts import (
    add,
    all_lines,
    contexts,
    document_allowances,
    document_charges,
    document_periods,
    failing,
    line_allowances,
    line_charges,
    line_periods,
    multiply,
    parse,
    percent,
    root,
    round2,
    rounds_to_zero,
    string_value,
    subtract,
    total,
    vat_breakdowns,
)
from services.invoicing.validation.rules.base import Doc, Element, each, rule
from services.invoicing.validation.rules.vat_view import vat_view

ONE = Decimal(1)  # BR-CO-17 tolerates a VAT category tax amount within one currency unit


def _without_any(doc: Doc, elements: Iterable[Element], *paths: str) -> Iterator[Element]:
    """The elements with none of ``paths``: ``exists(a) or exists(b) ...`` is false."""
    return iter(doc.tree.missing(elements, *paths))


# ---- the Invoice ----


@rule(
    "BR-CO-03",
    needs="cbc:TaxPointDate",
    terms=("BT-7", "BT-8"),
    message="The Value added tax point date (BT-7) and the Value added tax point date code (BT-8) "
    "must not both be given.",
)
def tax_point_date_or_code(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return each(
        root(doc),
        lambda inv: t.has(inv, "cbc:TaxPointDate") and t.has(inv, "cac:InvoicePeriod/cbc:DescriptionCode"),
    )


@rule("BR-CO-18", terms=("BG-23",), message="An Invoice must have at least one VAT breakdown (BG-23).")
def at_least_one_breakdown(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, root(doc), "cac:TaxTotal/cac:TaxSubtotal")


@rule(
    "BR-CO-15",
    terms=("BT-112", "BT-109", "BT-110"),
    message="The Invoice total amount with VAT (BT-112) must equal the Invoice total amount without VAT "
    "(BT-109) plus the Invoice total VAT amount (BT-110), given exactly once in the Invoice currency (BT-5).",
)
def total_with_vat(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(inv: Element) -> bool:
        for currency in t.all(inv, "cbc:DocumentCurrencyCode"):
            code = string_value(currency)
            vat_totals = [
                parse(string_value(vat))
                for vat in t.all(inv, "cac:TaxTotal/cbc:TaxAmount")
                if vat.get("currencyID") == code
            ]
            if len(vat_totals) != 1:
                return False
            with_vat = t.amount(inv, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount")
            without_vat = t.amount(inv, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")
            if with_vat is None or without_vat is None or with_vat != round2(add(without_vat, vat_totals[0])):
                return False
        return True

    return failing(root(doc), holds)


# ---- Seller (BG-4) and VAT identifiers ----

# ISO 3166-1 alpha-2 codes, with EL for Greece, 1A (Kosovo) and XI (Northern Ireland), as the
# official BR-CO-09 lists them. The official test looks the identifier's first two characters up
# in this space-separated list with contains(), and so do we.
VAT_PREFIXES = (
    " 1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
    "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK "
    "DM DO DZ EC EE EG EH EL ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ "
    "GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI "
    "KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO "
    "MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK "
    "PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS "
    "ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE "
    "VG VI VN VU WF WS XI YE YT ZA ZM ZW "
)


@rule(
    "BR-CO-09",
    needs="cac:PartyTaxScheme",
    terms=("BT-31", "BT-63", "BT-48"),
    message="A VAT identifier (BT-31, BT-63, BT-48) must start with the ISO 3166-1 alpha-2 code of the "
    "issuing country (EL for Greece).",
)
def vat_identifier_prefix(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    schemes = (scheme for scheme in contexts(doc, "PartyTaxScheme") if t.is_vat(scheme))
    return failing(
        schemes, lambda scheme: string_value(t.single(scheme, "cbc:CompanyID"))[:2] in VAT_PREFIXES
    )


@rule(
    "BR-CO-26",
    terms=("BT-29", "BT-30", "BT-31"),
    message="So that the Buyer can identify the Seller, the Seller identifier (BT-29), the Seller legal "
    "registration identifier (BT-30) or the Seller VAT identifier (BT-31) must be present.",
)
def seller_identified(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(supplier: Element) -> bool:
        return (
            any(
                t.has(scheme, "cbc:CompanyID")
                for scheme in t.vat_categories(supplier, "cac:Party/cac:PartyTaxScheme")
            )
            or t.has(supplier, "cac:Party/cac:PartyIdentification/cbc:ID")
            or t.has(supplier, "cac:Party/cac:PartyLegalEntity/cbc:CompanyID")
        )

    return each(contexts(doc, "AccountingSupplierParty"), lambda supplier: not holds(supplier))


# ---- Invoice line (BG-25) ----


@rule(
    "BR-CO-04",
    terms=("BG-25", "BT-151"),
    message="Each Invoice line (BG-25) must be categorized with an Invoiced item VAT category code (BT-151).",
)
def line_vat_category(doc: Doc) -> Iterator[Element]:
    # cac:Item/cac:ClassifiedTaxCategory[cac:TaxScheme/normalize-space(upper-case(cbc:ID)) = 'VAT']/cbc:ID,
    # read for every line at once by the VAT view (one set lookup per line here).
    categorized = vat_view(doc).vat_categorized
    return each(all_lines(doc), lambda line: line not in categorized)


# ---- Invoicing period (BG-14) and Invoice line period (BG-26) ----


@rule(
    "BR-CO-19",
    needs="cac:InvoicePeriod",
    terms=("BG-14", "BT-73", "BT-74", "BT-8"),
    message="An Invoicing period (BG-14) must give its start date (BT-73), its end date (BT-74), or both; "
    "a Value added tax point date code (BT-8) alone is also accepted.",
)
def invoicing_period_filled(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, document_periods(doc), "cbc:StartDate", "cbc:EndDate", "cbc:DescriptionCode")


@rule(
    "BR-CO-20",
    needs="cac:InvoicePeriod",
    terms=("BG-26", "BT-134", "BT-135"),
    message="An Invoice line period (BG-26) must give its start date (BT-134), its end date (BT-135), or both.",
)
def line_period_filled(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, line_periods(doc), "cbc:StartDate", "cbc:EndDate")


# ---- Allowances and charges (BG-20, BG-21, BG-27, BG-28) ----

REASON = ("cbc:AllowanceChargeReason", "cbc:AllowanceChargeReasonCode")


def _consistent_reason(_: Doc) -> Iterator[Element]:
    # EN 16931 asks that a reason code and a reason text agree, but no machine test exists for it:
    # the official artefacts assert true() for BR-CO-05..08, so these rules never fire.
    return iter(())


rule(
    "BR-CO-05",
    terms=("BT-97", "BT-98"),
    message="The Document level allowance reason code (BT-98) and reason (BT-97) must indicate the same allowance.",
)(_consistent_reason)
rule(
    "BR-CO-06",
    terms=("BT-104", "BT-105"),
    message="The Document level charge reason code (BT-105) and reason (BT-104) must indicate the same charge.",
)(_consistent_reason)
rule(
    "BR-CO-07",
    terms=("BT-139", "BT-140"),
    message="The Invoice line allowance reason code (BT-140) and reason (BT-139) must indicate the same allowance.",
)(_consistent_reason)
rule(
    "BR-CO-08",
    terms=("BT-144", "BT-145"),
    message="The Invoice line charge reason code (BT-145) and reason (BT-144) must indicate the same charge.",
)(_consistent_reason)


@rule(
    "BR-CO-21",
    needs="cac:AllowanceCharge",
    terms=("BG-20", "BT-97", "BT-98"),
    message="Each Document level allowance (BG-20) must contain a reason (BT-97), a reason code (BT-98), or both.",
)
def document_allowance_reason_given(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, document_allowances(doc), *REASON)


@rule(
    "BR-CO-22",
    needs="cac:AllowanceCharge",
    terms=("BG-21", "BT-104", "BT-105"),
    message="Each Document level charge (BG-21) must contain a reason (BT-104), a reason code (BT-105), or both.",
)
def document_charge_reason_given(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, document_charges(doc), *REASON)


@rule(
    "BR-CO-23",
    needs="cac:AllowanceCharge",
    terms=("BG-27", "BT-139", "BT-140"),
    message="Each Invoice line allowance (BG-27) must contain a reason (BT-139), a reason code (BT-140), or both.",
)
def line_allowance_reason_given(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, line_allowances(doc), *REASON)


@rule(
    "BR-CO-24",
    needs="cac:AllowanceCharge",
    terms=("BG-28", "BT-144", "BT-145"),
    message="Each Invoice line charge (BG-28) must contain a reason (BT-144), a reason code (BT-145), or both.",
)
def line_charge_reason_given(doc: Doc) -> Iterator[Element]:
    return _without_any(doc, line_charges(doc), *REASON)


# ---- Document totals (BG-22) ----


@rule(
    "BR-CO-10",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-106", "BT-131"),
    message="The Sum of Invoice line net amount (BT-106) must equal the sum of every Invoice line net amount (BT-131).",
)
def sum_of_line_net_amounts(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(totals: Element) -> bool:
        stated = t.amount(totals, "cbc:LineExtensionAmount")
        return stated is not None and stated == round2(
            total(t.amounts(all_lines(doc), "cbc:LineExtensionAmount"))
        )

    return failing(contexts(doc, "LegalMonetaryTotal"), holds)


def _sum_of_beside(doc: Doc, path: str, *, charge: bool) -> Iterator[Element]:
    """``xs:decimal(path) = round2(sum(../cac:AllowanceCharge[cbc:ChargeIndicator = charge]/cbc:Amount))
    or (not(path) and not(../cac:AllowanceCharge[...]))``, on every ``cac:LegalMonetaryTotal``."""
    t = doc.tree

    def holds(totals: Element) -> bool:
        parent = totals.getparent()
        items = [] if parent is None else t.allowances_and_charges(parent, charge=charge)
        stated = t.amount(totals, path)
        if stated is None:
            return not items
        return stated == round2(total(t.amounts(items, "cbc:Amount")))

    return failing(contexts(doc, "LegalMonetaryTotal"), holds)


@rule(
    "BR-CO-11",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-107", "BT-92"),
    message="The Sum of allowances on document level (BT-107) must equal the sum of every Document level "
    "allowance amount (BT-92).",
)
def sum_of_allowances(doc: Doc) -> Iterator[Element]:
    return _sum_of_beside(doc, "cbc:AllowanceTotalAmount", charge=False)


@rule(
    "BR-CO-12",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-108", "BT-99"),
    message="The Sum of charges on document level (BT-108) must equal the sum of every Document level charge "
    "amount (BT-99).",
)
def sum_of_charges(doc: Doc) -> Iterator[Element]:
    return _sum_of_beside(doc, "cbc:ChargeTotalAmount", charge=True)


@rule(
    "BR-CO-13",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-109", "BT-106", "BT-107", "BT-108"),
    message="The Invoice total amount without VAT (BT-109) must equal the Sum of Invoice line net amount "
    "(BT-106) minus the Sum of allowances (BT-107) plus the Sum of charges (BT-108) on document level.",
)
def total_without_vat(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(totals: Element) -> bool:
        without_vat = t.amount(totals, "cbc:TaxExclusiveAmount")
        lines = t.amount(totals, "cbc:LineExtensionAmount")
        if without_vat is None or lines is None:
            return False
        charges = t.amount(totals, "cbc:ChargeTotalAmount")
        allowances = t.amount(totals, "cbc:AllowanceTotalAmount")
        if charges is None and allowances is None:
            return without_vat == lines  # compared as given, without rounding
        expected = lines
        if charges is not None:
            expected = add(expected, charges)
        if allowances is not None:
            expected = subtract(expected, allowances)
        return without_vat == round2(expected)

    return failing(contexts(doc, "LegalMonetaryTotal"), holds)


@rule(
    "BR-CO-16",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-115", "BT-112", "BT-113", "BT-114"),
    message="The Amount due for payment (BT-115) must equal the Invoice total amount with VAT (BT-112) minus "
    "the Paid amount (BT-113) plus the Rounding amount (BT-114).",
)
def amount_due(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(totals: Element) -> bool:
        due = t.amount(totals, "cbc:PayableAmount")
        with_vat = t.amount(totals, "cbc:TaxInclusiveAmount")
        if due is None or with_vat is None:
            return False
        paid, rounding = t.amount(totals, "cbc:PrepaidAmount"), t.amount(totals, "cbc:PayableRoundingAmount")
        expected = with_vat if paid is None else round2(subtract(with_vat, paid))
        if rounding is None:
            return due == expected
        return round2(subtract(due, rounding)) == expected

    return failing(contexts(doc, "LegalMonetaryTotal"), holds)


# ---- VAT totals (BT-110) and VAT breakdown (BG-23) ----


@rule(
    "BR-CO-14",
    needs="cac:TaxTotal",
    terms=("BT-110", "BT-117"),
    message="The Invoice total VAT amount (BT-110) must equal the sum of every VAT category tax amount (BT-117).",
)
def total_vat(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(tax_total: Element) -> bool:
        subtotals = t.all(tax_total, "cac:TaxSubtotal")
        if not subtotals:
            return True
        stated = t.amount(tax_total, "cbc:TaxAmount")
        return stated is not None and stated == round2(total(t.amounts(subtotals, "cbc:TaxAmount")))

    return failing([tax_total for inv in root(doc) for tax_total in t.all(inv, "cac:TaxTotal")], holds)


@rule(
    "BR-CO-17",
    needs="cac:TaxSubtotal",
    terms=("BT-117", "BT-116", "BT-119"),
    message="The VAT category tax amount (BT-117) must equal the VAT category taxable amount (BT-116) times "
    "the VAT category rate (BT-119) / 100, rounded to two decimals (a difference under 1 is tolerated).",
)
def breakdown_tax_amount(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(subtotal: Element) -> bool:
        rates = list(t.amounts(t.vat_categories(subtotal), "cbc:Percent"))
        tax = t.amount(subtotal, "cbc:TaxAmount")
        if tax is None:
            return False
        if not rates:
            return rounds_to_zero(tax)
        if len(rates) > 1:  # round() of several rates is an error in the official check
            return False
        rate = rates[0]
        if rounds_to_zero(rate):
            return rounds_to_zero(tax)
        taxable = t.amount(subtotal, "cbc:TaxableAmount")
        if taxable is None:
            return False
        expected = round2(multiply(abs(taxable), percent(rate)))
        return subtract(abs(tax), ONE) < expected < add(abs(tax), ONE)

    return failing(vat_breakdowns(doc), holds)
