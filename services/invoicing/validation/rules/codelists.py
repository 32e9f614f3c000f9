"""Code-list rules BR-CL-01..BR-CL-26: coded values must come from the lists EN 16931 names.

The rules are checked in one pass (:func:`code_list_breaches`) over the shared element index: each
element a rule reads is dispatched on its name (and, for identifiers, its parent) to the one rule whose
context it is. The lists themselves are generated facts in :mod:`.codelist_data` (CEN/TC 434 artefacts
release 1.3.16).

How a value is compared, as in the artefacts: leading and trailing XML whitespace is ignored and the
rest must be one list entry (so an empty or missing value, or one with inner spaces, is wrong).
BR-CL-22 also ignores case; BR-CL-24 compares the MIME code exactly. An amount without ``@currencyID``
breaks BR-CL-03, since its missing code is not in the list either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules import codelist_data as lists
from services.invoicing.validation.rules._tree import by_tag
from services.invoicing.validation.rules.base import NS, Doc, Element, Rule, register_group

CBC = "{" + NS["cbc"] + "}"
CAC = "{" + NS["cac"] + "}"
XML_SPACE = " \t\n\r"
INVOICE_TAG = "{" + NS["inv"] + "}Invoice"


def _rule(rule_id: str, terms: tuple[str, ...], message: str) -> Rule:
    return Rule(rule_id, Severity.FATAL, terms, message, None)


RULES = (
    _rule(
        "BR-CL-01",
        ("BT-3",),
        "Invoice type code (BT-3) must be a UNTDID 1001 code allowed for invoices "
        "(cbc:InvoiceTypeCode) or for credit notes (cbc:CreditNoteTypeCode).",
    ),
    _rule("BR-CL-03", ("BT-5",), "The currency of an amount (@currencyID) must be an ISO 4217 alpha-3 code."),
    _rule("BR-CL-04", ("BT-5",), "Invoice currency code (BT-5) must be an ISO 4217 alpha-3 code."),
    _rule("BR-CL-05", ("BT-6",), "VAT accounting currency code (BT-6) must be an ISO 4217 alpha-3 code."),
    _rule(
        "BR-CL-06",
        ("BT-8",),
        "Value added tax point date code (BT-8) must be one of the UNTDID 2005 codes 3, 35 or 432.",
    ),
    _rule(
        "BR-CL-07",
        ("BT-18",),
        "The scheme of the Invoiced object identifier (BT-18) must be a UNTDID 1153 code.",
    ),
    _rule(
        "BR-CL-08",
        ("BT-21",),
        "An invoice note subject code (BT-21), written between '#' signs at the start of the note, must be a "
        "UNTDID 4451 code.",
    ),
    _rule(
        "BR-CL-10",
        ("BT-29", "BT-46", "BT-60"),
        "The scheme of a party identifier must be an ISO/IEC 6523 "
        "ICD code (SEPA is accepted only for the Seller or the Payee).",
    ),
    _rule(
        "BR-CL-11",
        ("BT-30", "BT-47", "BT-61"),
        "The scheme of a legal registration identifier must be an ISO/IEC 6523 ICD code.",
    ),
    _rule(
        "BR-CL-13",
        ("BT-158",),
        "The scheme of an Item classification identifier (BT-158) must be a UNTDID 7143 code.",
    ),
    _rule(
        "BR-CL-14", ("BT-40", "BT-55", "BT-69", "BT-80"), "A country code must be an ISO 3166-1 alpha-2 code."
    ),
    _rule("BR-CL-15", ("BT-159",), "Item country of origin (BT-159) must be an ISO 3166-1 alpha-2 code."),
    _rule("BR-CL-16", ("BT-81",), "Payment means type code (BT-81) must be a UNTDID 4461 code."),
    _rule(
        "BR-CL-17",
        ("BT-95", "BT-102", "BT-118"),
        "A VAT category code must be a UNTDID 5305 code used by EN 16931.",
    ),
    _rule(
        "BR-CL-18",
        ("BT-151",),
        "Invoiced item VAT category code (BT-151) must be a UNTDID 5305 code used by EN 16931.",
    ),
    _rule("BR-CL-19", ("BT-98", "BT-140"), "An allowance reason code must be a UNTDID 5189 code."),
    _rule("BR-CL-20", ("BT-105", "BT-145"), "A charge reason code must be a UNTDID 7161 code."),
    _rule(
        "BR-CL-21",
        ("BT-157",),
        "The scheme of an Item standard identifier (BT-157) must be an ISO/IEC 6523 ICD code.",
    ),
    _rule("BR-CL-22", ("BT-121",), "VAT exemption reason code (BT-121) must be a code of the VATEX list."),
    _rule(
        "BR-CL-23",
        ("BT-130", "BT-150"),
        "A unit of measure code must be a UN/ECE Recommendation 20 code "
        "(with the Recommendation 21 extension).",
    ),
    _rule(
        "BR-CL-24",
        ("BT-125",),
        "The MIME code of an attached document (BT-125) must be one of the MIME types EN 16931 allows.",
    ),
    _rule(
        "BR-CL-25", ("BT-34", "BT-49"), "The scheme of an electronic address must be a code of the EAS list."
    ),
    _rule(
        "BR-CL-26",
        ("BT-71",),
        "The scheme of a Deliver to location identifier (BT-71) must be an ISO/IEC 6523 ICD code.",
    ),
)

# UNTDID 4451 text subject qualifiers for BR-CL-08. The shared code-list file has no list for this rule
# (the artefacts test it in the model rules, not the code-list rules), so the codes of the release 1.3.16
# assertion are kept here as facts. The assertion looks for the subject as a substring of this spaced
# listing, which is reproduced as is.
NOTE_SUBJECT_LISTING = (
    " AAA AAB AAC AAD AAE AAF AAG AAI AAJ AAK AAL AAM AAN AAO AAP AAQ AAR AAS AAT AAU AAV AAW AAX AAY AAZ ABA"
    " ABB ABC ABD ABE ABF ABG ABH ABI ABJ ABK ABL ABM ABN ABO ABP ABQ ABR ABS ABT ABU ABV ABW ABX ABZ ACA ACB"
    " ACC ACD ACE ACF ACG ACH ACI ACJ ACK ACL ACM ACN ACO ACP ACQ ACR ACS ACT ACU ACV ACW ACX ACY ACZ ADA ADB"
    " ADC ADD ADE ADF ADG ADH ADI ADJ ADK ADL ADM ADN ADO ADP ADQ ADR ADS ADT ADU ADV ADW ADX ADY ADZ AEA AEB"
    " AEC AED AEE AEF AEG AEH AEI AEJ AEK AEL AEM AEN AEO AEP AEQ AER AES AET AEU AEV AEW AEX AEY AEZ AFA AFB"
    " AFC AFD AFE AFF AFG AFH AFI AFJ AFK AFL AFM AFN AFO AFP AFQ AFR AFS AFT AFU AFV AFW AFX AFY AFZ AGA AGB"
    " AGC AGD AGE AGF AGG AGH AGI AGJ AGK AGL AGM AGN AGO AGP AGQ AGR AGS AGT AGU AGV AGW AGX AGY AGZ AHA AHB"
    " AHC AHD AHE AHF AHG AHH AHI AHJ AHK AHL AHM AHN AHO AHP AHQ AHR AHS AHT AHU AHV AHW AHX AHY AHZ AIA AIB"
    " AIC AID AIE AIF AIG AIH AII AIJ AIK AIL AIM AIN AIO AIP AIQ AIR AIS AIT AIU AIV AIW AIX AIY AIZ AJA AJB"
    " ALC ALD ALE ALF ALG ALH ALI ALJ ALK ALL ALM ALN ALO ALP ALQ ARR ARS AUT AUU AUV AUW AUX AUY AUZ AVA AVB"
    " AVC AVD AVE AVF BAG BAH BAI BAJ BAK BAL BAM BAN BAO BAP BAQ BLC BLD BLE BLF BLG BLH BLI BLJ BLK BLL BLM"
    " BLN BLO BLP BLQ BLR BLS BLT BLU BLV BLW BLX BLY BLZ BMA BMB BMC BMD BME CCI CEX CHG CIP CLP CLR COI CUR"
    " CUS DAR DCL DEL DIN DOC DUT EUR FBC GBL GEN GS7 HAN HAZ ICN IIN IMI IND INS INV IRP ITR ITS LAN LIN LOI"
    " MCO MDH MKS ORI OSI PAC PAI PAY PKG PKT PMD PMT PRD PRF PRI PUR QIN QQD QUT RAH REG RET REV RQR SAF SIC"
    " SIN SLR SPA SPG SPH SPP SPT SRN SSR SUR TCA TDT TRA TRR TXD WHI ZZZ "
)

AMOUNT_TAGS = frozenset(
    CBC + name
    for name in (
        "Amount",
        "BaseAmount",
        "PriceAmount",
        "TaxAmount",
        "TaxableAmount",
        "LineExtensionAmount",
        "TaxExclusiveAmount",
        "TaxInclusiveAmount",
        "AllowanceTotalAmount",
        "ChargeTotalAmount",
        "PrepaidAmount",
        "PayableRoundingAmount",
        "PayableAmount",
    )
)
QUANTITY_TAGS = frozenset(CBC + name for name in ("InvoicedQuantity", "BaseQuantity", "CreditedQuantity"))


def _value(el: Element) -> str:
    """The element's string value (its text, also through child nodes, if any)."""
    if len(el):
        return "".join(part for part in el.itertext() if isinstance(part, str))
    return el.text or ""


