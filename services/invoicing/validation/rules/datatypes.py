"""UBL data type rules UBL-DT-01..UBL-DT-28.

* UBL-DT-01 (fatal): an amount has at most two fraction digits. Amounts are the elements whose name ends
  in ``Amount``, except unit prices (``...PriceAmount``) and the amounts of a price discount (inside a
  ``cac:Price`` that has a ``cac:AllowanceCharge``), which may be more precise.
* UBL-DT-06, UBL-DT-07 (fatal): an attached binary object (``...BinaryObject``) states its MIME code and its
  file name.
* UBL-DT-08..UBL-DT-28 (warnings): UBL attributes EN 16931 does not use (scheme names, list agencies,
  language identifiers, ...). Each speaks of the whole document: one finding, at the root.

As in the CEN/TC 434 artefacts (release 1.3.16), the fraction digits are counted on the text as written,
everything after the first '.', so trailing spaces count too.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.invoicing.validation.findings import Severity
from services.invoicing.validation.rules.base import NS, Doc, Element, Rule, register_group

CAC = "{" + NS["cac"] + "}"
ROOTS = ("{" + NS["inv"] + "}Invoice", "{" + NS["cn"] + "}CreditNote")

# (rule id, attribute, what the attribute is): attributes that should not appear anywhere.
UNUSED_ATTRIBUTES = (
    ("UBL-DT-08", "schemeName", "scheme name"),
    ("UBL-DT-09", "schemeAgencyName", "scheme agency name"),
    ("UBL-DT-10", "schemeDataURI", "scheme data URI"),
    ("UBL-DT-11", "schemeURI", "scheme URI"),
    ("UBL-DT-12", "format", "format"),
    ("UBL-DT-13", "unitCodeListIdentifier", "unit code list identifier"),
    ("UBL-DT-14", "unitCodeListAgencyIdentifier", "unit code list agency identifier"),
    ("UBL-DT-15", "unitCodeListAgencyName", "unit code list agency name"),
    ("UBL-DT-16", "listAgencyName", "list agency name"),
    ("UBL-DT-17", "listName", "list name"),
    ("UBL-DT-18", "name", "name"),
    ("UBL-DT-19", "languageID", "language identifier"),
    ("UBL-DT-20", "listURI", "list URI"),
    ("UBL-DT-21", "listSchemeURI", "list scheme URI"),
    ("UBL-DT-22", "languageLocaleID", "language locale identifier"),
    ("UBL-DT-23", "uri", "URI"),
    ("UBL-DT-24", "currencyCodeListVersionID", "currency code list version identifier"),
    ("UBL-DT-25", "characterSetCode", "character set code"),
    ("UBL-DT-26", "encodingCode", "encoding code"),
    ("UBL-DT-27", "schemeAgencyID", "scheme agency identifier"),
    ("UBL-DT-28", "listAgencyID", "list agency identifier"),
)
PAYMENT_MEANS_CODE = "{" + NS["cbc"] + "}PaymentMeansCode"

RULES = [
    Rule("UBL-DT-01", Severity.FATAL, (), "An amount may have at most two fraction digits.", None),
    Rule(
        "UBL-DT-06",
        Severity.FATAL,
        ("BT-125",),
        "An attached document (BT-125) must state its MIME code (@mimeCode).",
        None,
    ),
    Rule(
        "UBL-DT-07",
        Severity.FATAL,
        ("BT-125",),
        "An attached document (BT-125) must state its file name (@filename).",
        None,
    ),
    *(
        Rule(
            rule_id,
            Severity.WARNING,
            (),
            f"The {meaning} attribute (@{attribute}) is not used by EN 16931 and should not be included."
            if attribute != "name"
            else "The name attribute (@name) is used only for the payment means text (BT-82) on "
            "cbc:PaymentMeansCode and should not appear elsewhere.",
            None,
        )
        for rule_id, attribute, meaning in UNUSED_ATTRIBUTES
    ),
]


def _in_price_discount(el: Element) -> bool:
    """True inside a cac:Price that has a cac:AllowanceCharge (``ancestor::cac:Price/cac:AllowanceCharge``)."""
    return any(
        ancestor.tag == CAC + "Price"
        and next(ancestor.iterchildren(CAC + "AllowanceCharge"), None) is not None
        for ancestor in el.iterancestors()
    )


def _too_precise(el: Element) -> bool:
    text = "".join(part for part in el.itertext() if isinstance(part, str)) if len(el) else el.text or ""
    point = text.find(".")
    return point >= 0 and len(text) - point > 3


AMOUNT, BINARY_OBJECT, OTHER = 1, 2, 0
_KINDS: dict[str, int] = {}  # tag -> what UBL-DT checks of it, as tags recur from one document to the next
_MOST_KINDS = 10_000  # kept bounded: a document may bring any names


def _kind(tag: str) -> int:
    # A qualified tag ends with the local name, so its ending can be tested on the tag as it is.
    if tag.endswith("Amount") and not tag.endswith("PriceAmount"):
        kind = AMOUNT
    elif tag.endswith("BinaryObject"):
        kind = BINARY_OBJECT
    else:
        kind = OTHER
    if len(_KINDS) >= _MOST_KINDS:
        _KINDS.clear()
    _KINDS[tag] = kind
    return kind


def data_type_breaches(doc: Doc) -> Iterator[tuple[str, Element]]:
    """UBL-DT breaches from the shared walk: amounts and binary objects by tag, attributes by name."""
    shared = doc.walk
    kinds = _KINDS
    for tag, elements in shared.elements.items():
        kind = kinds.get(tag)
        if kind is None:
            kind = _kind(tag)
        if kind == OTHER:
            continue
        if kind == AMOUNT:
            for el in elements:
                if _too_precise(el) and not _in_price_discount(el):
                    yield "UBL-DT-01", el
        else:
            for el in elements:
                if el.get("mimeCode") is None:
                    yield "UBL-DT-06", el
                if el.get("filename") is None:
                    yield "UBL-DT-07", el
    root = doc.root
    if root.tag not in ROOTS or not shared.attributes:
        return
    for rule_id, attribute, _ in UNUSED_ATTRIBUTES:
        holders = shared.attributes.get(attribute, ())
        if rule_id == "UBL-DT-18":
            holders = [el for el in holders if el.tag != PAYMENT_MEANS_CODE]
        if holders:
            yield rule_id, root


register_group(RULES, data_type_breaches)
