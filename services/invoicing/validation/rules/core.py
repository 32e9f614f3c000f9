"""EN 16931 core business rules BR-01 .. BR-65 (UBL binding, CEN/TC 434 artefacts 1.3.16).

Grouped by the element each rule is checked on (its Schematron context), in the order of the
standard's model. Where the official assertion compares strings with ``normalize-space(x) != ''``
a value of only spaces is missing; where it only asks ``exists(x)`` an empty element is present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.invoicing.validation.rules._amounts import (
    Unreadable,
    all_lines,
    contexts,
    document_allowances,
    document_charges,
    document_periods,
    failing,
    filled,
    is_document,
    line_allowances,
    line_charges,
    line_periods,
    normalize_space,
    string_value,
    vat_breakdowns,
    vat_categories,
)
from services.invoicing.validation.rules.base import NS, Doc, Element, each, rule


def _root(doc: Doc) -> list[Element]:
    """The ``/ubl:Invoice | /cn:CreditNote`` context: the root, when it is one of the two."""
    return [doc.root] if is_document(doc) else []


def _under(doc: Doc, holder: str, path: str) -> Iterator[Element]:
    """``cac:<holder>/<path>``: every ``path`` element below any ``cac:<holder>``."""
    for el in contexts(doc, holder):
        yield from el.iterfind(path, NS)


# ---- the Invoice (BG-0) ----


@rule("BR-01", terms=("BT-24",), message="An Invoice must have a Specification identifier (BT-24).")
def specification_identifier(doc: Doc) -> Iterator[Element]:
    return each(_root(doc), lambda inv: not filled(inv, "cbc:CustomizationID"))


@rule("BR-02", terms=("BT-1",), message="An Invoice must have an Invoice number (BT-1).")
def invoice_number(doc: Doc) -> Iterator[Element]:
    return each(_root(doc), lambda inv: not filled(inv, "cbc:ID"))


@rule("BR-03", terms=("BT-2",), message="An Invoice must have an Invoice issue date (BT-2).")
def issue_date(doc: Doc) -> Iterator[Element]:
    return each(_root(doc), lambda inv: not filled(inv, "cbc:IssueDate"))


@rule("BR-04", terms=("BT-3",), message="An Invoice must have an Invoice type code (BT-3).")
def type_code(doc: Doc) -> Iterator[Element]:
    return each(
        _root(doc),
        lambda inv: not (filled(inv, "cbc:InvoiceTypeCode") or filled(inv, "cbc:CreditNoteTypeCode")),
    )


@rule("BR-05", terms=("BT-5",), message="An Invoice must have an Invoice currency code (BT-5).")
def currency_code(doc: Doc) -> Iterator[Element]:
    return each(_root(doc), lambda inv: not filled(inv, "cbc:DocumentCurrencyCode"))


@rule("BR-06", terms=("BT-27",), message="An Invoice must name the Seller (BT-27).")
def seller_name(doc: Doc) -> Iterator[Element]:
    path = "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    return each(_root(doc), lambda inv: not filled(inv, path))


@rule("BR-07", terms=("BT-44",), message="An Invoice must name the Buyer (BT-44).")
def buyer_name(doc: Doc) -> Iterator[Element]:
    path = "cac:AccountingCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
    return each(_root(doc), lambda inv: not filled(inv, path))


@rule("BR-08", terms=("BG-5",), message="An Invoice must contain the Seller postal address (BG-5).")
def seller_postal_address(doc: Doc) -> Iterator[Element]:
    path = "cac:AccountingSupplierParty/cac:Party/cac:PostalAddress"
    return each(_root(doc), lambda inv: inv.find(path, NS) is None)


@rule("BR-10", terms=("BG-8",), message="An Invoice must contain the Buyer postal address (BG-8).")
def buyer_postal_address(doc: Doc) -> Iterator[Element]:
    path = "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress"
    return each(_root(doc), lambda inv: inv.find(path, NS) is None)


@rule("BR-16", terms=("BG-25",), message="An Invoice must have at least one Invoice line (BG-25).")
def at_least_one_line(doc: Doc) -> Iterator[Element]:
    return each(
        _root(doc),
        lambda inv: inv.find("cac:InvoiceLine", NS) is None and inv.find("cac:CreditNoteLine", NS) is None,
    )


@rule(
    "BR-53",
    terms=("BT-6", "BT-111"),
    message="When a VAT accounting currency code (BT-6) is given, the Invoice total VAT amount in "
    "accounting currency (BT-111) must be given too.",
)
def accounting_currency_total(doc: Doc) -> Iterator[Element]:
    def holds(inv: Element) -> bool:
        # Each BT-6 needs a cac:TaxTotal/cbc:TaxAmount anywhere whose currencyID is that very string.
        given = {
            amount.get("currencyID")
            for total in contexts(doc, "TaxTotal")
            for amount in total.iterfind("cbc:TaxAmount", NS)
        }
        return all(string_value(code) in given for code in inv.iterfind("cbc:TaxCurrencyCode", NS))

    return each(_root(doc), lambda inv: not holds(inv))


# ---- Seller (BG-4), Buyer (BG-7), Payee (BG-10), Seller tax representative (BG-11) ----


@rule(
    "BR-09",
    terms=("BG-5", "BT-40"),
    message="The Seller postal address (BG-5) must contain a Seller country code (BT-40).",
)
def seller_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "AccountingSupplierParty", "cac:Party/cac:PostalAddress")
    return each(addresses, lambda address: not filled(address, "cac:Country/cbc:IdentificationCode"))


@rule(
    "BR-11",
    terms=("BG-8", "BT-55"),
    message="The Buyer postal address (BG-8) must contain a Buyer country code (BT-55).",
)
def buyer_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "AccountingCustomerParty", "cac:Party/cac:PostalAddress")
    return each(addresses, lambda address: not filled(address, "cac:Country/cbc:IdentificationCode"))


@rule(
    "BR-17",
    terms=("BG-10", "BT-59", "BG-4"),
    message="A Payee (BG-10) other than the Seller (BG-4) must have a Payee name (BT-59) that differs from "
    "the Seller's, and no Seller identifier of its own.",
)
def payee_name(doc: Doc) -> Iterator[Element]:
    def values(el: Element | None, path: str) -> set[str]:
        return set() if el is None else {string_value(node) for node in el.iterfind(path, NS)}

    def holds(payee: Element) -> bool:
        parent = payee.getparent()
        seller = None if parent is None else parent.find("cac:AccountingSupplierParty/cac:Party", NS)
        names = values(payee, "cac:PartyName/cbc:Name")
        return (
            bool(names)
            and not names & values(seller, "cac:PartyName/cbc:Name")
            and not values(payee, "cac:PartyIdentification/cbc:ID")
            & values(seller, "cac:PartyIdentification/cbc:ID")
        )

    return each(contexts(doc, "PayeeParty"), lambda payee: not holds(payee))


@rule(
    "BR-18",
    terms=("BG-11", "BT-62"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative name (BT-62).",
)
def tax_representative_name(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "TaxRepresentativeParty"), lambda party: not filled(party, "cac:PartyName/cbc:Name")
    )


@rule(
    "BR-19",
    terms=("BG-11", "BG-12"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative postal address (BG-12).",
)
def tax_representative_address(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "TaxRepresentativeParty"), lambda party: party.find("cac:PostalAddress", NS) is None
    )


@rule(
    "BR-20",
    terms=("BG-12", "BT-69"),
    message="The Seller tax representative postal address (BG-12) must contain a Tax representative "
    "country code (BT-69).",
)
def tax_representative_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "TaxRepresentativeParty", "cac:PostalAddress")
    return each(addresses, lambda address: not filled(address, "cac:Country/cbc:IdentificationCode"))


@rule(
    "BR-56",
    terms=("BG-11", "BT-63"),
    message="A Seller tax representative party (BG-11) must have a Seller tax representative VAT identifier (BT-63).",
)
def tax_representative_vat_identifier(doc: Doc) -> Iterator[Element]:
    def holds(party: Element) -> bool:
        schemes = vat_categories(party, "cac:PartyTaxScheme")
        return any(scheme.find("cbc:CompanyID", NS) is not None for scheme in schemes)

    return each(contexts(doc, "TaxRepresentativeParty"), lambda party: not holds(party))


@rule(
    "BR-62", terms=("BT-34",), message="The Seller electronic address (BT-34) must have a Scheme identifier."
)
def seller_endpoint_scheme(doc: Doc) -> Iterator[Element]:
    endpoints = _under(doc, "AccountingSupplierParty", "cac:Party/cbc:EndpointID")
    return each(endpoints, lambda endpoint: endpoint.get("schemeID") is None)


@rule(
    "BR-63", terms=("BT-49",), message="The Buyer electronic address (BT-49) must have a Scheme identifier."
)
def buyer_endpoint_scheme(doc: Doc) -> Iterator[Element]:
    endpoints = _under(doc, "AccountingCustomerParty", "cac:Party/cbc:EndpointID")
    return each(endpoints, lambda endpoint: endpoint.get("schemeID") is None)


# ---- Document totals (BG-22) ----


@rule("BR-12", terms=("BT-106",), message="An Invoice must have the Sum of Invoice line net amount (BT-106).")
def sum_of_line_net_amounts_present(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "LegalMonetaryTotal"), lambda totals: totals.find("cbc:LineExtensionAmount", NS) is None
    )


@rule(
    "BR-13", terms=("BT-109",), message="An Invoice must have the Invoice total amount without VAT (BT-109)."
)
def total_without_vat_present(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "LegalMonetaryTotal"), lambda totals: totals.find("cbc:TaxExclusiveAmount", NS) is None
    )


@rule("BR-14", terms=("BT-112",), message="An Invoice must have the Invoice total amount with VAT (BT-112).")
def total_with_vat_present(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "LegalMonetaryTotal"), lambda totals: totals.find("cbc:TaxInclusiveAmount", NS) is None
    )


@rule("BR-15", terms=("BT-115",), message="An Invoice must have the Amount due for payment (BT-115).")
def amount_due_present(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "LegalMonetaryTotal"), lambda totals: totals.find("cbc:PayableAmount", NS) is None
    )


# ---- Invoice line (BG-25) ----


def _double(text: str) -> Decimal:
    """Cast to xs:double as a general comparison with a number does (INF, -INF, NaN, exponents)."""
    value = text.strip(" \t\r\n")
    if value in ("INF", "+INF", "-INF", "NaN"):
        return Decimal(value.replace("INF", "Infinity"))
    if not re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", value):
        raise Unreadable(value)
    return Decimal(value)


def _some_not_negative(parent: Element, path: str) -> bool:
    """``(path) >= 0``: true when some ``path`` value is zero or more (false when there is none)."""
    return any(
        not value.is_nan() and value >= 0
        for value in map(_double, map(string_value, parent.iterfind(path, NS)))
    )


@rule(
    "BR-21",
    terms=("BG-25", "BT-126"),
    message="Each Invoice line (BG-25) must have an Invoice line identifier (BT-126).",
)
def line_identifier(doc: Doc) -> Iterator[Element]:
    return each(all_lines(doc), lambda line: not filled(line, "cbc:ID"))


@rule(
    "BR-22",
    terms=("BG-25", "BT-129"),
    message="Each Invoice line (BG-25) must have an Invoiced quantity (BT-129).",
)
def line_quantity(doc: Doc) -> Iterator[Element]:
    return each(
        all_lines(doc),
        lambda line: (
            line.find("cbc:InvoicedQuantity", NS) is None and line.find("cbc:CreditedQuantity", NS) is None
        ),
    )


@rule(
    "BR-23",
    terms=("BG-25", "BT-130"),
    message="Each Invoice line (BG-25) must give the Invoiced quantity unit of measure code (BT-130).",
)
def line_quantity_unit(doc: Doc) -> Iterator[Element]:
    def holds(line: Element) -> bool:
        quantities = [*line.iterfind("cbc:InvoicedQuantity", NS), *line.iterfind("cbc:CreditedQuantity", NS)]
        return any(quantity.get("unitCode") is not None for quantity in quantities)

    return each(all_lines(doc), lambda line: not holds(line))


@rule(
    "BR-24",
    terms=("BG-25", "BT-131"),
    message="Each Invoice line (BG-25) must have an Invoice line net amount (BT-131).",
)
def line_net_amount_present(doc: Doc) -> Iterator[Element]:
    return each(all_lines(doc), lambda line: line.find("cbc:LineExtensionAmount", NS) is None)


@rule(
    "BR-25",
    terms=("BG-25", "BT-153"),
    message="Each Invoice line (BG-25) must contain the Item name (BT-153).",
)
def item_name(doc: Doc) -> Iterator[Element]:
    return each(all_lines(doc), lambda line: not filled(line, "cac:Item/cbc:Name"))


@rule(
    "BR-26",
    terms=("BG-25", "BT-146"),
    message="Each Invoice line (BG-25) must contain the Item net price (BT-146).",
)
def item_net_price_present(doc: Doc) -> Iterator[Element]:
    return each(all_lines(doc), lambda line: line.find("cac:Price/cbc:PriceAmount", NS) is None)


@rule("BR-27", terms=("BT-146",), message="The Item net price (BT-146) must not be negative.")
def item_net_price_not_negative(doc: Doc) -> Iterator[Element]:
    return failing(all_lines(doc), lambda line: _some_not_negative(line, "cac:Price/cbc:PriceAmount"))


@rule("BR-28", terms=("BT-148",), message="The Item gross price (BT-148) must not be negative.")
def item_gross_price_not_negative(doc: Doc) -> Iterator[Element]:
    path = "cac:Price/cac:AllowanceCharge/cbc:BaseAmount"
    return failing(all_lines(doc), lambda line: line.find(path, NS) is None or _some_not_negative(line, path))


@rule(
    "BR-64", terms=("BT-157",), message="The Item standard identifier (BT-157) must have a Scheme identifier."
)
def item_standard_identifier_scheme(doc: Doc) -> Iterator[Element]:
    identifiers = (
        identifier
        for line in all_lines(doc)
        for identifier in line.iterfind("cac:Item/cac:StandardItemIdentification/cbc:ID", NS)
    )
    return each(identifiers, lambda identifier: identifier.get("schemeID") is None)


@rule(
    "BR-65",
    terms=("BT-158",),
    message="The Item classification identifier (BT-158) must have a Scheme identifier.",
)
def item_classification_scheme(doc: Doc) -> Iterator[Element]:
    codes = (
        code
        for line in all_lines(doc)
        for code in line.iterfind("cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode", NS)
    )
    return each(codes, lambda code: code.get("listID") is None)


@rule(
    "BR-54",
    terms=("BG-32", "BT-160", "BT-161"),
    message="Each Item attribute (BG-32) must contain an Item attribute name (BT-160) and value (BT-161).",
)
def item_attribute(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "AdditionalItemProperty"),
        lambda attribute: attribute.find("cbc:Name", NS) is None or attribute.find("cbc:Value", NS) is None,
    )


# ---- Invoicing period (BG-14) and Invoice line period (BG-26) ----

_XS_DATE = re.compile(r"(-?\d{4,})-(\d\d)-(\d\d)(Z|[+-]\d\d:\d\d)?")


def _xs_date(el: Element) -> datetime:
    """Cast to xs:date and return the instant the day starts (UTC when no timezone is written)."""
    value = string_value(el).strip(" \t\r\n")
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


def _ends_after_start(period: Element) -> bool:
    start, end = period.find("cbc:StartDate", NS), period.find("cbc:EndDate", NS)
    return start is None or end is None or _xs_date(end) >= _xs_date(start)


@rule(
    "BR-29",
    terms=("BT-73", "BT-74"),
    message="The Invoicing period end date (BT-74) must not be earlier than its start date (BT-73).",
)
def invoicing_period_order(doc: Doc) -> Iterator[Element]:
    return failing(document_periods(doc), _ends_after_start)


@rule(
    "BR-30",
    terms=("BT-134", "BT-135"),
    message="The Invoice line period end date (BT-135) must not be earlier than its start date (BT-134).",
)
def line_period_order(doc: Doc) -> Iterator[Element]:
    return failing(line_periods(doc), _ends_after_start)


# ---- Document level allowances (BG-20) and charges (BG-21) ----


def _has_reason(allowance_or_charge: Element) -> bool:
    return (
        allowance_or_charge.find("cbc:AllowanceChargeReason", NS) is not None
        or allowance_or_charge.find("cbc:AllowanceChargeReasonCode", NS) is not None
    )


def _has_vat_category_code(allowance_or_charge: Element) -> bool:
    return any(category.find("cbc:ID", NS) is not None for category in vat_categories(allowance_or_charge))


@rule(
    "BR-31",
    terms=("BG-20", "BT-92"),
    message="Each Document level allowance (BG-20) must have an amount (BT-92).",
)
def document_allowance_amount(doc: Doc) -> Iterator[Element]:
    return each(document_allowances(doc), lambda allowance: allowance.find("cbc:Amount", NS) is None)


@rule(
    "BR-32",
    terms=("BG-20", "BT-95"),
    message="Each Document level allowance (BG-20) must have a VAT category code (BT-95).",
)
def document_allowance_vat_category(doc: Doc) -> Iterator[Element]:
    return each(document_allowances(doc), lambda allowance: not _has_vat_category_code(allowance))


@rule(
    "BR-33",
    terms=("BG-20", "BT-97", "BT-98"),
    message="Each Document level allowance (BG-20) must have a reason (BT-97) or a reason code (BT-98).",
)
def document_allowance_reason(doc: Doc) -> Iterator[Element]:
    return each(document_allowances(doc), lambda allowance: not _has_reason(allowance))


@rule(
    "BR-36",
    terms=("BG-21", "BT-99"),
    message="Each Document level charge (BG-21) must have an amount (BT-99).",
)
def document_charge_amount(doc: Doc) -> Iterator[Element]:
    return each(document_charges(doc), lambda charge: charge.find("cbc:Amount", NS) is None)


@rule(
    "BR-37",
    terms=("BG-21", "BT-102"),
    message="Each Document level charge (BG-21) must have a VAT category code (BT-102).",
)
def document_charge_vat_category(doc: Doc) -> Iterator[Element]:
    return each(document_charges(doc), lambda charge: not _has_vat_category_code(charge))


@rule(
    "BR-38",
    terms=("BG-21", "BT-104", "BT-105"),
    message="Each Document level charge (BG-21) must have a reason (BT-104) or a reason code (BT-105).",
)
def document_charge_reason(doc: Doc) -> Iterator[Element]:
    return each(document_charges(doc), lambda charge: not _has_reason(charge))


# ---- Invoice line allowances (BG-27) and charges (BG-28) ----


@rule(
    "BR-41",
    terms=("BG-27", "BT-136"),
    message="Each Invoice line allowance (BG-27) must have an amount (BT-136).",
)
def line_allowance_amount(doc: Doc) -> Iterator[Element]:
    return each(line_allowances(doc), lambda allowance: allowance.find("cbc:Amount", NS) is None)


@rule(
    "BR-42",
    terms=("BG-27", "BT-139", "BT-140"),
    message="Each Invoice line allowance (BG-27) must have a reason (BT-139) or a reason code (BT-140).",
)
def line_allowance_reason(doc: Doc) -> Iterator[Element]:
    return each(line_allowances(doc), lambda allowance: not _has_reason(allowance))


@rule(
    "BR-43",
    terms=("BG-28", "BT-141"),
    message="Each Invoice line charge (BG-28) must have an amount (BT-141).",
)
def line_charge_amount(doc: Doc) -> Iterator[Element]:
    return each(line_charges(doc), lambda charge: charge.find("cbc:Amount", NS) is None)


@rule(
    "BR-44",
    terms=("BG-28", "BT-144", "BT-145"),
    message="Each Invoice line charge (BG-28) must have a reason (BT-144) or a reason code (BT-145).",
)
def line_charge_reason(doc: Doc) -> Iterator[Element]:
    return each(line_charges(doc), lambda charge: not _has_reason(charge))


# ---- VAT breakdown (BG-23) ----


@rule(
    "BR-45",
    terms=("BG-23", "BT-116"),
    message="Each VAT breakdown (BG-23) must have a VAT category taxable amount (BT-116).",
)
def breakdown_taxable_amount(doc: Doc) -> Iterator[Element]:
    return each(vat_breakdowns(doc), lambda subtotal: subtotal.find("cbc:TaxableAmount", NS) is None)


@rule(
    "BR-46",
    terms=("BG-23", "BT-117"),
    message="Each VAT breakdown (BG-23) must have a VAT category tax amount (BT-117).",
)
def breakdown_tax_amount(doc: Doc) -> Iterator[Element]:
    return each(vat_breakdowns(doc), lambda subtotal: subtotal.find("cbc:TaxAmount", NS) is None)


@rule(
    "BR-47",
    terms=("BG-23", "BT-118"),
    message="Each VAT breakdown (BG-23) must have a VAT category code (BT-118).",
)
def breakdown_category_code(doc: Doc) -> Iterator[Element]:
    return each(vat_breakdowns(doc), lambda subtotal: not _has_vat_category_code(subtotal))


@rule(
    "BR-48",
    terms=("BG-23", "BT-119"),
    message="Each VAT breakdown (BG-23) must have a VAT category rate (BT-119), unless its category is "
    "'Not subject to VAT' (O).",
)
def breakdown_rate(doc: Doc) -> Iterator[Element]:
    def holds(subtotal: Element) -> bool:
        categories = vat_categories(subtotal)
        return any(category.find("cbc:Percent", NS) is not None for category in categories) or any(
            normalize_space(string_value(category.find("cbc:ID", NS))) == "O" for category in categories
        )

    return each(vat_breakdowns(doc), lambda subtotal: not holds(subtotal))


# ---- Payment instructions (BG-16), credit transfer (BG-17), payment card (BG-18) ----

CREDIT_TRANSFER_CODES = ("30", "58")  # UNCL 4461: credit transfer, SEPA credit transfer


@rule(
    "BR-49",
    terms=("BG-16", "BT-81"),
    message="A Payment instruction (BG-16) must give the Payment means type code (BT-81).",
)
def payment_means_code(doc: Doc) -> Iterator[Element]:
    return each(contexts(doc, "PaymentMeans"), lambda means: means.find("cbc:PaymentMeansCode", NS) is None)


@rule(
    "BR-50",
    terms=("BG-17", "BT-84"),
    message="Credit transfer information (BG-17) must contain the Payment account identifier (BT-84).",
)
def payment_account_identifier(doc: Doc) -> Iterator[Element]:
    # The context compares the code as written, without trimming it.
    accounts = (
        account
        for means in contexts(doc, "PaymentMeans")
        if any(
            string_value(code) in CREDIT_TRANSFER_CODES for code in means.iterfind("cbc:PaymentMeansCode", NS)
        )
        for account in means.iterfind("cac:PayeeFinancialAccount", NS)
    )
    return each(accounts, lambda account: not filled(account, "cbc:ID"))


@rule(
    "BR-51",
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
    terms=("BT-81", "BT-84"),
    message="When the Payment means type code (BT-81) is a credit transfer (30 or 58), the Payment account "
    "identifier (BT-84) must be present.",
)
def credit_transfer_account(doc: Doc) -> Iterator[Element]:
    def holds(means: Element) -> bool:
        code = normalize_space(string_value(means.find("cbc:PaymentMeansCode", NS)))
        return (
            code not in CREDIT_TRANSFER_CODES
            or means.find("cac:PayeeFinancialAccount/cbc:ID", NS) is not None
        )

    return each(contexts(doc, "PaymentMeans"), lambda means: not holds(means))


# ---- References and delivery ----


@rule(
    "BR-52",
    terms=("BG-24", "BT-122"),
    message="Each Additional supporting document (BG-24) must contain a Supporting document reference (BT-122).",
)
def supporting_document_reference(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "AdditionalDocumentReference"), lambda reference: not filled(reference, "cbc:ID")
    )


@rule(
    "BR-55",
    terms=("BG-3", "BT-25"),
    message="Each Preceding Invoice reference (BG-3) must contain the Preceding Invoice reference (BT-25).",
)
def preceding_invoice_reference(doc: Doc) -> Iterator[Element]:
    return each(
        contexts(doc, "BillingReference"),
        lambda reference: reference.find("cac:InvoiceDocumentReference/cbc:ID", NS) is None,
    )


@rule(
    "BR-57",
    terms=("BG-15", "BT-80"),
    message="Each Deliver to address (BG-15) must contain a Deliver to country code (BT-80).",
)
def deliver_to_country(doc: Doc) -> Iterator[Element]:
    addresses = _under(doc, "Delivery", "cac:DeliveryLocation/cac:Address")
    return each(addresses, lambda address: address.find("cac:Country/cbc:IdentificationCode", NS) is None)