def _coded(value: str | None, allowed: frozenset[str]) -> bool:
    """True when ``value``, trimmed of XML whitespace, is one entry of ``allowed``."""
    return value is not None and value.strip(XML_SPACE) in allowed


def _boolean(value: str) -> bool | None:
    """An ``xs:boolean`` lexical value, or None when it is not one."""
    token = value.strip(XML_SPACE)
    if token in ("true", "1"):
        return True
    if token in ("false", "0"):
        return False
    return None


def _charge_indicators(allowance_charge: Element) -> set[bool]:
    return {
        flag
        for indicator in allowance_charge.iterchildren(CBC + "ChargeIndicator")
        if (flag := _boolean(_value(indicator))) is not None
    }


def _has_ancestor(el: Element, tags: tuple[str, ...]) -> bool:
    return any(ancestor.tag in tags for ancestor in el.iterancestors())


def _scheme(rule_id: str, allowed: frozenset[str]) -> Callable[[Element, Element], str | None]:
    """A rule on the ``@schemeID`` of a ``cbc:ID``, checked only where the attribute is present."""

    def check(el: Element, parent: Element) -> str | None:
        scheme = el.get("schemeID")
        return None if scheme is None or _coded(scheme, allowed) else rule_id

    return check


def _tax_category(rule_id: str, allowed: frozenset[str]) -> Callable[[Element, Element], str | None]:
    def check(el: Element, parent: Element) -> str | None:
        return None if _coded(_value(el), allowed) else rule_id

    return check


