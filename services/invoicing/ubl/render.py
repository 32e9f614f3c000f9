"""A readable HTML page of a UBL invoice or credit note, for people.

The document is read into a small view (sections of labelled rows, each label with its EN 16931
business term) that leaves out whatever the document does not give, then rendered by one Jinja2
template with autoescaping: every value from the document is text, never markup. The page is
self-contained (inline style, no script, no external resource) and its Content-Security-Policy
forbids anything else; links are never made from document values, since a supplier chooses them.

Amounts are shown exactly as the document writes them, with their currency.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field

import jinja2

from services.invoicing.ubl.ns import NS, Element, attribute, text
from services.invoicing.validation.parser import WrongDocumentType, XmlRejected, document_type, parse

# UNCL 1001 codes EN 16931 allows for BT-3, named for readers (the code is shown beside).
TYPE_NAMES: dict[str, str] = {
    "380": "Commercial invoice",
    "381": "Credit note",
    "383": "Debit note",
    "384": "Corrected invoice",
    "386": "Prepayment invoice",
    "389": "Self-billed invoice",
    "751": "Invoice information for accounting purposes",
}
# UNCL 4461 payment means most seen on municipal invoices (BT-81).
PAYMENT_MEANS_NAMES: dict[str, str] = {
    "1": "Not defined",
    "10": "Cash",
    "20": "Cheque",
    "30": "Credit transfer",
    "31": "Debit transfer",
    "42": "Payment to bank account",
    "48": "Bank card",
    "49": "Direct debit",
    "57": "Standing agreement",
    "58": "SEPA credit transfer",
    "59": "SEPA direct debit",
    "97": "Clearing between partners",
}


class NotRenderable(ValueError):
    """The bytes are not a UBL Invoice or CreditNote that can be shown; the message says why."""


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    value: str
    term: str = ""
    """The EN 16931 business term (``BT-1``), shown as a hint."""


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    rows: tuple[Row, ...]
    term: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """One invoice line (BG-25) as shown in the lines table."""

    id: str
    name: str
    description: str
    quantity: str
    price: str
    vat: str
    net_amount: str
    details: tuple[Row, ...] = ()


@dataclass(frozen=True, slots=True)
class View:
    title: str
    number: str
    header: tuple[Row, ...]
    parties: tuple[Section, ...]
    lines: tuple[Line, ...]
    allowances_charges: tuple[Section, ...]
    vat_breakdown: tuple[tuple[str, str, str, str, str], ...]
    totals: tuple[Row, ...]
    payment: tuple[Section, ...]
    notes: tuple[str, ...]
    attachments: tuple[Section, ...]
    credit_note: bool = False
    references: tuple[Row, ...] = field(default_factory=tuple)


def _rows(*candidates: tuple[str, str | None, str]) -> tuple[Row, ...]:
    """Rows for the candidates whose value is given: ``(label, value, term)``."""
    return tuple(Row(label, value, term) for label, value, term in candidates if value)


def _amount(el: Element | None, path: str) -> str | None:
    value = text(el, path)
    if value is None:
        return None
    currency = attribute(el, path, "currencyID")
    return f"{value} {currency}" if currency else value


def _identifier(el: Element | None, path: str) -> str | None:
    value = text(el, path)
    if value is None:
        return None
    scheme = attribute(el, path, "schemeID")
    return f"{value} (scheme {scheme})" if scheme else value


def _joined(values: Iterable[str | None], separator: str = ", ") -> str | None:
    present = [value for value in values if value]
    return separator.join(present) if present else None


def _address(el: Element | None) -> str | None:
    if el is None:
        return None
    return _joined(
        [
            text(el, "cbc:StreetName"),
            text(el, "cbc:AdditionalStreetName"),
            text(el, "cac:AddressLine/cbc:Line"),
            _joined([text(el, "cbc:PostalZone"), text(el, "cbc:CityName")], " "),
            text(el, "cbc:CountrySubentity"),
            text(el, "cac:Country/cbc:IdentificationCode"),
        ]
    )


def _contact(el: Element | None) -> str | None:
    if el is None:
        return None
    return _joined([text(el, "cbc:Name"), text(el, "cbc:Telephone"), text(el, "cbc:ElectronicMail")])


def _tax_id(party: Element | None, vat: bool) -> str | None:
    if party is None:
        return None
    for scheme in party.iterfind("cac:PartyTaxScheme", NS):
        if (text(scheme, "cac:TaxScheme/cbc:ID") == "VAT") == vat:
            return text(scheme, "cbc:CompanyID")
    return None


def _party_identifiers(party: Element | None) -> str | None:
    if party is None:
        return None
    return _joined(
        _identifier(identification, "cbc:ID")
        for identification in party.iterfind("cac:PartyIdentification", NS)
        if attribute(identification, "cbc:ID", "schemeID") != "SEPA"
    )


def _seller(root: Element) -> Section:
    party = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    return Section(
        "Seller",
        _rows(
            ("Name", text(party, "cac:PartyLegalEntity/cbc:RegistrationName"), "BT-27"),
            ("Trading name", text(party, "cac:PartyName/cbc:Name"), "BT-28"),
            ("Identifier", _party_identifiers(party), "BT-29"),
            ("Legal registration", _identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"), "BT-30"),
            ("VAT identifier", _tax_id(party, vat=True), "BT-31"),
            ("Tax registration", _tax_id(party, vat=False), "BT-32"),
            ("Legal information", text(party, "cac:PartyLegalEntity/cbc:CompanyLegalForm"), "BT-33"),
            ("Electronic address", _identifier(party, "cbc:EndpointID"), "BT-34"),
            ("Address", _address(party.find("cac:PostalAddress", NS) if party is not None else None), "BG-5"),
            ("Contact", _contact(party.find("cac:Contact", NS) if party is not None else None), "BG-6"),
        ),
        "BG-4",
    )


def _buyer(root: Element) -> Section:
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    return Section(
        "Buyer",
        _rows(
            ("Name", text(party, "cac:PartyLegalEntity/cbc:RegistrationName"), "BT-44"),
            ("Trading name", text(party, "cac:PartyName/cbc:Name"), "BT-45"),
            ("Identifier", _party_identifiers(party), "BT-46"),
            ("Legal registration", _identifier(party, "cac:PartyLegalEntity/cbc:CompanyID"), "BT-47"),
            ("VAT identifier", _tax_id(party, vat=True), "BT-48"),
            ("Electronic address", _identifier(party, "cbc:EndpointID"), "BT-49"),
            ("Address", _address(party.find("cac:PostalAddress", NS) if party is not None else None), "BG-8"),
            ("Contact", _contact(party.find("cac:Contact", NS) if party is not None else None), "BG-9"),
        ),
        "BG-7",
    )


def _other_parties(root: Element) -> list[Section]:
    sections: list[Section] = []
    payee = root.find("cac:PayeeParty", NS)
    if payee is not None:
        rows = _rows(
            ("Name", text(payee, "cac:PartyName/cbc:Name"), "BT-59"),
            ("Identifier", _identifier(payee, "cac:PartyIdentification/cbc:ID"), "BT-60"),
            ("Legal registration", _identifier(payee, "cac:PartyLegalEntity/cbc:CompanyID"), "BT-61"),
        )
        sections.append(Section("Payee", rows, "BG-10"))
    representative = root.find("cac:TaxRepresentativeParty", NS)
    if representative is not None:
        rows = _rows(
            ("Name", text(representative, "cac:PartyName/cbc:Name"), "BT-62"),
            ("VAT identifier", _tax_id(representative, vat=True), "BT-63"),
            ("Address", _address(representative.find("cac:PostalAddress", NS)), "BG-12"),
        )
        sections.append(Section("Seller's tax representative", rows, "BG-11"))
    delivery = root.find("cac:Delivery", NS)
    if delivery is not None:
        rows = _rows(
            ("Deliver to", text(delivery, "cac:DeliveryParty/cac:PartyName/cbc:Name"), "BT-70"),
            ("Location", _identifier(delivery, "cac:DeliveryLocation/cbc:ID"), "BT-71"),
            ("Delivery date", text(delivery, "cbc:ActualDeliveryDate"), "BT-72"),
            ("Address", _address(delivery.find("cac:DeliveryLocation/cac:Address", NS)), "BG-15"),
        )
        sections.append(Section("Delivery", rows, "BG-13"))
    return [section for section in sections if section.rows]


def _header(root: Element, credit_note: bool) -> tuple[Row, ...]:
    type_code = text(root, "cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode")
    type_label = f"{type_code} {TYPE_NAMES[type_code]}" if type_code in TYPE_NAMES else type_code
    due = text(root, "cac:PaymentMeans/cbc:PaymentDueDate") if credit_note else text(root, "cbc:DueDate")
    period = root.find("cac:InvoicePeriod", NS)
    return _rows(
        ("Number", text(root, "cbc:ID"), "BT-1"),
        ("Issue date", text(root, "cbc:IssueDate"), "BT-2"),
        ("Type", type_label, "BT-3"),
        ("Currency", text(root, "cbc:DocumentCurrencyCode"), "BT-5"),
        ("VAT accounting currency", text(root, "cbc:TaxCurrencyCode"), "BT-6"),
        ("VAT point date", text(root, "cbc:TaxPointDate"), "BT-7"),
        ("Due date", due, "BT-9"),
        (
            "Invoicing period",
            _joined([text(period, "cbc:StartDate"), text(period, "cbc:EndDate")], " to "),
            "BG-14",
        ),
        ("Specification", text(root, "cbc:CustomizationID"), "BT-24"),
        ("Business process", text(root, "cbc:ProfileID"), "BT-23"),
    )


def _references(root: Element) -> tuple[Row, ...]:
    preceding = _joined(
        _joined([text(reference, "cbc:ID"), text(reference, "cbc:IssueDate")], " of ")
        for reference in root.iterfind("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    )
    invoiced_object = _joined(
        text(reference, "cbc:ID")
        for reference in root.iterfind("cac:AdditionalDocumentReference", NS)
        if text(reference, "cbc:DocumentTypeCode") == "130"
    )
    return _rows(
        ("Buyer reference", text(root, "cbc:BuyerReference"), "BT-10"),
        ("Project", text(root, "cac:ProjectReference/cbc:ID"), "BT-11"),
        ("Contract", text(root, "cac:ContractDocumentReference/cbc:ID"), "BT-12"),
        ("Purchase order", text(root, "cac:OrderReference/cbc:ID"), "BT-13"),
        ("Sales order", text(root, "cac:OrderReference/cbc:SalesOrderID"), "BT-14"),
        ("Receiving advice", text(root, "cac:ReceiptDocumentReference/cbc:ID"), "BT-15"),
        ("Despatch advice", text(root, "cac:DespatchDocumentReference/cbc:ID"), "BT-16"),
        ("Tender or lot", text(root, "cac:OriginatorDocumentReference/cbc:ID"), "BT-17"),
        ("Invoiced object", invoiced_object, "BT-18"),
        ("Buyer accounting reference", text(root, "cbc:AccountingCost"), "BT-19"),
        ("Preceding invoice", preceding, "BT-25"),
    )


# Business terms of a document-level allowance (BG-20) and charge (BG-21), field by field.
_ALLOWANCE_TERMS = {"reason": "BT-97", "amount": "BT-92", "base": "BT-93", "percent": "BT-94", "vat": "BT-95"}
_CHARGE_TERMS = {
    "reason": "BT-104",
    "amount": "BT-99",
    "base": "BT-100",
    "percent": "BT-101",
    "vat": "BT-102",
}


def _allowance_charge(el: Element) -> Section:
    charge = text(el, "cbc:ChargeIndicator") == "true"
    terms = _CHARGE_TERMS if charge else _ALLOWANCE_TERMS
    reason = _joined(
        [text(el, "cbc:AllowanceChargeReason"), text(el, "cbc:AllowanceChargeReasonCode")], " / "
    )
    category = _joined(
        [text(el, "cac:TaxCategory/cbc:ID"), _percent(text(el, "cac:TaxCategory/cbc:Percent"))], " "
    )
    return Section(
        "Charge" if charge else "Allowance",
        _rows(
            ("Reason", reason, terms["reason"]),
            ("Amount", _amount(el, "cbc:Amount"), terms["amount"]),
            ("Base amount", _amount(el, "cbc:BaseAmount"), terms["base"]),
            ("Percentage", _percent(text(el, "cbc:MultiplierFactorNumeric")), terms["percent"]),
            ("VAT", category, terms["vat"]),
        ),
        "BG-21" if charge else "BG-20",
    )


def _percent(value: str | None) -> str | None:
    return f"{value} %" if value else None


def _line(el: Element, credit_note: bool) -> Line:
    quantity_element = "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity"
    quantity = text(el, quantity_element)
    unit = attribute(el, quantity_element, "unitCode")
    price = _amount(el, "cac:Price/cbc:PriceAmount")
    base_quantity = text(el, "cac:Price/cbc:BaseQuantity")
    if price and base_quantity:
        price = f"{price} per {base_quantity}"
    item = el.find("cac:Item", NS)
    period = el.find("cac:InvoicePeriod", NS)
    attributes = _joined(
        _joined([text(prop, "cbc:Name"), text(prop, "cbc:Value")], ": ")
        for prop in (item.iterfind("cac:AdditionalItemProperty", NS) if item is not None else ())
    )
    allowances = _joined(
        _joined(
            [
                "charge" if text(ac, "cbc:ChargeIndicator") == "true" else "allowance",
                _amount(ac, "cbc:Amount"),
                text(ac, "cbc:AllowanceChargeReason"),
            ],
            " ",
        )
        for ac in el.iterfind("cac:AllowanceCharge", NS)
    )
    return Line(
        id=text(el, "cbc:ID") or "",
        name=text(item, "cbc:Name") or "",
        description=text(item, "cbc:Description") or "",
        quantity=_joined([quantity, unit], " ") or "",
        price=price or "",
        vat=_joined(
            [
                text(item, "cac:ClassifiedTaxCategory/cbc:ID"),
                _percent(text(item, "cac:ClassifiedTaxCategory/cbc:Percent")),
            ],
            " ",
        )
        or "",
        net_amount=_amount(el, "cbc:LineExtensionAmount") or "",
        details=_rows(
            ("Note", text(el, "cbc:Note"), "BT-127"),
            ("Object identifier", _identifier(el, "cac:DocumentReference/cbc:ID"), "BT-128"),
            ("Order line", text(el, "cac:OrderLineReference/cbc:LineID"), "BT-132"),
            ("Accounting reference", text(el, "cbc:AccountingCost"), "BT-133"),
            (
                "Period",
                _joined([text(period, "cbc:StartDate"), text(period, "cbc:EndDate")], " to "),
                "BG-26",
            ),
            ("Allowances and charges", allowances, "BG-27"),
            ("Seller's item identifier", text(item, "cac:SellersItemIdentification/cbc:ID"), "BT-155"),
            ("Buyer's item identifier", text(item, "cac:BuyersItemIdentification/cbc:ID"), "BT-156"),
            (
                "Standard item identifier",
                _identifier(item, "cac:StandardItemIdentification/cbc:ID"),
                "BT-157",
            ),
            ("Country of origin", text(item, "cac:OriginCountry/cbc:IdentificationCode"), "BT-159"),
            ("Attributes", attributes, "BG-32"),
        ),
    )


def _vat_breakdown(root: Element) -> tuple[tuple[str, str, str, str, str], ...]:
    rows: list[tuple[str, str, str, str, str]] = []
    for total in root.iterfind("cac:TaxTotal", NS):
        for subtotal in total.iterfind("cac:TaxSubtotal", NS):
            exemption = _joined(
                [
                    text(subtotal, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
                    text(subtotal, "cac:TaxCategory/cbc:TaxExemptionReason"),
                ],
                " ",
            )
            rows.append(
                (
                    text(subtotal, "cac:TaxCategory/cbc:ID") or "",
                    _percent(text(subtotal, "cac:TaxCategory/cbc:Percent")) or "",
                    _amount(subtotal, "cbc:TaxableAmount") or "",
                    _amount(subtotal, "cbc:TaxAmount") or "",
                    exemption or "",
                )
            )
    return tuple(rows)


def _totals(root: Element) -> tuple[Row, ...]:
    totals = root.find("cac:LegalMonetaryTotal", NS)
    document_currency = text(root, "cbc:DocumentCurrencyCode")
    vat_total: str | None = None
    vat_in_accounting_currency: str | None = None
    for total in root.iterfind("cac:TaxTotal", NS):
        amount = _amount(total, "cbc:TaxAmount")
        if attribute(total, "cbc:TaxAmount", "currencyID") in (None, document_currency):
            vat_total = vat_total or amount
        else:
            vat_in_accounting_currency = vat_in_accounting_currency or amount
    return _rows(
        ("Sum of line net amounts", _amount(totals, "cbc:LineExtensionAmount"), "BT-106"),
        ("Sum of allowances", _amount(totals, "cbc:AllowanceTotalAmount"), "BT-107"),
        ("Sum of charges", _amount(totals, "cbc:ChargeTotalAmount"), "BT-108"),
        ("Total without VAT", _amount(totals, "cbc:TaxExclusiveAmount"), "BT-109"),
        ("Total VAT", vat_total, "BT-110"),
        ("Total VAT in accounting currency", vat_in_accounting_currency, "BT-111"),
        ("Total with VAT", _amount(totals, "cbc:TaxInclusiveAmount"), "BT-112"),
        ("Paid amount", _amount(totals, "cbc:PrepaidAmount"), "BT-113"),
        ("Rounding amount", _amount(totals, "cbc:PayableRoundingAmount"), "BT-114"),
        ("Amount due", _amount(totals, "cbc:PayableAmount"), "BT-115"),
    )


def _payment(root: Element) -> list[Section]:
    sections: list[Section] = []
    for means in root.iterfind("cac:PaymentMeans", NS):
        code = text(means, "cbc:PaymentMeansCode")
        name = attribute(means, "cbc:PaymentMeansCode", "name") or PAYMENT_MEANS_NAMES.get(code or "")
        rows = _rows(
            ("Means", _joined([code, name], " "), "BT-81"),
            ("Remittance information", text(means, "cbc:PaymentID"), "BT-83"),
            ("Account", text(means, "cac:PayeeFinancialAccount/cbc:ID"), "BT-84"),
            ("Account name", text(means, "cac:PayeeFinancialAccount/cbc:Name"), "BT-85"),
            (
                "Bank (BIC)",
                text(means, "cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"),
                "BT-86",
            ),
            ("Card (last digits)", text(means, "cac:CardAccount/cbc:PrimaryAccountNumberID"), "BT-87"),
            ("Card holder", text(means, "cac:CardAccount/cbc:HolderName"), "BT-88"),
            ("Mandate", text(means, "cac:PaymentMandate/cbc:ID"), "BT-89"),
            ("Debited account", text(means, "cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"), "BT-91"),
        )
        if rows:
            sections.append(Section("Payment instructions", rows, "BG-16"))
    terms = _joined((text(term, "cbc:Note") for term in root.iterfind("cac:PaymentTerms", NS)), "; ")
    if terms:
        sections.append(Section("Payment terms", (Row("Terms", terms, "BT-20"),)))
    return sections


def _attachments(root: Element) -> list[Section]:
    sections: list[Section] = []
    for reference in root.iterfind("cac:AdditionalDocumentReference", NS):
        if text(reference, "cbc:DocumentTypeCode") in {"130", "50"}:
            continue
        embedded = reference.find("cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS)
        file = None
        if embedded is not None:
            file = _joined([embedded.get("filename"), embedded.get("mimeCode")], ", ") or "embedded file"
        rows = _rows(
            ("Reference", text(reference, "cbc:ID"), "BT-122"),
            ("Description", text(reference, "cbc:DocumentDescription"), "BT-123"),
            ("External location", text(reference, "cac:Attachment/cac:ExternalReference/cbc:URI"), "BT-124"),
            ("Embedded file", file, "BT-125"),
        )
        sections.append(Section("Supporting document", rows, "BG-24"))
    return sections


def build_view(root: Element) -> View:
    """The view of an Invoice or CreditNote root; :class:`NotRenderable` for any other."""
    try:
        kind = document_type(root)
    except WrongDocumentType as error:
        raise NotRenderable(str(error)) from None
    credit_note = kind == "CreditNote"
    line_tag = "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine"
    return View(
        title="Credit note" if credit_note else "Invoice",
        number=text(root, "cbc:ID") or "(no number)",
        header=_header(root, credit_note),
        references=_references(root),
        parties=(_seller(root), _buyer(root), *_other_parties(root)),
        lines=tuple(_line(line, credit_note) for line in root.iterfind(line_tag, NS)),
        allowances_charges=tuple(_allowance_charge(el) for el in root.iterfind("cac:AllowanceCharge", NS)),
        vat_breakdown=_vat_breakdown(root),
        totals=_totals(root),
        payment=tuple(_payment(root)),
        notes=tuple(note for note in (text(el, ".") for el in root.iterfind("cbc:Note", NS)) if note),
        attachments=tuple(_attachments(root)),
        credit_note=credit_note,
    )


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("services.invoicing.ubl", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_invoice_html(data: bytes) -> str:
    """A self-contained HTML page showing the invoice or credit note in ``data``.

    Raises :class:`NotRenderable` when the bytes are not a readable UBL Invoice or CreditNote.
    """
    try:
        root = parse(data)
    except XmlRejected as error:
        raise NotRenderable(f"not a readable XML document: {error.message}") from None
    except TypeError as error:
        raise NotRenderable(str(error)) from None
    view = build_view(root)
    return _environment().get_template("invoice.html").render(view=view)
