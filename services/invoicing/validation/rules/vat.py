"""The VAT category rules of EN 16931: BR-S, BR-Z, BR-E, BR-AE, BR-IC, BR-G, BR-O, BR-AF, BR-AG, BR-B.

Every family repeats one pattern for its VAT category code (UNCL 5305), checked by the shapes of
:mod:`vat_checks` (last column: where a finding is located, one per element):

====  ============================================================  ==============================
 -01  a line, allowance or charge of the category needs a VAT        the document
      breakdown (BG-23) of it: ``breakdown_*``
 -02  lines of the category need seller (and buyer) identifiers     the document
 -03  ... so do document level allowances of the category            the document
 -04  ... and document level charges: ``identifiers``                 the document
 -05  the VAT rate (BT-152) of a line of the category: ``rate``      each line category
 -06  the VAT rate (BT-96) of an allowance of the category           each allowance category
 -07  the VAT rate (BT-103) of a charge of the category              each charge category
 -08  taxable amount (BT-116) = lines - allowances + charges:         each breakdown category
      ``taxable_*``
 -09  VAT amount (BT-117) = taxable amount x rate, or zero:           each breakdown category
      ``tax_amount_*``
 -10  exemption reason (BT-120, BT-121) required or forbidden        each breakdown category
====  ============================================================  ==============================

Families without a rate (Z, E, AE, K, G, O) compare whole amounts exactly; S, L and M compare per
rate within the official tolerance of one currency unit. BR-IC-11/12, BR-O-11..14 and BR-B-01/02 are
particular to their family. Where a family's official test departs from the common shape (a missing
VAT scheme filter, a code compared without normalising spaces), the table passes the matcher that
reproduces it, so the verdicts stay those of the CEN/TC 434 artefacts (release 1.3.16).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import localcontext

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules.base import Doc, Element, Rule, register_group
from services.invoicing.validation.rules.vat_checks import (
    VatCheck,
    Where,
    any_scheme,
    as_written,
    breakdown_at_least_one,
    breakdown_exactly_one,
    exemption_reason,
    identifiers,
    intra_community_deliver_to_country,
    intra_community_delivery_date,
    no_vat_ids,
    not_subject_alone,
    rate,
    rate_absent,
    rate_not_negative,
    rate_positive,
    rate_zero,
    seller_and_buyer_vat_ids,
    seller_tax_id,
    seller_tax_id_and_buyer_id,
    seller_vat_id,
    split_payment_domestic,
    split_payment_not_standard,
    tax_amount_at_rate,
    tax_amount_zero,
    taxable_exact,
    taxable_per_rate,
    vat,
    vat_as_written,
)
from services.invoicing.validation.rules.vat_view import EXACT, vat_view


@dataclass(frozen=True, slots=True)
class VatRule:
    """One rule of the table: its id, its check (a shape of :mod:`vat_checks`), terms and message."""

    id: str
    check: VatCheck
    terms: tuple[str, ...]
    message: str


USE_TERMS = ("BG-25", "BG-20", "BG-21", "BT-151", "BT-95", "BT-102", "BG-23", "BT-118")
LINE_TERMS = ("BG-25", "BT-151")
ALLOWANCE_TERMS = ("BG-20", "BT-95")
CHARGE_TERMS = ("BG-21", "BT-102")
SELLER_IDS = ("BT-31", "BT-32", "BT-63")
LINE_RATE_TERMS = ("BG-25", "BT-151", "BT-152")
ALLOWANCE_RATE_TERMS = ("BG-20", "BT-95", "BT-96")
CHARGE_RATE_TERMS = ("BG-21", "BT-102", "BT-103")
TAXABLE_TERMS = ("BG-23", "BT-118", "BT-116", "BT-131", "BT-92", "BT-99")
TAXABLE_BY_RATE_TERMS = (*TAXABLE_TERMS, "BT-119", "BT-152", "BT-96", "BT-103")
TAX_ZERO_TERMS = ("BG-23", "BT-118", "BT-117")
TAX_AT_RATE_TERMS = ("BG-23", "BT-118", "BT-117", "BT-116", "BT-119")
EXEMPTION_TERMS = ("BG-23", "BT-118", "BT-120", "BT-121")

LINE, ALLOWANCE, CHARGE = Where.LINE, Where.ALLOWANCE, Where.CHARGE

# fmt: off
RULES: tuple[VatRule, ...] = (
    # S: Standard rated. BR-S-01 counts categories of any scheme; BR-S-02 guards on S lines of any scheme.
    VatRule("BR-S-01", breakdown_at_least_one("S", uses=any_scheme("S"), present=any_scheme("S"), absent=any_scheme("S")), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'S' (Standard rated) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'S', and a breakdown 'S' needs such a line, allowance or charge."),
    VatRule("BR-S-02", identifiers("S", LINE, seller_tax_id, guard=any_scheme("S")), (*LINE_TERMS, *SELLER_IDS),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-S-03", identifiers("S", ALLOWANCE, seller_tax_id), (*ALLOWANCE_TERMS, *SELLER_IDS),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-S-04", identifiers("S", CHARGE, seller_tax_id), (*CHARGE_TERMS, *SELLER_IDS),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'S' (Standard rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-S-05", rate("S", LINE, rate_positive), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'S' (Standard rated) must have an Invoiced item VAT rate (BT-152) greater than zero."),
    VatRule("BR-S-06", rate("S", ALLOWANCE, rate_positive), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'S' (Standard rated) must have a Document level allowance VAT rate (BT-96) greater than zero."),
    VatRule("BR-S-07", rate("S", CHARGE, rate_positive), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'S' (Standard rated) must have a Document level charge VAT rate (BT-103) greater than zero."),
    VatRule("BR-S-08", taxable_per_rate("S", needs_posting=True), TAXABLE_BY_RATE_TERMS,
            "For each VAT category rate (BT-119) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'S' (Standard rated), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'S' at that rate (BT-152, BT-96, BT-103)."),
    VatRule("BR-S-09", tax_amount_at_rate("S"), TAX_AT_RATE_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'S' (Standard rated) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals."),
    VatRule("BR-S-10", exemption_reason("S", required=False), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'S' (Standard rated) must not have a VAT exemption reason text (BT-120) or code (BT-121)."),
    # Z: Zero rated.
    VatRule("BR-Z-01", breakdown_exactly_one("Z"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'Z' (Zero rated) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'Z'."),
    VatRule("BR-Z-02", identifiers("Z", LINE, seller_tax_id), (*LINE_TERMS, *SELLER_IDS),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-Z-03", identifiers("Z", ALLOWANCE, seller_tax_id), (*ALLOWANCE_TERMS, *SELLER_IDS),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-Z-04", identifiers("Z", CHARGE, seller_tax_id), (*CHARGE_TERMS, *SELLER_IDS),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'Z' (Zero rated) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-Z-05", rate("Z", LINE, rate_zero), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'Z' (Zero rated) must have an Invoiced item VAT rate (BT-152) of zero."),
    VatRule("BR-Z-06", rate("Z", ALLOWANCE, rate_zero), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'Z' (Zero rated) must have a Document level allowance VAT rate (BT-96) of zero."),
    VatRule("BR-Z-07", rate("Z", CHARGE, rate_zero), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'Z' (Zero rated) must have a Document level charge VAT rate (BT-103) of zero."),
    VatRule("BR-Z-08", taxable_exact("Z"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'Z' (Zero rated) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'Z'."),
    VatRule("BR-Z-09", tax_amount_zero("Z"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'Z' (Zero rated) must be zero."),
    VatRule("BR-Z-10", exemption_reason("Z", required=False), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'Z' (Zero rated) must not have a VAT exemption reason text (BT-120) or code (BT-121)."),
    # E: Exempt from VAT.
    VatRule("BR-E-01", breakdown_exactly_one("E"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'E' (Exempt from VAT) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'E'."),
    VatRule("BR-E-02", identifiers("E", LINE, seller_tax_id), (*LINE_TERMS, *SELLER_IDS),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-E-03", identifiers("E", ALLOWANCE, seller_tax_id), (*ALLOWANCE_TERMS, *SELLER_IDS),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-E-04", identifiers("E", CHARGE, seller_tax_id), (*CHARGE_TERMS, *SELLER_IDS),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'E' (Exempt from VAT) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-E-05", rate("E", LINE, rate_zero), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'E' (Exempt from VAT) must have an Invoiced item VAT rate (BT-152) of zero."),
    VatRule("BR-E-06", rate("E", ALLOWANCE, rate_zero), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'E' (Exempt from VAT) must have a Document level allowance VAT rate (BT-96) of zero."),
    VatRule("BR-E-07", rate("E", CHARGE, rate_zero), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'E' (Exempt from VAT) must have a Document level charge VAT rate (BT-103) of zero."),
    VatRule("BR-E-08", taxable_exact("E"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'E' (Exempt from VAT) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'E'."),
    VatRule("BR-E-09", tax_amount_zero("E"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'E' (Exempt from VAT) must be zero."),
    VatRule("BR-E-10", exemption_reason("E", required=True), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'E' (Exempt from VAT) must have a VAT exemption reason text (BT-120) or code (BT-121)."),
    # AE: Reverse charge; the buyer must be identified too.
    VatRule("BR-AE-01", breakdown_exactly_one("AE"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'AE' (Reverse charge) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'AE'."),
    VatRule("BR-AE-02", identifiers("AE", LINE, seller_tax_id_and_buyer_id), (*LINE_TERMS, *SELLER_IDS, "BT-48", "BT-47"),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47)."),
    VatRule("BR-AE-03", identifiers("AE", ALLOWANCE, seller_tax_id_and_buyer_id), (*ALLOWANCE_TERMS, *SELLER_IDS, "BT-48", "BT-47"),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47)."),
    VatRule("BR-AE-04", identifiers("AE", CHARGE, seller_tax_id_and_buyer_id), (*CHARGE_TERMS, *SELLER_IDS, "BT-48", "BT-47"),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'AE' (Reverse charge) requires the Seller VAT identifier (BT-31), tax registration identifier (BT-32) or tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48) or legal registration identifier (BT-47)."),
    VatRule("BR-AE-05", rate("AE", LINE, rate_zero), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'AE' (Reverse charge) must have an Invoiced item VAT rate (BT-152) of zero."),
    VatRule("BR-AE-06", rate("AE", ALLOWANCE, rate_zero), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'AE' (Reverse charge) must have a Document level allowance VAT rate (BT-96) of zero."),
    VatRule("BR-AE-07", rate("AE", CHARGE, rate_zero), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'AE' (Reverse charge) must have a Document level charge VAT rate (BT-103) of zero."),
    VatRule("BR-AE-08", taxable_exact("AE"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'AE' (Reverse charge) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'AE'."),
    VatRule("BR-AE-09", tax_amount_zero("AE"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'AE' (Reverse charge) must be zero."),
    VatRule("BR-AE-10", exemption_reason("AE", required=True), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'AE' (Reverse charge) must have a VAT exemption reason text (BT-120) or code (BT-121) saying reverse charge."),
    # K: Intra-community supply; seller and buyer VAT identifiers, delivery date and country.
    VatRule("BR-IC-01", breakdown_exactly_one("K"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'K' (Intra-community supply) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'K'."),
    VatRule("BR-IC-02", identifiers("K", LINE, seller_and_buyer_vat_ids), (*LINE_TERMS, "BT-31", "BT-63", "BT-48"),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-IC-03", identifiers("K", ALLOWANCE, seller_and_buyer_vat_ids), (*ALLOWANCE_TERMS, "BT-31", "BT-63", "BT-48"),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-IC-04", identifiers("K", CHARGE, seller_and_buyer_vat_ids), (*CHARGE_TERMS, "BT-31", "BT-63", "BT-48"),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'K' (Intra-community supply) requires the Seller VAT identifier (BT-31) or Seller tax representative VAT identifier (BT-63), and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-IC-05", rate("K", LINE, rate_zero), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'K' (Intra-community supply) must have an Invoiced item VAT rate (BT-152) of zero."),
    VatRule("BR-IC-06", rate("K", ALLOWANCE, rate_zero), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'K' (Intra-community supply) must have a Document level allowance VAT rate (BT-96) of zero."),
    VatRule("BR-IC-07", rate("K", CHARGE, rate_zero), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'K' (Intra-community supply) must have a Document level charge VAT rate (BT-103) of zero."),
    VatRule("BR-IC-08", taxable_exact("K"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'K' (Intra-community supply) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'K'."),
    VatRule("BR-IC-09", tax_amount_zero("K"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'K' (Intra-community supply) must be zero."),
    VatRule("BR-IC-10", exemption_reason("K", required=True), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'K' (Intra-community supply) must have a VAT exemption reason text (BT-120) or code (BT-121) saying intra-community supply."),
    VatRule("BR-IC-11", intra_community_delivery_date, ("BG-23", "BT-118", "BT-72", "BG-14"),
            "An Invoice with a VAT breakdown (BG-23) 'K' (Intra-community supply, BT-118) must give the Actual delivery date (BT-72) or the Invoicing period (BG-14)."),
    VatRule("BR-IC-12", intra_community_deliver_to_country, ("BG-23", "BT-118", "BT-80"),
            "An Invoice with a VAT breakdown (BG-23) 'K' (Intra-community supply, BT-118) must give the Deliver to country code (BT-80)."),
    # G: Export outside the EU. BR-G-03/04 look for the category without the scheme filter first.
    VatRule("BR-G-01", breakdown_exactly_one("G"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'G' (Export outside the EU) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'G'."),
    VatRule("BR-G-02", identifiers("G", LINE, seller_vat_id), (*LINE_TERMS, "BT-31", "BT-63"),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-G-03", identifiers("G", ALLOWANCE, seller_vat_id, trigger=any_scheme("G")), (*ALLOWANCE_TERMS, "BT-31", "BT-63"),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-G-04", identifiers("G", CHARGE, seller_vat_id, trigger=any_scheme("G")), (*CHARGE_TERMS, "BT-31", "BT-63"),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'G' (Export outside the EU) requires the Seller VAT identifier (BT-31) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-G-05", rate("G", LINE, rate_zero), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'G' (Export outside the EU) must have an Invoiced item VAT rate (BT-152) of zero."),
    VatRule("BR-G-06", rate("G", ALLOWANCE, rate_zero), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'G' (Export outside the EU) must have a Document level allowance VAT rate (BT-96) of zero."),
    VatRule("BR-G-07", rate("G", CHARGE, rate_zero), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'G' (Export outside the EU) must have a Document level charge VAT rate (BT-103) of zero."),
    VatRule("BR-G-08", taxable_exact("G"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'G' (Export outside the EU) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'G'."),
    VatRule("BR-G-09", tax_amount_zero("G"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'G' (Export outside the EU) must be zero."),
    VatRule("BR-G-10", exemption_reason("G", required=True), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'G' (Export outside the EU) must have a VAT exemption reason text (BT-120) or code (BT-121) saying export outside the EU."),
    # O: Not subject to VAT; no VAT identifiers, no rate, and no other category beside it.
    # BR-O-03/04 look at document level allowances and charges only.
    VatRule("BR-O-01", breakdown_exactly_one("O"), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'O' (Not subject to VAT) needs exactly one VAT breakdown (BG-23) with VAT category code (BT-118) 'O'."),
    VatRule("BR-O-02", identifiers("O", LINE, no_vat_ids), (*LINE_TERMS, "BT-31", "BT-63", "BT-48"),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-O-03", identifiers("O", ALLOWANCE, no_vat_ids, document_level=True), (*ALLOWANCE_TERMS, "BT-31", "BT-63", "BT-48"),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-O-04", identifiers("O", CHARGE, no_vat_ids, document_level=True), (*CHARGE_TERMS, "BT-31", "BT-63", "BT-48"),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'O' (Not subject to VAT) excludes the Seller VAT identifier (BT-31), the Seller tax representative VAT identifier (BT-63) and the Buyer VAT identifier (BT-48)."),
    VatRule("BR-O-05", rate("O", LINE, rate_absent), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'O' (Not subject to VAT) must not have an Invoiced item VAT rate (BT-152)."),
    VatRule("BR-O-06", rate("O", ALLOWANCE, rate_absent), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'O' (Not subject to VAT) must not have a Document level allowance VAT rate (BT-96)."),
    VatRule("BR-O-07", rate("O", CHARGE, rate_absent), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'O' (Not subject to VAT) must not have a Document level charge VAT rate (BT-103)."),
    VatRule("BR-O-08", taxable_exact("O"), TAXABLE_TERMS,
            "The VAT category taxable amount (BT-116) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'O' (Not subject to VAT) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'O'."),
    VatRule("BR-O-09", tax_amount_zero("O"), TAX_ZERO_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'O' (Not subject to VAT) must be zero."),
    VatRule("BR-O-10", exemption_reason("O", required=True), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'O' (Not subject to VAT) must have a VAT exemption reason text (BT-120) or code (BT-121) saying not subject to VAT."),
    VatRule("BR-O-11", not_subject_alone(lambda v: v.breakdown_categories), ("BG-23", "BT-118"),
            "An Invoice with a VAT breakdown (BG-23) 'O' (Not subject to VAT, BT-118) must not have a VAT breakdown of any other category."),
    VatRule("BR-O-12", not_subject_alone(lambda v: v.classified), ("BG-23", "BT-118", "BG-25", "BT-151"),
            "An Invoice with a VAT breakdown (BG-23) 'O' (Not subject to VAT, BT-118) must not have an Invoice line (BG-25) whose Invoiced item VAT category code (BT-151) is not 'O'."),
    VatRule("BR-O-13", not_subject_alone(lambda v: v.allowance_categories(charge=False)), ("BG-23", "BT-118", "BG-20", "BT-95"),
            "An Invoice with a VAT breakdown (BG-23) 'O' (Not subject to VAT, BT-118) must not have a Document level allowance (BG-20) whose VAT category code (BT-95) is not 'O'."),
    VatRule("BR-O-14", not_subject_alone(lambda v: v.allowance_categories(charge=True)), ("BG-23", "BT-118", "BG-21", "BT-102"),
            "An Invoice with a VAT breakdown (BG-23) 'O' (Not subject to VAT, BT-118) must not have a Document level charge (BG-21) whose VAT category code (BT-102) is not 'O'."),
    # L: IGIC (Canary Islands), rated like S but a zero rate is allowed. CEN unit files: BR-IG-*.
    # BR-AF-01 counts the breakdowns by the code as written, of any scheme; BR-AF-04 guards on it as written.
    VatRule("BR-AF-01", breakdown_at_least_one("L", uses=vat("L"), present=as_written("L"), absent=vat("L")), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'L' (IGIC) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'L', and a breakdown 'L' needs such a line, allowance or charge."),
    VatRule("BR-AF-02", identifiers("L", LINE, seller_tax_id), (*LINE_TERMS, *SELLER_IDS),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AF-03", identifiers("L", ALLOWANCE, seller_tax_id), (*ALLOWANCE_TERMS, *SELLER_IDS),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AF-04", identifiers("L", CHARGE, seller_tax_id, guard=vat_as_written("L")), (*CHARGE_TERMS, *SELLER_IDS),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'L' (IGIC) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AF-05", rate("L", LINE, rate_not_negative), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'L' (IGIC) must have an Invoiced item VAT rate (BT-152) of zero or more."),
    VatRule("BR-AF-06", rate("L", ALLOWANCE, rate_not_negative), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'L' (IGIC) must have a Document level allowance VAT rate (BT-96) of zero or more."),
    VatRule("BR-AF-07", rate("L", CHARGE, rate_not_negative), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'L' (IGIC) must have a Document level charge VAT rate (BT-103) of zero or more."),
    VatRule("BR-AF-08", taxable_per_rate("L", needs_posting=False), TAXABLE_BY_RATE_TERMS,
            "For each VAT category rate (BT-119) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'L' (IGIC), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'L' at that rate (BT-152, BT-96, BT-103)."),
    VatRule("BR-AF-09", tax_amount_at_rate("L"), TAX_AT_RATE_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'L' (IGIC) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals."),
    VatRule("BR-AF-10", exemption_reason("L", required=False), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'L' (IGIC) must not have a VAT exemption reason text (BT-120) or code (BT-121)."),
    # M: IPSI (Ceuta and Melilla), as L. CEN unit files: BR-IP-*. BR-AG-01 counts breakdowns by the code as written.
    VatRule("BR-AG-01", breakdown_at_least_one("M", uses=vat("M"), present=vat_as_written("M"), absent=vat("M")), USE_TERMS,
            "A line (BG-25), allowance (BG-20) or charge (BG-21) with VAT category code (BT-151, BT-95, BT-102) 'M' (IPSI) needs at least one VAT breakdown (BG-23) with VAT category code (BT-118) 'M', and a breakdown 'M' needs such a line, allowance or charge."),
    VatRule("BR-AG-02", identifiers("M", LINE, seller_tax_id), (*LINE_TERMS, *SELLER_IDS),
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AG-03", identifiers("M", ALLOWANCE, seller_tax_id), (*ALLOWANCE_TERMS, *SELLER_IDS),
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AG-04", identifiers("M", CHARGE, seller_tax_id), (*CHARGE_TERMS, *SELLER_IDS),
            "A Document level charge (BG-21) with VAT category code (BT-102) 'M' (IPSI) requires the Seller VAT identifier (BT-31), the Seller tax registration identifier (BT-32) or the Seller tax representative VAT identifier (BT-63)."),
    VatRule("BR-AG-05", rate("M", LINE, rate_not_negative), LINE_RATE_TERMS,
            "An Invoice line (BG-25) with Invoiced item VAT category code (BT-151) 'M' (IPSI) must have an Invoiced item VAT rate (BT-152) of zero or more."),
    VatRule("BR-AG-06", rate("M", ALLOWANCE, rate_not_negative), ALLOWANCE_RATE_TERMS,
            "A Document level allowance (BG-20) with VAT category code (BT-95) 'M' (IPSI) must have a Document level allowance VAT rate (BT-96) of zero or more."),
    VatRule("BR-AG-07", rate("M", CHARGE, rate_not_negative), CHARGE_RATE_TERMS,
            "A Document level charge (BG-21) with VAT category code (BT-102) 'M' (IPSI) must have a Document level charge VAT rate (BT-103) of zero or more."),
    VatRule("BR-AG-08", taxable_per_rate("M", needs_posting=False), TAXABLE_BY_RATE_TERMS,
            "For each VAT category rate (BT-119) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'M' (IPSI), the VAT category taxable amount (BT-116) must equal the Invoice line net amounts (BT-131) minus the Document level allowance amounts (BT-92) plus the Document level charge amounts (BT-99) of category 'M' at that rate (BT-152, BT-96, BT-103)."),
    VatRule("BR-AG-09", tax_amount_at_rate("M"), TAX_AT_RATE_TERMS,
            "The VAT category tax amount (BT-117) of a VAT breakdown (BG-23) with VAT category code (BT-118) 'M' (IPSI) must equal the VAT category taxable amount (BT-116) times the VAT category rate (BT-119), rounded to two decimals."),
    VatRule("BR-AG-10", exemption_reason("M", required=False), EXEMPTION_TERMS,
            "A VAT breakdown (BG-23) with VAT category code (BT-118) 'M' (IPSI) must not have a VAT exemption reason text (BT-120) or code (BT-121)."),
    # B: Split payment (Italy).
    VatRule("BR-B-01", split_payment_domestic, ("BT-151", "BT-95", "BT-102", "BT-40", "BT-55"),
            "An Invoice with VAT category code (BT-151, BT-95, BT-102) 'B' (Split payment) must be a domestic Italian invoice: every country code (e.g. BT-40, BT-55) must be IT."),
    VatRule("BR-B-02", split_payment_not_standard, ("BG-25", "BG-20", "BG-21", "BT-151", "BT-95", "BT-102"),
            "An Invoice with a line (BG-25), allowance (BG-20) or charge (BG-21) of VAT category code (BT-151, BT-95, BT-102) 'B' (Split payment) must not have one of category 'S' (Standard rated)."),
)
# fmt: on

# The VAT category code whose presence each family needs: none of a family's rules can be broken
# by a document in which no tax category names its code, so the whole family is skipped there.
FAMILY_CODES = {
    "BR-S": "S",
    "BR-Z": "Z",
    "BR-E": "E",
    "BR-AE": "AE",
    "BR-IC": "K",
    "BR-G": "G",
    "BR-O": "O",
    "BR-AF": "L",
    "BR-AG": "M",
    "BR-B": "B",
}
BY_CODE: dict[str, list[VatRule]] = {}
for _vat_rule in RULES:
    BY_CODE.setdefault(FAMILY_CODES[_vat_rule.id.rsplit("-", 1)[0]], []).append(_vat_rule)


def vat_category_rules(doc: Doc) -> Iterator[tuple[str, Element]]:
    """Run the rules of every family whose VAT category code occurs in the document.

    The checks run under a wide decimal context, as xs:decimal sums and products are exact; the
    findings are collected first so that the context never leaks to the caller between yields.
    """
    view = vat_view(doc)
    with localcontext(EXACT):
        found = [
            (vat_rule.id, el)
            for code, rules in BY_CODE.items()
            if code in view.present_codes
            for vat_rule in rules
            for el in vat_rule.check(view)
        ]
    yield from found


register_group((Rule(r.id, Severity.FATAL, r.terms, r.message, None) for r in RULES), vat_category_rules)