def _party_identifier(el: Element, parent: Element) -> str | None:
    scheme = el.get("schemeID")
    if scheme is None or _coded(scheme, lists.BR_CL_10):
        return None
    if _coded(scheme, lists.BR_CL_10_SELLER_OR_PAYEE_EXTRA) and _has_ancestor(
        el, (CAC + "AccountingSupplierParty", CAC + "PayeeParty")
    ):
        return None
    return "BR-CL-10"


def _object_identifier(el: Element, parent: Element) -> str | None:
    scheme = el.get("schemeID")
    if scheme is None or not any(_value(c) == "130" for c in parent.iterchildren(CBC + "DocumentTypeCode")):
        return None
    return None if _coded(scheme, lists.BR_CL_07) else "BR-CL-07"


# The rules on a cbc:ID, by the parent that makes it the identifier a rule speaks of.
IDENTIFIERS: dict[str, Callable[[Element, Element], str | None]] = {
    CAC + "TaxCategory": _tax_category("BR-CL-17", lists.BR_CL_17),
    CAC + "ClassifiedTaxCategory": _tax_category("BR-CL-18", lists.BR_CL_18),
    CAC + "PartyIdentification": _party_identifier,
    CAC + "AdditionalDocumentReference": _object_identifier,
    CAC + "DocumentReference": _object_identifier,
    CAC + "StandardItemIdentification": _scheme("BR-CL-21", lists.BR_CL_21),
    CAC + "DeliveryLocation": _scheme("BR-CL-26", lists.BR_CL_26),
}


def _code_by_parent(
    parent_tag: str, rule_id: str, allowed: frozenset[str]
) -> Callable[[Element], str | None]:
    def check(el: Element) -> str | None:
        parent = el.getparent()
        if parent is None or parent.tag != parent_tag:
            return None
        return None if _coded(_value(el), allowed) else rule_id

    return check


def _attribute_code(attribute: str, rule_id: str, allowed: frozenset[str]) -> Callable[[Element], str | None]:
    """A rule on a coded attribute, checked only where the attribute is present."""

    def check(el: Element) -> str | None:
        value = el.get(attribute)
        if value is None:
            return None
        return None if _coded(value, allowed) else rule_id

    return check


def _type_code(el: Element) -> str | None:
    allowed = lists.BR_CL_01_INVOICE if el.tag == CBC + "InvoiceTypeCode" else lists.BR_CL_01_CREDIT_NOTE
    return None if _coded(_value(el), allowed) else "BR-CL-01"


def _amount_currency(el: Element) -> str | None:
    # A missing @currencyID is not a listed code either.
    return None if _coded(el.get("currencyID", ""), lists.BR_CL_03) else "BR-CL-03"


