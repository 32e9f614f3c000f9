"""Code-list rules BR-CL-01..BR-CL-26: coded values must come from the lists EN 16931 names.

Most rules are plain lookups and form a table (:data:`CODED`: the element, the parent that makes it the
coded term, the attribute that holds the code); the rest add a condition and are small functions. All
read the shared element index (:mod:`._tree`), so they cost one pass over the elements they name.

How a value is compared, as in the artefacts: leading and trailing XML whitespace is ignored and the
rest must be one list entry (so an empty or missing value, or one with inner spaces, is wrong).
BR-CL-22 also ignores case; BR-CL-24 compares the MIME code exactly. An amount without ``@currencyID``
breaks BR-CL-03, since its missing code is not in the list either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules import codelist_data as lists
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


@dataclass(frozen=True, slots=True)
class Coded:
    """A coded value that must be in ``allowed``: the text of ``element`` (its ``attribute`` when given),
    where ``element`` is a child of ``parent`` (anywhere when None). ``optional`` attributes are checked
    only where present; a required one that is missing is not a listed code either."""

    rule_id: str
    element: str
    parent: str | None
    attribute: str | None
    allowed: frozenset[str]
    optional: bool = True


def _coded_table() -> tuple[Coded, ...]:
    amounts = (
        "Amount", "BaseAmount", "PriceAmount", "TaxAmount", "TaxableAmount", "LineExtensionAmount",
        "TaxExclusiveAmount", "TaxInclusiveAmount", "AllowanceTotalAmount", "ChargeTotalAmount",
        "PrepaidAmount", "PayableRoundingAmount", "PayableAmount",
    )  # fmt: skip
    quantities = ("InvoicedQuantity", "BaseQuantity", "CreditedQuantity")
    return (
        Coded("BR-CL-01", CBC + "InvoiceTypeCode", None, None, lists.BR_CL_01_INVOICE),
        Coded("BR-CL-01", CBC + "CreditNoteTypeCode", None, None, lists.BR_CL_01_CREDIT_NOTE),
        *(
            Coded("BR-CL-03", CBC + name, None, "currencyID", lists.BR_CL_03, optional=False)
            for name in amounts
        ),
        Coded("BR-CL-04", CBC + "DocumentCurrencyCode", None, None, lists.BR_CL_04),
        Coded("BR-CL-05", CBC + "TaxCurrencyCode", None, None, lists.BR_CL_05),
        Coded("BR-CL-06", CBC + "DescriptionCode", CAC + "InvoicePeriod", None, lists.BR_CL_06),
        Coded("BR-CL-11", CBC + "CompanyID", CAC + "PartyLegalEntity", "schemeID", lists.BR_CL_11),
        Coded(
            "BR-CL-13",
            CBC + "ItemClassificationCode",
            CAC + "CommodityClassification",
            "listID",
            lists.BR_CL_13,
        ),
        Coded("BR-CL-14", CBC + "IdentificationCode", CAC + "Country", None, lists.BR_CL_14),
        Coded("BR-CL-15", CBC + "IdentificationCode", CAC + "OriginCountry", None, lists.BR_CL_15),
        Coded("BR-CL-16", CBC + "PaymentMeansCode", CAC + "PaymentMeans", None, lists.BR_CL_16),
        Coded("BR-CL-17", CBC + "ID", CAC + "TaxCategory", None, lists.BR_CL_17),
        Coded("BR-CL-18", CBC + "ID", CAC + "ClassifiedTaxCategory", None, lists.BR_CL_18),
        Coded("BR-CL-21", CBC + "ID", CAC + "StandardItemIdentification", "schemeID", lists.BR_CL_21),
        *(Coded("BR-CL-23", CBC + name, None, "unitCode", lists.BR_CL_23) for name in quantities),
        Coded("BR-CL-25", CBC + "EndpointID", None, "schemeID", lists.BR_CL_25),
        Coded("BR-CL-26", CBC + "ID", CAC + "DeliveryLocation", "schemeID", lists.BR_CL_26),
    )


# The rules that are plain list lookups. BR-CL-07, -08, -10, -19, -20, -22 and -24 add a condition or
# compare differently: they are the functions below.
CODED = _coded_table()


def _value(el: Element) -> str:
    """The element's string value (its text, also through child nodes, if any)."""
    if len(el):
        return "".join(part for part in el.itertext() if isinstance(part, str))
    return el.text or ""


def _coded(value: str | None, allowed: frozenset[str]) -> bool:
    """True when ``value``, trimmed of XML whitespace, is one entry of ``allowed``."""
    return value is not None and value.strip(XML_SPACE) in allowed


def _elements(doc: Doc, tag: str, parent: str | None) -> list[Element]:
    shared = doc.walk
    return shared.elements.get(tag, []) if parent is None else shared.under(tag).get(parent, [])


