"""Small UBL documents for rule tests, and a way to ask one rule where it fires."""

from __future__ import annotations

from lxml import etree

from services.invoicing.validation.rules.base import REGISTRY, Doc, Element

NAMESPACES = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"'
)


def invoice(body: str) -> Element:
    """A UBL Invoice holding ``body`` (prefixes cac and cbc are declared)."""
    return etree.fromstring(
        f'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" {NAMESPACES}>{body}</Invoice>'
    )


def credit_note(body: str) -> Element:
    """A UBL CreditNote holding ``body``."""
    return etree.fromstring(
        f'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2" {NAMESPACES}>{body}</CreditNote>'
    )


def fired(rule_id: str, root: Element) -> list[Element]:
    """The elements at which ``rule_id`` is broken in ``root`` (one per finding)."""
    check = REGISTRY[rule_id].check
    assert check is not None, f"{rule_id} is checked by a group pass"
    return list(check(Doc(root)))


def local(el: Element) -> str:
    return etree.QName(el).localname


def parent_name(el: Element) -> str:
    parent = el.getparent()
    assert parent is not None
    return local(parent)


VAT = "<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>"


def totals(**amounts: str) -> str:
    """A cac:LegalMonetaryTotal with the given cbc amounts, in the schema's order."""
    order = (
        "LineExtensionAmount",
        "TaxExclusiveAmount",
        "TaxInclusiveAmount",
        "AllowanceTotalAmount",
        "ChargeTotalAmount",
        "PrepaidAmount",
        "PayableRoundingAmount",
        "PayableAmount",
    )
    inner = "".join(
        f'<cbc:{name} currencyID="EUR">{amounts[name]}</cbc:{name}>' for name in order if name in amounts
    )
    return f"<cac:LegalMonetaryTotal>{inner}</cac:LegalMonetaryTotal>"


def line(amount: str = "100.00", *, tag: str = "InvoiceLine", extra: str = "") -> str:
    quantity = "CreditedQuantity" if tag == "CreditNoteLine" else "InvoicedQuantity"
    return (
        f'<cac:{tag}><cbc:ID>1</cbc:ID><cbc:{quantity} unitCode="C62">1</cbc:{quantity}>'
        f'<cbc:LineExtensionAmount currencyID="EUR">{amount}</cbc:LineExtensionAmount>{extra}'
        f"<cac:Item><cbc:Name>Item</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID>"
        f"<cbc:Percent>25</cbc:Percent>{VAT}</cac:ClassifiedTaxCategory></cac:Item>"
        f'<cac:Price><cbc:PriceAmount currencyID="EUR">{amount}</cbc:PriceAmount></cac:Price></cac:{tag}>'
    )


def allowance_charge(
    amount: str,
    *,
    charge: bool,
    reason: str = "<cbc:AllowanceChargeReason>Discount</cbc:AllowanceChargeReason>",
) -> str:
    indicator = "true" if charge else "false"
    return (
        f"<cac:AllowanceCharge><cbc:ChargeIndicator>{indicator}</cbc:ChargeIndicator>{reason}"
        f'<cbc:Amount currencyID="EUR">{amount}</cbc:Amount>'
        f"<cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent>{VAT}</cac:TaxCategory></cac:AllowanceCharge>"
    )


def subtotal(taxable: str, tax: str, *, category: str = "S", percent: str | None = "25") -> str:
    rate = "" if percent is None else f"<cbc:Percent>{percent}</cbc:Percent>"
    return (
        f'<cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">{taxable}</cbc:TaxableAmount>'
        f'<cbc:TaxAmount currencyID="EUR">{tax}</cbc:TaxAmount>'
        f"<cac:TaxCategory><cbc:ID>{category}</cbc:ID>{rate}{VAT}</cac:TaxCategory></cac:TaxSubtotal>"
    )
