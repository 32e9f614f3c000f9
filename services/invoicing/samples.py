"""Sample UBL 2.1 invoices and credit notes addressed to the configured municipality, for tests,
the benchmark and demos: totals are computed so that every EN 16931 calculation rule holds.

Every value is escaped, so a caller can put hostile text in a name and get well-formed XML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from services.common.settings import MunicipalitySettings

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class SampleParty:
    name: str
    vat_id: str
    endpoint: str  # SCHEME:ID (BT-34 / BT-49)
    country: str


def _money(value: Decimal) -> str:
    return str(value.quantize(_CENT))


def _party(party: SampleParty, *, legal_id: str | None = None) -> str:
    scheme, _, endpoint = party.endpoint.partition(":")
    legal = f"<cbc:CompanyID>{escape(legal_id)}</cbc:CompanyID>" if legal_id else ""
    return (
        "<cac:Party>"
        f'<cbc:EndpointID schemeID="{escape(scheme)}">{escape(endpoint)}</cbc:EndpointID>'
        "<cac:PostalAddress><cbc:StreetName>Via Roma 1</cbc:StreetName><cbc:CityName>Demo</cbc:CityName>"
        f"<cbc:PostalZone>00100</cbc:PostalZone><cac:Country><cbc:IdentificationCode>{party.country}"
        "</cbc:IdentificationCode></cac:Country></cac:PostalAddress>"
        f"<cac:PartyTaxScheme><cbc:CompanyID>{escape(party.vat_id)}</cbc:CompanyID>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{escape(party.name)}</cbc:RegistrationName>"
        f"{legal}</cac:PartyLegalEntity>"
        "</cac:Party>"
    )


def default_seller(vat_id: str = "IT01234567890") -> SampleParty:
    return SampleParty("Forniture Demo S.r.l.", vat_id, f"0211:{vat_id}", "IT")


def sample_invoice(
    *,
    number: str = "INV-2026-0001",
    issue_date: dt.date = dt.date(2026, 3, 2),
    seller: SampleParty | None = None,
    municipality: MunicipalitySettings | None = None,
    buyer_reference: str | None = None,
    lines: int = 20,
    credit_note: bool = False,
    extra: str = "",
) -> bytes:
    """An EN 16931 invoice (or credit note) of ``lines`` lines at 22 % VAT, from ``seller`` to the
    municipality; ``extra`` is inserted after the buyer reference (e.g. attachments, BG-24)."""
    seller = seller or default_seller()
    town = municipality or MunicipalitySettings()
    buyer = SampleParty(town.name, town.vat_id, town.endpoint_id, town.country)
    reference = buyer_reference if buyer_reference is not None else town.routing_code_list[0]
    kind = "CreditNote" if credit_note else "Invoice"
    line_tag = "CreditNoteLine" if credit_note else "InvoiceLine"
    quantity_tag = "CreditedQuantity" if credit_note else "InvoicedQuantity"
    body: list[str] = []
    net = Decimal(0)
    for n in range(1, lines + 1):
        quantity = Decimal(n % 7 + 1)
        price = Decimal(10 + n) + Decimal("0.25")
        amount = (quantity * price).quantize(_CENT)
        net += amount
        body.append(
            f"<cac:{line_tag}><cbc:ID>{n}</cbc:ID>"
            f'<cbc:{quantity_tag} unitCode="C62">{quantity}</cbc:{quantity_tag}>'
            f'<cbc:LineExtensionAmount currencyID="EUR">{_money(amount)}</cbc:LineExtensionAmount>'
            f"<cac:Item><cbc:Name>Office supplies item {n}</cbc:Name>"
            "<cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>22</cbc:Percent>"
            "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>"
            f'<cac:Price><cbc:PriceAmount currencyID="EUR">{_money(price)}</cbc:PriceAmount></cac:Price>'
            f"</cac:{line_tag}>"
        )
    vat = (net * Decimal("0.22")).quantize(_CENT)
    gross = net + vat
    type_code = (
        "<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>"
        if credit_note
        else f"<cbc:DueDate>{issue_date + dt.timedelta(days=30)}</cbc:DueDate>"
        "<cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>"
    )
    namespace = f"urn:oasis:names:specification:ubl:schema:xsd:{kind}-2"
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{kind} xmlns="{namespace}" '
        'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        "<cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>"
        f"<cbc:ID>{escape(number)}</cbc:ID><cbc:IssueDate>{issue_date.isoformat()}</cbc:IssueDate>"
        f"{type_code}<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>"
        f"<cbc:BuyerReference>{escape(reference)}</cbc:BuyerReference>{extra}"
        f"<cac:AccountingSupplierParty>{_party(seller)}</cac:AccountingSupplierParty>"
        f"<cac:AccountingCustomerParty>{_party(buyer, legal_id=town.legal_id)}</cac:AccountingCustomerParty>"
        "<cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>"
        "<cac:PayeeFinancialAccount><cbc:ID>IT60X0542811101000000123456</cbc:ID></cac:PayeeFinancialAccount>"
        "</cac:PaymentMeans>"
        f'<cac:TaxTotal><cbc:TaxAmount currencyID="EUR">{_money(vat)}</cbc:TaxAmount>'
        f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">{_money(net)}</cbc:TaxableAmount>'
        f'<cbc:TaxAmount currencyID="EUR">{_money(vat)}</cbc:TaxAmount>'
        "<cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>22</cbc:Percent>"
        "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>"
        "<cac:LegalMonetaryTotal>"
        f'<cbc:LineExtensionAmount currencyID="EUR">{_money(net)}</cbc:LineExtensionAmount>'
        f'<cbc:TaxExclusiveAmount currencyID="EUR">{_money(net)}</cbc:TaxExclusiveAmount>'
        f'<cbc:TaxInclusiveAmount currencyID="EUR">{_money(gross)}</cbc:TaxInclusiveAmount>'
        f'<cbc:PayableAmount currencyID="EUR">{_money(gross)}</cbc:PayableAmount>'
        "</cac:LegalMonetaryTotal>" + "".join(body) + f"</{kind}>"
    )
    return document.encode()