def _listed(doc: Doc) -> Iterator[tuple[str, Element]]:
    shared = doc.walk
    elements = shared.elements
    for coded in CODED:
        if coded.element not in elements:
            continue
        found = (
            elements[coded.element] if coded.parent is None else shared.under(coded.element).get(coded.parent)
        )
        allowed, attribute = coded.allowed, coded.attribute
        for el in found or ():
            if attribute is None:
                value: str | None = _value(el)
            else:
                value = el.get(attribute)
                if value is None and coded.optional:
                    continue
            # The listed codes carry no surrounding space: a value found as it is needs no trimming.
            if value is None or (value not in allowed and value.strip(XML_SPACE) not in allowed):
                yield coded.rule_id, el


def _invoiced_object_scheme(doc: Doc) -> Iterator[tuple[str, Element]]:
    """BR-CL-07: the scheme of the ID of a document reference whose type code is 130."""
    for parent in (CAC + "AdditionalDocumentReference", CAC + "DocumentReference"):
        for el in _elements(doc, CBC + "ID", parent):
            scheme = el.get("schemeID")
            if scheme is None or _coded(scheme, lists.BR_CL_07):
                continue
            reference = el.getparent()
            codes = () if reference is None else reference.iterchildren(CBC + "DocumentTypeCode")
            if any(_value(code) == "130" for code in codes):
                yield "BR-CL-07", el


def _party_identifier_scheme(doc: Doc) -> Iterator[tuple[str, Element]]:
    """BR-CL-10: an ICD scheme, or SEPA within the Seller or the Payee."""
    for el in _elements(doc, CBC + "ID", CAC + "PartyIdentification"):
        scheme = el.get("schemeID")
        if scheme is None or _coded(scheme, lists.BR_CL_10):
            continue
        if _coded(scheme, lists.BR_CL_10_SELLER_OR_PAYEE_EXTRA) and any(
            ancestor.tag in (CAC + "AccountingSupplierParty", CAC + "PayeeParty")
            for ancestor in el.iterancestors()
        ):
            continue
        yield "BR-CL-10", el


def _boolean(value: str) -> bool | None:
    """An ``xs:boolean`` lexical value, or None when it is not one."""
    token = value.strip(XML_SPACE)
    if token in ("true", "1"):
        return True
    if token in ("false", "0"):
        return False
    return None


def _reason_codes(doc: Doc) -> Iterator[tuple[str, Element]]:
    """BR-CL-19 for allowances, BR-CL-20 for charges, by the indicator of the allowance or charge.

    An element whose indicator says both is read as an allowance, the first of the two rules."""
    for el in _elements(doc, CBC + "AllowanceChargeReasonCode", CAC + "AllowanceCharge"):
        parent = el.getparent()
        indicators = () if parent is None else parent.iterchildren(CBC + "ChargeIndicator")
        flags = {_boolean(_value(indicator)) for indicator in indicators}
        if False in flags:
            if not _coded(_value(el), lists.BR_CL_19):
                yield "BR-CL-19", el
        elif True in flags and not _coded(_value(el), lists.BR_CL_20):
            yield "BR-CL-20", el


def _exemption_codes(doc: Doc) -> Iterator[tuple[str, Element]]:
    """BR-CL-22: VATEX codes, in any case."""
    for el in _elements(doc, CBC + "TaxExemptionReasonCode", None):
        if not _coded(_value(el).upper(), lists.BR_CL_22):
            yield "BR-CL-22", el


def _mime_codes(doc: Doc) -> Iterator[tuple[str, Element]]:
    """BR-CL-24: the MIME code as written, without trimming."""
    for el in _elements(doc, CBC + "EmbeddedDocumentBinaryObject", None):
        mime = el.get("mimeCode")
        if mime is not None and mime not in lists.BR_CL_24:
            yield "BR-CL-24", el


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


def _note_subjects(doc: Doc) -> Iterator[tuple[str, Element]]:
    # The artefacts read the notes of an Invoice only (their credit note path names no real element).
    if doc.root.tag == INVOICE_TAG:
        for note in doc.root.iterchildren(CBC + "Note"):
            if _note_subject(note) is not None:
                yield "BR-CL-08", note


def code_list_breaches(doc: Doc) -> Iterator[tuple[str, Element]]:
    """Every BR-CL breach in the document, from the shared element index (no walk of its own)."""
    yield from _listed(doc)
    yield from _invoiced_object_scheme(doc)
    yield from _note_subjects(doc)
    yield from _party_identifier_scheme(doc)
    yield from _reason_codes(doc)
    yield from _exemption_codes(doc)
    yield from _mime_codes(doc)


register_group(RULES, code_list_breaches)
