"""EN 16931 core business rules BR-01 .. BR-65 (UBL binding, CEN/TC 434 artefacts 1.3.16).

Grouped by the element each rule is checked on (its Schematron context), in the order of the
standard's model. Where the official assertion compares strings with ``normalize-space(x) != ''``
a value of only spaces is missing; where it only asks ``exists(x)`` an empty element is present.
Lines are ``cac:InvoiceLine`` or ``cac:CreditNoteLine``, quantities ``cbc:InvoicedQuantity`` or
``cbc:CreditedQuantity``, type codes ``cbc:InvoiceTypeCode`` or ``cbc:CreditNoteTypeCode``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from services.invoicing.validation.rules._amounts import (
    XML_WHITESPACE,
    Tree,
    Unreadable,
    absent,
    all_lines,
    contexts,
    document_allowances,
    document_charges,
    document_periods,
    failing,
    line_allowances,
    line_charges,
    line_periods,
    normalize_space,
    root,
    string_value,
    vat_breakdowns,
)
from services.invoicing.validation.rules.base import Doc, Element, each, rule


def _under(doc: Doc, holder: str, path: str) -> Iterator[Element]:
    """``cac:<holder>/<path>``: every ``path`` element below any ``cac:<holder>``."""
    t = doc.tree
    for el in contexts(doc, holder):
        yield from t.all(el, path)


def _missing(doc: Doc, elements: Iterable[Element], path: str) -> Iterator[Element]:
    """The elements without a ``path`` child: ``exists(path)`` is false."""
    return iter(doc.tree.missing(elements, path))


def _blank(doc: Doc, elements: Iterable[Element], path: str) -> Iterator[Element]:
    """The elements whose ``path`` is missing or blank: ``normalize-space(path) != ''`` is false."""
    return iter(doc.tree.blank(elements, path))


# ---- the Invoice (BG-0) ----


@rule("BR-01", terms=("BT-24",), message="An Invoice must have a Specification identifier (BT-24).")
def specification_identifier(doc: Doc) -> Iterator[Element]:
    return _blank(doc, root(doc), "cbc:CustomizationID")


@rule("BR-02", terms=("BT-1",), message="An Invoice must have an Invoice number (BT-1).")
def invoice_number(doc: Doc) -> Iterator[Element]:
    return _blank(doc, root(doc), "cbc:ID")


@rule("BR-03", terms=("BT-2",), message="An Invoice must have an Invoice issue date (BT-2).")
def issue_date(doc: Doc) -> Iterator[Element]:
    return _blank(doc, root(doc), "cbc:IssueDate")


@rule("BR-04", terms=("BT-3",), message="An Invoice must have an Invoice type code (BT-3).")
def type_code(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return failing(
        root(doc), lambda inv: t.filled(inv, "cbc:InvoiceTypeCode") or t.filled(inv, "cbc:CreditNoteTypeCode")
    )


@rule("BR-05", terms=("BT-5",), message="An Invoice must have an Invoice currency code (BT-5).")
def currency_code(doc: Doc) -> Iterator[Element]:
    return _blank(doc, root(doc), "cbc:DocumentCurrencyCode")


@rule("BR-06", terms=("BT-27",), message="An Invoice must name the Seller (BT-27).")
def seller_name(doc: Doc) -> Iterator[Element]:
    return _blank(
        doc, root(doc), "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    )


@rule("BR-07", terms=("BT-44",), message="An Invoice must name the Buyer (BT-44).")
def buyer_name(doc: Doc) -> Iterator[Element]:
    return _blank(
        doc, root(doc), "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    )


@rule("BR-08", terms=("BG-5",), message="An Invoice must contain the Seller postal address (BG-5).")
def seller_postal_address(doc: Doc) -> Iterator[Element]:
    return _missing(doc, root(doc), "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress")


@rule("BR-10", terms=("BG-8",), message="An Invoice must contain the Buyer postal address (BG-8).")
def buyer_postal_address(doc: Doc) -> Iterator[Element]:
    return _missing(doc, root(doc), "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress")


@rule("BR-16", terms=("BG-25",), message="An Invoice must have at least one Invoice line (BG-25).")
def at_least_one_line(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return each(
        root(doc), lambda inv: not (t.has(inv, "cac:InvoiceLine") or t.has(inv, "cac:CreditNoteLine"))
    )


@rule(
    "BR-53",
    needs="cbc:TaxCurrencyCode",
    terms=("BT-6", "BT-111"),
    message="When a VAT accounting currency code (BT-6) is given, the Invoice total VAT amount in "
    "accounting currency (BT-111) must be given too.",
)
def accounting_currency_total(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(inv: Element) -> bool:
        # Each BT-6 needs a cac:TaxTotal/cbc:TaxAmount anywhere whose currencyID is that very string.
        codes = t.all(inv, "cbc:TaxCurrencyCode")
        if not codes:
            return True
        given = {
            vat.get("currencyID")
            for total in contexts(doc, "TaxTotal")
            for vat in t.all(total, "cbc:TaxAmount")
        }
        return all(string_value(code) in given for code in codes)

    return each(root(doc), lambda inv: not holds(inv))


# ---- Seller (BG-4), Buyer (BG-7), Payee (BG-10), Seller tax representative (BG-11) ----


@rule(
    "BR-09",
    needs="cac:PostalAddress",
    terms=("BG-5", "BT-40"),
    message="The Seller postal address (BG-5) must contain a Seller country code (BT-40).",
)
def seller_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "AccountingSupplierParty", "cac:Party/cac:PostalAddress")
    return _blank(doc, addresses, "cac:Country/cbc:IdentificationCode")


@rule(
    "BR-11",
    needs="cac:PostalAddress",
    terms=("BG-8", "BT-55"),
    message="The Buyer postal address (BG-8) must contain a Buyer country code (BT-55).",
)
def buyer_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "AccountingCustomerParty", "cac:Party/cac:PostalAddress")
    return _blank(doc, addresses, "cac:Country/cbc:IdentificationCode")


@rule(
    "BR-17",
    needs="cac:PayeeParty",
    terms=("BG-10", "BT-59", "BG-4"),
    message="A Payee (BG-10) other than the Seller (BG-4) must have a Payee name (BT-59) that differs from "
    "the Seller's, and must not share a Seller identifier.",
)
def payee_name(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def values(el: Element | None, path: str) -> set[str]:
        return set() if el is None else {string_value(node) for node in t.all(el, path)}

    def holds(payee: Element) -> bool:
        parent = payee.getparent()  # the official test compares with ../cac:AccountingSupplierParty
        seller = "cac:AccountingSupplierParty/cac:Party/"
        names = values(payee, "cac:PartyName/cbc:Name")
        return (
            bool(names)
            and not names & values(parent, seller + "cac:PartyName/cbc:Name")
            and not values(payee, "cac:PartyIdentification/cbc:ID")
            & values(parent, seller + "cac:PartyIdentification/cbc:ID")
        )

    return each(contexts(doc, "PayeeParty"), lambda payee: not holds(payee))


@rule(
    "BR-18",
    needs="cac:TaxRepresentativeParty",
    terms=("BG-11", "BT-62"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative name (BT-62).",
)
def tax_representative_name(doc: Doc) -> Iterator[Element]:
    return _blank(doc, contexts(doc, "TaxRepresentativeParty"), "cac:PartyName/cbc:Name")


@rule(
    "BR-19",
    needs="cac:TaxRepresentativeParty",
    terms=("BG-11", "BG-12"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative postal address (BG-12).",
)
def tax_representative_address(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "TaxRepresentativeParty"), "cac:PostalAddress")


@rule(
    "BR-20",
    needs="cac:TaxRepresentativeParty",
    terms=("BG-12", "BT-69"),
    message="The Seller tax representative postal address (BG-12) must contain a Tax representative "
    "country code (BT-69).",
)
def tax_representative_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "TaxRepresentativeParty", "cac:PostalAddress")
    return _blank(doc, addresses, "cac:Country/cbc:IdentificationCode")


@rule(
    "BR-56",
    needs="cac:TaxRepresentativeParty",
    terms=("BG-11", "BT-63"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative VAT identifier (BT-63).",
)
def tax_representative_vat_identifier(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(party: Element) -> bool:
        return any(t.has(scheme, "cbc:CompanyID") for scheme in t.vat_categories(party, "cac:PartyTaxScheme"))

    return each(contexts(doc, "TaxRepresentativeParty"), lambda party: not holds(party))


@rule(
    "BR-62",
    needs="cbc:EndpointID",
    terms=("BT-34",),
    message="The Seller electronic address (BT-34) must have a Scheme identifier.",
)
def seller_endpoint_scheme(doc: Doc) -> Iterator[Element]:
    endpoints = _under(doc, "AccountingSupplierParty", "cac:Party/cbc:EndpointID")
    return each(endpoints, lambda endpoint: endpoint.get("schemeID") is None)


@rule(
    "BR-63",
    needs="cbc:EndpointID",
    terms=("BT-49",),
    message="The Buyer electronic address (BT-49) must have a Scheme identifier.",
)
def buyer_endpoint_scheme(doc: Doc) -> Iterator[Element]:
    endpoints = _under(doc, "AccountingCustomerParty", "cac:Party/cbc:EndpointID")
    return each(endpoints, lambda endpoint: endpoint.get("schemeID") is None)


# ---- Document totals (BG-22) ----


@rule(
    "BR-12",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-106",),
    message="An Invoice must have the Sum of Invoice line net amount (BT-106).",
)
def sum_of_line_net_amounts_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "LegalMonetaryTotal"), "cbc:LineExtensionAmount")


@rule(
    "BR-13",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-109",),
    message="An Invoice must have the Invoice total amount without VAT (BT-109).",
)
def total_without_vat_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "LegalMonetaryTotal"), "cbc:TaxExclusiveAmount")


@rule(
    "BR-14",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-112",),
    message="An Invoice must have the Invoice total amount with VAT (BT-112).",
)
def total_with_vat_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "LegalMonetaryTotal"), "cbc:TaxInclusiveAmount")


@rule(
    "BR-15",
    needs="cac:LegalMonetaryTotal",
    terms=("BT-115",),
    message="An Invoice must have the Amount due for payment (BT-115).",
)
def amount_due_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "LegalMonetaryTotal"), "cbc:PayableAmount")


# ---- Invoice line (BG-25) ----

_XS_DOUBLE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _double(text: str) -> Decimal:
    """Cast to xs:double, as a general comparison with a number does (INF, -INF, NaN, exponents)."""
    value = text.strip(XML_WHITESPACE)
    if value in ("INF", "+INF", "-INF", "NaN"):
        return Decimal(value.replace("INF", "Infinity"))
    if not _XS_DOUBLE.fullmatch(value):
        raise Unreadable(value)
    return Decimal(value)


@lru_cache(maxsize=4096)  # prices repeat; an unreadable one raises each time (exceptions are not kept)
def _not_negative(text: str) -> bool:
    """``xs:double(text) >= 0`` (Unreadable when not a number)."""
    value = text.strip(XML_WHITESPACE)
    if not value.startswith("-") and _XS_DOUBLE.fullmatch(value):
        return True  # a number written without a minus sign is zero or more
    number = _double(value)
    return not number.is_nan() and number >= 0


def _some_not_negative(t: Tree, parent: Element, path: str) -> bool:
    """``(path) >= 0``: some ``path`` value is zero or more (false when there is none)."""
    found = t.all(parent, path)
    if len(found) == 1:  # the usual case, without a generator
        return _not_negative(string_value(found[0]))
    # Cast only as far as needed, as XPath's lazy comparison does.
    return any(_not_negative(string_value(node)) for node in found)


@rule(
    "BR-21",
    terms=("BG-25", "BT-126"),
    message="Each Invoice line (BG-25) must have an Invoice line identifier (BT-126).",
)
def line_identifier(doc: Doc) -> Iterator[Element]:
    return _blank(doc, all_lines(doc), "cbc:ID")


@rule(
    "BR-22",
    terms=("BG-25", "BT-129"),
    message="Each Invoice line (BG-25) must have an Invoiced quantity (BT-129).",
)
def line_quantity(doc: Doc) -> Iterator[Element]:
    return iter(doc.tree.missing(all_lines(doc), "cbc:InvoicedQuantity", "cbc:CreditedQuantity"))


@rule(
    "BR-23",
    terms=("BG-25", "BT-130"),
    message="Each Invoice line (BG-25) must give the Invoiced quantity unit of measure code (BT-130).",
)
def line_quantity_unit(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(line: Element) -> bool:
        for path in ("cbc:InvoicedQuantity", "cbc:CreditedQuantity"):
            for quantity in t.all(line, path):
                if quantity.get("unitCode") is not None:
                    return True
        return False

    return each(all_lines(doc), lambda line: not holds(line))


@rule(
    "BR-24",
    terms=("BG-25", "BT-131"),
    message="Each Invoice line (BG-25) must have an Invoice line net amount (BT-131).",
)
def line_net_amount_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, all_lines(doc), "cbc:LineExtensionAmount")


@rule(
    "BR-25",
    terms=("BG-25", "BT-153"),
    message="Each Invoice line (BG-25) must contain the Item name (BT-153).",
)
def item_name(doc: Doc) -> Iterator[Element]:
    return _blank(doc, all_lines(doc), "cac:Item/cbc:Name")


@rule(
    "BR-26",
    terms=("BG-25", "BT-146"),
    message="Each Invoice line (BG-25) must contain the Item net price (BT-146).",
)
def item_net_price_present(doc: Doc) -> Iterator[Element]:
    return _missing(doc, all_lines(doc), "cac:Price/cbc:PriceAmount")


@rule("BR-27", terms=("BT-146",), message="The Item net price (BT-146) must not be negative.")
def item_net_price_not_negative(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return failing(all_lines(doc), lambda line: _some_not_negative(t, line, "cac:Price/cbc:PriceAmount"))


@rule(
    "BR-28",
    needs="cbc:BaseAmount",
    terms=("BT-148",),
    message="The Item gross price (BT-148) must not be negative.",
)
def item_gross_price_not_negative(doc: Doc) -> Iterator[Element]:
    if absent(doc, "cbc:BaseAmount"):  # no gross price anywhere: every line passes
        return iter(())
    t = doc.tree
    path = "cac:Price/cac:AllowanceCharge/cbc:BaseAmount"
    return failing(all_lines(doc), lambda line: not t.has(line, path) or _some_not_negative(t, line, path))


@rule(
    "BR-64",
    needs="cac:StandardItemIdentification",
    terms=("BT-157",),
    message="The Item standard identifier (BT-157) must have a Scheme identifier.",
)
def item_standard_identifier_scheme(doc: Doc) -> Iterator[Element]:
    if absent(doc, "cac:StandardItemIdentification"):
        return iter(())
    identifiers = doc.tree.select(all_lines(doc), "cac:Item/cac:StandardItemIdentification/cbc:ID")
    return each(identifiers, lambda identifier: identifier.get("schemeID") is None)


@rule(
    "BR-65",
    needs="cac:CommodityClassification",
    terms=("BT-158",),
    message="The Item classification identifier (BT-158) must have a Scheme identifier.",
)
def item_classification_scheme(doc: Doc) -> Iterator[Element]:
    if absent(doc, "cac:CommodityClassification"):
        return iter(())
    codes = doc.tree.select(all_lines(doc), "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode")
    return each(codes, lambda code: code.get("listID") is None)


@rule(
    "BR-54",
    needs="cac:AdditionalItemProperty",
    terms=("BG-32", "BT-160", "BT-161"),
    message="Each Item attribute (BG-32) must contain an Item attribute name (BT-160) and value (BT-161).",
)
def item_attribute(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return each(
        contexts(doc, "AdditionalItemProperty"),
        lambda attribute: not (t.has(attribute, "cbc:Name") and t.has(attribute, "cbc:Value")),
    )


# ---- Invoicing period (BG-14) and Invoice line period (BG-26) ----

# xs:date: a year of four or more digits, month, day, and an optional timezone of at most 14 hours.
_XS_DATE = re.compile(r"(-?\d{4,})-(\d\d)-(\d\d)(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?")


def _xs_date(el: Element) -> datetime:
    """Cast to xs:date; the instant the day starts (in UTC when no timezone is written)."""
    value = string_value(el).strip(XML_WHITESPACE)
    match = _XS_DATE.fullmatch(value)
    if match is None:
        raise Unreadable(value)
    year, month, day, zone = match.groups()
    try:
        start = datetime(int(year), int(month), int(day), tzinfo=UTC)
    except ValueError as error:
        raise Unreadable(value) from error
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        start -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return start


def _period_in_order(t: Tree, period: Element) -> bool:
    start, end = t.single(period, "cbc:StartDate"), t.single(period, "cbc:EndDate")
    return start is None or end is None or _xs_date(end) >= _xs_date(start)


@rule(
    "BR-29",
    needs="cac:InvoicePeriod",
    terms=("BT-73", "BT-74"),
    message="The Invoicing period end date (BT-74) must not be earlier than its start date (BT-73).",
)
def invoicing_period_order(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return failing(document_periods(doc), lambda period: _period_in_order(t, period))


@rule(
    "BR-30",
    needs="cac:InvoicePeriod",
    terms=("BT-134", "BT-135"),
    message="The Invoice line period end date (BT-135) must not be earlier than its start date (BT-134).",
)
def line_period_order(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    return failing(line_periods(doc), lambda period: _period_in_order(t, period))


# ---- Document level allowances (BG-20) and charges (BG-21) ----


def _without_reason(doc: Doc, elements: Iterable[Element]) -> Iterator[Element]:
    return iter(doc.tree.missing(elements, "cbc:AllowanceChargeReason", "cbc:AllowanceChargeReasonCode"))


def _without_vat_category_code(doc: Doc, elements: Iterable[Element]) -> Iterator[Element]:
    t = doc.tree
    return each(elements, lambda el: not any(t.has(category, "cbc:ID") for category in t.vat_categories(el)))


@rule(
    "BR-31",
    needs="cac:AllowanceCharge",
    terms=("BG-20", "BT-92"),
    message="Each Document level allowance (BG-20) must have an amount (BT-92).",
)
def document_allowance_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, document_allowances(doc), "cbc:Amount")


@rule(
    "BR-32",
    needs="cac:AllowanceCharge",
    terms=("BG-20", "BT-95"),
    message="Each Document level allowance (BG-20) must have a VAT category code (BT-95).",
)
def document_allowance_vat_category(doc: Doc) -> Iterator[Element]:
    return _without_vat_category_code(doc, document_allowances(doc))


@rule(
    "BR-33",
    needs="cac:AllowanceCharge",
    terms=("BG-20", "BT-97", "BT-98"),
    message="Each Document level allowance (BG-20) must have a reason (BT-97) or a reason code (BT-98).",
)
def document_allowance_reason(doc: Doc) -> Iterator[Element]:
    return _without_reason(doc, document_allowances(doc))


@rule(
    "BR-36",
    needs="cac:AllowanceCharge",
    terms=("BG-21", "BT-99"),
    message="Each Document level charge (BG-21) must have an amount (BT-99).",
)
def document_charge_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, document_charges(doc), "cbc:Amount")


@rule(
    "BR-37",
    needs="cac:AllowanceCharge",
    terms=("BG-21", "BT-102"),
    message="Each Document level charge (BG-21) must have a VAT category code (BT-102).",
)
def document_charge_vat_category(doc: Doc) -> Iterator[Element]:
    return _without_vat_category_code(doc, document_charges(doc))


@rule(
    "BR-38",
    needs="cac:AllowanceCharge",
    terms=("BG-21", "BT-104", "BT-105"),
    message="Each Document level charge (BG-21) must have a reason (BT-104) or a reason code (BT-105).",
)
def document_charge_reason(doc: Doc) -> Iterator[Element]:
    return _without_reason(doc, document_charges(doc))


# ---- Invoice line allowances (BG-27) and charges (BG-28) ----


@rule(
    "BR-41",
    needs="cac:AllowanceCharge",
    terms=("BG-27", "BT-136"),
    message="Each Invoice line allowance (BG-27) must have an amount (BT-136).",
)
def line_allowance_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, line_allowances(doc), "cbc:Amount")


@rule(
    "BR-42",
    needs="cac:AllowanceCharge",
    terms=("BG-27", "BT-139", "BT-140"),
    message="Each Invoice line allowance (BG-27) must have a reason (BT-139) or a reason code (BT-140).",
)
def line_allowance_reason(doc: Doc) -> Iterator[Element]:
    return _without_reason(doc, line_allowances(doc))


@rule(
    "BR-43",
    needs="cac:AllowanceCharge",
    terms=("BG-28", "BT-141"),
    message="Each Invoice line charge (BG-28) must have an amount (BT-141).",
)
def line_charge_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, line_charges(doc), "cbc:Amount")


@rule(
    "BR-44",
    needs="cac:AllowanceCharge",
    terms=("BG-28", "BT-144", "BT-145"),
    message="Each Invoice line charge (BG-28) must have a reason (BT-144) or a reason code (BT-145).",
)
def line_charge_reason(doc: Doc) -> Iterator[Element]:
    return _without_reason(doc, line_charges(doc))


# ---- VAT breakdown (BG-23) ----


@rule(
    "BR-45",
    needs="cac:TaxSubtotal",
    terms=("BG-23", "BT-116"),
    message="Each VAT breakdown (BG-23) must have a VAT category taxable amount (BT-116).",
)
def breakdown_taxable_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, vat_breakdowns(doc), "cbc:TaxableAmount")


@rule(
    "BR-46",
    needs="cac:TaxSubtotal",
    terms=("BG-23", "BT-117"),
    message="Each VAT breakdown (BG-23) must have a VAT category tax amount (BT-117).",
)
def breakdown_tax_amount(doc: Doc) -> Iterator[Element]:
    return _missing(doc, vat_breakdowns(doc), "cbc:TaxAmount")


@rule(
    "BR-47",
    needs="cac:TaxSubtotal",
    terms=("BG-23", "BT-118"),
    message="Each VAT breakdown (BG-23) must have a VAT category code (BT-118).",
)
def breakdown_category_code(doc: Doc) -> Iterator[Element]:
    return _without_vat_category_code(doc, vat_breakdowns(doc))


@rule(
    "BR-48",
    needs="cac:TaxSubtotal",
    terms=("BG-23", "BT-119"),
    message="Each VAT breakdown (BG-23) must have a VAT category rate (BT-119), unless its category is "
    "'Not subject to VAT' (O).",
)
def breakdown_rate(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(subtotal: Element) -> bool:
        categories = t.vat_categories(subtotal)
        return any(t.has(category, "cbc:Percent") for category in categories) or any(
            t.text(category, "cbc:ID").strip(XML_WHITESPACE) == "O" for category in categories
        )

    return each(vat_breakdowns(doc), lambda subtotal: not holds(subtotal))


# ---- Payment instructions (BG-16), credit transfer (BG-17), payment card (BG-18) ----

CREDIT_TRANSFER_CODES = ("30", "58")  # UNCL 4461: credit transfer, SEPA credit transfer


@rule(
    "BR-49",
    needs="cac:PaymentMeans",
    terms=("BG-16", "BT-81"),
    message="A Payment instruction (BG-16) must give the Payment means type code (BT-81).",
)
def payment_means_code(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "PaymentMeans"), "cbc:PaymentMeansCode")


@rule(
    "BR-50",
    needs="cac:PayeeFinancialAccount",
    terms=("BG-17", "BT-84"),
    message="Credit transfer information (BG-17) must contain the Payment account identifier (BT-84).",
)
def payment_account_identifier(doc: Doc) -> Iterator[Element]:
    t = doc.tree
    # The context compares the code as written, without trimming it.
    accounts = (
        account
        for means in contexts(doc, "PaymentMeans")
        if any(string_value(code) in CREDIT_TRANSFER_CODES for code in t.all(means, "cbc:PaymentMeansCode"))
        for account in t.all(means, "cac:PayeeFinancialAccount")
    )
    return _blank(doc, accounts, "cbc:ID")


@rule(
    "BR-51",
    needs="cbc:PrimaryAccountNumberID",
    flag="warning",
    terms=("BT-87",),
    message="The Payment card primary account number (BT-87) should not be given in full: card security "
    "standards allow at most 10 of its digits (the first 6 and the last 4).",
)
def card_number_masked(doc: Doc) -> Iterator[Element]:
    numbers = _under(doc, "PaymentMeans", "cac:CardAccount/cbc:PrimaryAccountNumberID")
    return each(numbers, lambda number: len(normalize_space(string_value(number))) > 10)


@rule(
    "BR-61",
    needs="cac:PaymentMeans",
    terms=("BT-81", "BT-84"),
    message="When the Payment means type code (BT-81) is a credit transfer (30 or 58), the Payment account "
    "identifier (BT-84) must be present.",
)
def credit_transfer_account(doc: Doc) -> Iterator[Element]:
    t = doc.tree

    def holds(means: Element) -> bool:
        code = string_value(t.single(means, "cbc:PaymentMeansCode")).strip(XML_WHITESPACE)
        return code not in CREDIT_TRANSFER_CODES or t.has(means, "cac:PayeeFinancialAccount/cbc:ID")

    return failing(contexts(doc, "PaymentMeans"), holds)


# ---- References and delivery ----


@rule(
    "BR-52",
    needs="cac:AdditionalDocumentReference",
    terms=("BG-24", "BT-122"),
    message="Each Additional supporting document (BG-24) must contain a Supporting document reference (BT-122).",
)
def supporting_document_reference(doc: Doc) -> Iterator[Element]:
    return _blank(doc, contexts(doc, "AdditionalDocumentReference"), "cbc:ID")


@rule(
    "BR-55",
    needs="cac:BillingReference",
    terms=("BG-3", "BT-25"),
    message="Each Preceding Invoice reference (BG-3) must contain the Preceding Invoice reference (BT-25).",
)
def preceding_invoice_reference(doc: Doc) -> Iterator[Element]:
    return _missing(doc, contexts(doc, "BillingReference"), "cac:InvoiceDocumentReference/cbc:ID")


@rule(
    "BR-57",
    needs="cac:DeliveryLocation",
    terms=("BG-15", "BT-80"),
    message="Each Deliver to address (BG-15) must contain a Deliver to country code (BT-80).",
)
def deliver_to_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "Delivery", "cac:DeliveryLocation/cac:Address")
    return _missing(doc, addresses, "cac:Country/cbc:IdentificationCode")
