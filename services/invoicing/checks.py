"""The checks a public buyer adds on top of EN 16931, as findings in the same shape as the
validator's (rule id, severity, message naming the business term, location).

Pure functions of the invoice facts and the municipality's settings; the seller check is not a
finding but a refusal (403), done by :func:`seller_matches`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

from services.common.settings import MunicipalitySettings
from services.invoicing.ubl.facts import Identifier, InvoiceFacts
from services.invoicing.validation import Finding, Severity

# MIME codes EN 16931 allows for an embedded attachment (BT-125-1, code list of rule BR-CL-24).
ALLOWED_MIME_CODES = frozenset(
    {
        "application/pdf",
        "image/png",
        "image/jpeg",
        "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.oasis.opendocument.spreadsheet",
    }
)

_BUYER = "/Invoice/cac:AccountingCustomerParty/cac:Party"
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
MAX_NUMBER_LENGTH = 100  # the column holding BT-1
MAX_AMOUNT_LENGTH = 40  # the column holding BT-115 as written


@dataclass(frozen=True, slots=True)
class BuyerRules:
    """What the checks compare with: the municipality and its routing codes."""

    municipality: MunicipalitySettings
    routing_codes: Collection[str]
    max_attachments_bytes: int


def _norm(value: str | None) -> str:
    return "".join((value or "").split()).upper()


def _with_scheme(identifier: Identifier | None) -> set[str]:
    if identifier is None:
        return set()
    found = {_norm(identifier.value)}
    if identifier.scheme:
        found.add(_norm(f"{identifier.scheme}:{identifier.value}"))
    return found


def seller_ids(facts: InvoiceFacts) -> set[str]:
    """Every way the invoice names its seller: BT-31, BT-29 (each), BT-30, with and without scheme."""
    ids: set[str] = set()
    if facts.seller_vat_id:
        ids.add(_norm(facts.seller_vat_id))
    for identifier in facts.seller_identifiers:
        ids |= _with_scheme(identifier)
    ids |= _with_scheme(facts.seller_legal_id)
    return ids - {""}


def seller_matches(facts: InvoiceFacts, supplier_id: str) -> bool:
    """The supplier the API key is bound to is the seller on the invoice."""
    return _norm(supplier_id) in seller_ids(facts)


def _root(facts: InvoiceFacts) -> str:
    return f"/{facts.document_type}"


def _fatal(rule: str, message: str, location: str) -> Finding:
    return Finding(rule, Severity.FATAL, message, location)


def issue_date(written: str | None) -> dt.date | None:
    """BT-2 as a date: xs:date allows a timezone (``2026-03-02Z``), which the day does not depend
    on; years beyond four digits or before year 1 are not dates Tessera files (None)."""
    found = _DATE.match((written or "").strip())
    if found is None:
        return None
    try:
        return dt.date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def storage_findings(facts: InvoiceFacts, written_date: str | None) -> list[Finding]:
    """TESSERA-B2G-06..08: what must fit how invoices are filed (number, date, amount)."""
    root = _root(facts)
    findings: list[Finding] = []
    if facts.invoice_number is not None and len(facts.invoice_number) > MAX_NUMBER_LENGTH:
        findings.append(
            _fatal(
                "TESSERA-B2G-06",
                f"BT-1 Invoice number has {len(facts.invoice_number)} characters; at most {MAX_NUMBER_LENGTH} are filed.",
                f"{root}/cbc:ID",
            )
        )
    if written_date is not None and issue_date(written_date) is None:
        findings.append(
            _fatal(
                "TESSERA-B2G-07",
                f"BT-2 Invoice issue date {written_date!r} is not a calendar date of the years 0001-9999 (YYYY-MM-DD).",
                f"{root}/cbc:IssueDate",
            )
        )
    if facts.amount_due is not None and len(str(facts.amount_due)) > MAX_AMOUNT_LENGTH:
        findings.append(
            _fatal(
                "TESSERA-B2G-08",
                f"BT-115 Amount due for payment is written with more than {MAX_AMOUNT_LENGTH} characters.",
                f"{root}/cac:LegalMonetaryTotal/cbc:PayableAmount",
            )
        )
    return findings


def buyer_findings(facts: InvoiceFacts, rules: BuyerRules) -> list[Finding]:
    """TESSERA-B2G-01..05: the buyer is this municipality, the routing code is known, the
    supplier can be answered, and the attachments are of allowed types and bounded size."""
    town = rules.municipality
    party = _BUYER.replace("/Invoice", _root(facts))
    findings: list[Finding] = []
    scheme, _, endpoint = town.endpoint_id.partition(":")
    comparisons: list[tuple[str, str | None, str, str]] = [
        (
            "BT-48 Buyer VAT identifier",
            facts.buyer_vat_id,
            town.vat_id,
            f"{party}/cac:PartyTaxScheme/cbc:CompanyID",
        ),
        (
            "BT-47 Buyer legal registration identifier",
            facts.buyer_legal_id.value if facts.buyer_legal_id else None,
            town.legal_id,
            f"{party}/cac:PartyLegalEntity/cbc:CompanyID",
        ),
        (
            "BT-49 Buyer electronic address",
            f"{facts.buyer_electronic_address.scheme}:{facts.buyer_electronic_address.value}"
            if facts.buyer_electronic_address
            else None,
            town.endpoint_id if scheme and endpoint else "",
            f"{party}/cbc:EndpointID",
        ),
    ]
    given = [(term, value, expected, where) for term, value, expected, where in comparisons if value]
    if not given:
        findings.append(
            _fatal(
                "TESSERA-B2G-01",
                f"The buyer must be {town.name}: give its VAT identifier {town.vat_id} (BT-48), legal "
                f"registration identifier {town.legal_id} (BT-47) or electronic address {town.endpoint_id} (BT-49).",
                party,
            )
        )
    for term, value, expected, where in given:
        if _norm(value) != _norm(expected):
            findings.append(
                _fatal(
                    "TESSERA-B2G-01",
                    f"{term} is {value!r}, but this invoice must be addressed to {town.name} ({expected}).",
                    where,
                )
            )
    codes = sorted(rules.routing_codes)
    expected_codes = ", ".join(codes) or "(none registered yet: ask the municipality)"
    if not facts.buyer_reference:
        findings.append(
            _fatal(
                "TESSERA-B2G-02",
                f"BT-10 Buyer reference is missing: give the routing code of the office or purchase order "
                f"you invoice, one of: {expected_codes}.",
                f"{_root(facts)}/cbc:BuyerReference",
            )
        )
    elif facts.buyer_reference not in rules.routing_codes:
        findings.append(
            _fatal(
                "TESSERA-B2G-02",
                f"BT-10 Buyer reference {facts.buyer_reference!r} is not a routing code of {town.name}; "
                f"expected one of: {expected_codes}.",
                f"{_root(facts)}/cbc:BuyerReference",
            )
        )
    address = facts.seller_electronic_address
    if address is None or not address.scheme or not facts.seller_name:
        findings.append(
            _fatal(
                "TESSERA-B2G-03",
                "BT-34 Seller electronic address (with its scheme, BT-34-1) and BT-27 Seller name are needed "
                "so that the municipality can answer the invoice (Invoice Response).",
                f"{_root(facts)}/cac:AccountingSupplierParty/cac:Party",
            )
        )
    total = 0
    for n, attachment in enumerate(facts.attachments, start=1):
        where = f"{_root(facts)}/cac:AdditionalDocumentReference[{n}]"
        if attachment.embedded and attachment.mime_code not in ALLOWED_MIME_CODES:
            findings.append(
                _fatal(
                    "TESSERA-B2G-04",
                    f"BT-125-1 Attached document MIME code {attachment.mime_code!r} is not allowed; allowed: "
                    + ", ".join(sorted(ALLOWED_MIME_CODES))
                    + ".",
                    where,
                )
            )
        total += attachment.size or 0
    if total > rules.max_attachments_bytes:
        findings.append(
            _fatal(
                "TESSERA-B2G-05",
                f"BG-24 Additional supporting documents hold {total} bytes in all; at most "
                f"{rules.max_attachments_bytes} bytes are accepted.",
                _root(facts),
            )
        )
    return findings