def _company_id(el: Element) -> str | None:
    parent = el.getparent()
    scheme = el.get("schemeID")
    if parent is None or parent.tag != CAC + "PartyLegalEntity" or scheme is None:
        return None
    return None if _coded(scheme, lists.BR_CL_11) else "BR-CL-11"


def _classification(el: Element) -> str | None:
    parent = el.getparent()
    scheme = el.get("listID")
    if parent is None or parent.tag != CAC + "CommodityClassification" or scheme is None:
        return None
    return None if _coded(scheme, lists.BR_CL_13) else "BR-CL-13"


def _country(el: Element) -> str | None:
    parent = el.getparent()
    if parent is None:
        return None
    if parent.tag == CAC + "Country":
        return None if _coded(_value(el), lists.BR_CL_14) else "BR-CL-14"
    if parent.tag == CAC + "OriginCountry":
        return None if _coded(_value(el), lists.BR_CL_15) else "BR-CL-15"
    return None


def _reason_code(el: Element) -> str | None:
    parent = el.getparent()
    if parent is None or parent.tag != CAC + "AllowanceCharge":
        return None
    indicators = _charge_indicators(parent)
    # An allowance is checked first, as the artefacts order the two rules.
    if False in indicators:
        return None if _coded(_value(el), lists.BR_CL_19) else "BR-CL-19"
    if True in indicators:
        return None if _coded(_value(el), lists.BR_CL_20) else "BR-CL-20"
    return None


def _exemption_code(el: Element) -> str | None:
    return None if _coded(_value(el).upper(), lists.BR_CL_22) else "BR-CL-22"


def _mime_code(el: Element) -> str | None:
    mime = el.get("mimeCode")
    return None if mime is None or mime in lists.BR_CL_24 else "BR-CL-24"


def _document_code(rule_id: str, allowed: frozenset[str]) -> Callable[[Element], str | None]:
    def check(el: Element) -> str | None:
        return None if _coded(_value(el), allowed) else rule_id

    return check


DISPATCH: dict[str, Callable[[Element], str | None]] = {
    CBC + "InvoiceTypeCode": _type_code,
    CBC + "CreditNoteTypeCode": _type_code,
    **dict.fromkeys(AMOUNT_TAGS, _amount_currency),
    CBC + "DocumentCurrencyCode": _document_code("BR-CL-04", lists.BR_CL_04),
    CBC + "TaxCurrencyCode": _document_code("BR-CL-05", lists.BR_CL_05),
    CBC + "DescriptionCode": _code_by_parent(CAC + "InvoicePeriod", "BR-CL-06", lists.BR_CL_06),
    CBC + "CompanyID": _company_id,
    CBC + "ItemClassificationCode": _classification,
    CBC + "IdentificationCode": _country,
    CBC + "PaymentMeansCode": _code_by_parent(CAC + "PaymentMeans", "BR-CL-16", lists.BR_CL_16),
    CBC + "AllowanceChargeReasonCode": _reason_code,
    CBC + "TaxExemptionReasonCode": _exemption_code,
    **dict.fromkeys(QUANTITY_TAGS, _attribute_code("unitCode", "BR-CL-23", lists.BR_CL_23)),
    CBC + "EmbeddedDocumentBinaryObject": _mime_code,
    CBC + "EndpointID": _attribute_code("schemeID", "BR-CL-25", lists.BR_CL_25),
}


def _note_subject(note: Element) -> str | None:
    """BR-CL-08 on an invoice note: the text between its first two '#' signs, if any, is a listed code.

    As in the artefacts, a note with one '#' only has an empty subject, which passes.
    """
    text = _value(note)
    _, hash_sign, after = text.partition("#")
    if not hash_sign:
        return None
    subject = after.partition("#")[0] if "#" in after else ""
    return None if subject in NOTE_SUBJECT_LISTING else "BR-CL-08"


def code_list_breaches(doc: Doc) -> Iterator[tuple[str, Element]]:
    """Every BR-CL breach in the document, from the shared element index (no walk of its own)."""
    index = by_tag(doc)
    # The artefacts read the notes of an Invoice only (their credit note path names no real element).
    if doc.root.tag == INVOICE_TAG:
        for note in doc.root.iterchildren(CBC + "Note"):
            if _note_subject(note) is not None:
                yield "BR-CL-08", note
    for tag, check in DISPATCH.items():
        for el in index.get(tag, ()):
            broken = check(el)
            if broken is not None:
                yield broken, el
    for parent_tag, check_id in IDENTIFIERS.items():
        for parent in index.get(parent_tag, ()):
            for el in parent.iterchildren(CBC + "ID"):
                broken = check_id(el, parent)
                if broken is not None:
                    yield broken, el


register_group(RULES, code_list_breaches)
