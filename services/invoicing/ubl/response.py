"""Peppol BIS Invoice Response 3 documents (UBL 2.1 ApplicationResponse) for invoice statuses.

The document tells the supplier where its invoice stands: who answers (the municipality,
``cac:SenderParty``), to whom (the supplier, ``cac:ReceiverParty``), which invoice
(``cac:DocumentResponse/cac:DocumentReference``), the status (``cac:Response/cbc:ResponseCode``)
and why (``cac:Status``: one per reason or action code; the officer's note is the
``cbc:StatusReason`` text of the first).

Structure: https://docs.peppol.eu/poacc/upgrade-3/syntax/ApplicationResponse/tree/ ; element
order follows ``UBL-ApplicationResponse-2.1.xsd``, which every document built here passes.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from lxml import etree

from services.invoicing.ubl.facts import InvoiceFacts
from services.invoicing.ubl.lifecycle import (
    ACTION_LIST_ID,
    REASON_LIST_ID,
    REASON_REQUIRED,
    STATUS_LIST_ID,
    InvoiceStatus,
    StatusAction,
    StatusReason,
)
from services.invoicing.ubl.ns import APPLICATION_RESPONSE_NS, NS, Element, qname
from services.invoicing.validation.rules.codelist_data import (
    BR_CL_01_CREDIT_NOTE,
    BR_CL_01_INVOICE,
    BR_CL_10,
    BR_CL_25,
)

CUSTOMIZATION_ID: Final = "urn:fdc:peppol.eu:poacc:trns:invoice_response:3"
PROFILE_ID: Final = "urn:fdc:peppol.eu:poacc:bis:invoice_response:3"
DOCUMENT_TYPE_LIST_ID: Final = "UNCL1001"
_NSMAP: Final = {None: APPLICATION_RESPONSE_NS, "cac": NS["cac"], "cbc": NS["cbc"]}
# The code lists Peppol checks (PEPPOL-T111-B00902, B01201, B04201), taken from the validator's
# EN 16931 lists: EAS for electronic addresses, ISO 6523 ICD for party identifiers, and the
# UNCL 1001 codes an invoice or credit note may carry as its type (BT-3).
_EAS: Final = BR_CL_25
_ICD: Final = BR_CL_10
_INVOICE_TYPE_CODES: Final = BR_CL_01_INVOICE | BR_CL_01_CREDIT_NOTE
_ID: Final = qname("cbc:ID")


class ResponseError(ValueError):
    """The response cannot be built from what was given; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ResponseParty:
    """The sender (municipality) or receiver (supplier) of an Invoice Response."""

    endpoint_id: str
    """Electronic address (for the supplier: BT-34 of its invoice)."""
    endpoint_scheme: str
    """Electronic address scheme, an EAS code (for the supplier: BT-34-1)."""
    name: str
    """Legal name (for the supplier: BT-27)."""
    identifier: str | None = None
    """Party identifier (for the supplier: BT-29), optional."""
    identifier_scheme: str | None = None
    """Its ISO 6523 ICD scheme, required with ``identifier``."""


@dataclass(frozen=True, slots=True)
class InvoiceReference:
    """The invoice the response is about."""

    number: str
    """BT-1 Invoice number."""
    type_code: str
    """BT-3 Invoice type code (UNCL 1001, e.g. 380 invoice, 381 credit note)."""
    issue_date: dt.date | None = None
    """BT-2 Invoice issue date, optional."""


def supplier_party(facts: InvoiceFacts) -> ResponseParty:
    """The receiver of a response: the seller of the invoice (BT-34, BT-27, first BT-29).

    Raises :class:`ResponseError` when the invoice gives no electronic address (BT-34) with its
    scheme or no seller name, since a response cannot be addressed without them.
    """
    address = facts.seller_electronic_address
    if address is None or address.scheme is None:
        raise ResponseError("the invoice gives no seller electronic address with its scheme (BT-34, BT-34-1)")
    if facts.seller_name is None:
        raise ResponseError("the invoice gives no seller name (BT-27)")
    identifier = next((i for i in facts.seller_identifiers if i.scheme is not None), None)
    return ResponseParty(
        endpoint_id=address.value,
        endpoint_scheme=address.scheme,
        name=facts.seller_name,
        identifier=identifier.value if identifier else None,
        identifier_scheme=identifier.scheme if identifier else None,
    )


def invoice_reference(facts: InvoiceFacts) -> InvoiceReference:
    """The reference to the invoice (BT-1, BT-3, BT-2); :class:`ResponseError` without BT-1 or BT-3."""
    if facts.invoice_number is None or facts.type_code is None:
        raise ResponseError("the invoice gives no number (BT-1) or no type code (BT-3)")
    return InvoiceReference(facts.invoice_number, facts.type_code, facts.issue_date)


def _required(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise ResponseError(f"{what} is required and must not be blank")
    return value.strip()


def _set(element: Element, name: str, value: str) -> None:
    try:
        element.text = value
    except ValueError as error:  # lxml refuses control characters and NUL bytes
        raise ResponseError(f"{name} contains characters XML cannot carry: {error}") from None


def _add(parent: Element, name: str, value: str, **attributes: str) -> Element:
    child = etree.SubElement(parent, qname(name), attrib=attributes or None)
    _set(child, name, value)
    return child


def _coded(value: str | None, codes: frozenset[str], what: str, list_name: str) -> str:
    code = _required(value, what)
    if code not in codes:
        raise ResponseError(f"{what} {code!r} is not a code of the {list_name} list")
    return code


def _party(parent: Element, name: str, party: ResponseParty, role: str) -> None:
    element = etree.SubElement(parent, qname(name))
    _add(
        element,
        "cbc:EndpointID",
        _required(party.endpoint_id, f"the {role}'s electronic address"),
        schemeID=_coded(party.endpoint_scheme, _EAS, f"the {role}'s electronic address scheme", "EAS"),
    )
    if party.identifier is not None:
        identification = etree.SubElement(element, qname("cac:PartyIdentification"))
        _add(
            identification,
            "cbc:ID",
            _required(party.identifier, f"the {role}'s identifier"),
            schemeID=_coded(party.identifier_scheme, _ICD, f"the {role}'s identifier scheme", "ISO 6523 ICD"),
        )
    legal = etree.SubElement(element, qname("cac:PartyLegalEntity"))
    _add(legal, "cbc:RegistrationName", _required(party.name, f"the {role}'s name"))


@functools.lru_cache(maxsize=256)
def _parties(sender: ResponseParty, receiver: ResponseParty) -> Element:
    """The start every response from ``sender`` to ``receiver`` shares, up to the receiver party
    (the response's ID and IssueDate left empty), built and checked once: a municipality answers
    the same suppliers again and again, and copying this costs a fraction of building it.
    Callers copy it and never change it. Raises :class:`ResponseError` as :func:`_party` does."""
    root = etree.Element(qname("ar:ApplicationResponse"), nsmap=_NSMAP)  # type: ignore[arg-type]
    _add(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _add(root, "cbc:ProfileID", PROFILE_ID)
    etree.SubElement(root, _ID)
    etree.SubElement(root, qname("cbc:IssueDate"))
    _party(root, "cac:SenderParty", sender, "sender")
    _party(root, "cac:ReceiverParty", receiver, "receiver")
    return root


def build_invoice_response(
    *,
    response_id: str,
    issue_date: dt.date,
    sender: ResponseParty,
    receiver: ResponseParty,
    invoice: InvoiceReference,
    status: InvoiceStatus,
    reasons: Sequence[StatusReason] = (),
    actions: Sequence[StatusAction] = (),
    note: str | None = None,
    effective_date: dt.date | None = None,
) -> bytes:
    """The Invoice Response document for ``status``, as UTF-8 XML bytes.

    ``reasons`` and ``actions`` become one ``cac:Status`` each (reasons first); ``note`` is the
    ``cbc:StatusReason`` of the first and of any OTH one (or of a ``cac:Status`` of its own when
    no code is given). CA, UQ and RE need at least one reason or action (PEPPOL-T111-R001), OTH
    needs a note, PPD goes with PD only; schemes and the type code must come from their code
    lists. Raises :class:`ResponseError` on bad input.
    """
    try:
        status = InvoiceStatus(status)
        reason_codes = [StatusReason(code) for code in reasons]
        action_codes = [StatusAction(code) for code in actions]
    except ValueError as error:
        raise ResponseError(f"unknown code: {error}") from None
    if status in REASON_REQUIRED and not (reason_codes or action_codes):
        raise ResponseError(
            f"status {status} needs at least one reason ({REASON_LIST_ID}) or action ({ACTION_LIST_ID}) code"
        )
    note = note.strip() if note is not None and note.strip() else None
    if StatusReason.PARTIALLY_PAID in reason_codes and status is not InvoiceStatus.PAID:
        raise ResponseError(f"the reason PPD (partially paid) goes with status PD, not {status}")
    if (StatusReason.OTHER in reason_codes or StatusAction.OTHER in action_codes) and note is None:
        raise ResponseError("the code OTH needs a note saying what it is (PEPPOL-T111-R002)")

    identifier = _required(response_id, "the response identifier")
    _set(etree.Element(_ID), "cbc:ID", identifier)  # refused before the parties are, as ever
    root = copy.deepcopy(_parties(sender, receiver))
    root[2].text = identifier
    root[3].text = issue_date.isoformat()

    document_response = etree.SubElement(root, qname("cac:DocumentResponse"))
    response = etree.SubElement(document_response, qname("cac:Response"))
    _add(response, "cbc:ResponseCode", status.value, listID=STATUS_LIST_ID)
    if effective_date is not None:
        _add(response, "cbc:EffectiveDate", effective_date.isoformat())
    codes: list[tuple[str, str]] = [(code.value, REASON_LIST_ID) for code in reason_codes]
    codes += [(code.value, ACTION_LIST_ID) for code in action_codes]
    for index, (code, list_id) in enumerate(codes):
        status_element = etree.SubElement(response, qname("cac:Status"))
        _add(status_element, "cbc:StatusReasonCode", code, listID=list_id)
        if note is not None and (index == 0 or code == StatusReason.OTHER.value):
            _add(status_element, "cbc:StatusReason", note)
    if not codes and note is not None:
        _add(etree.SubElement(response, qname("cac:Status")), "cbc:StatusReason", note)

    reference = etree.SubElement(document_response, qname("cac:DocumentReference"))
    _add(reference, "cbc:ID", _required(invoice.number, "the invoice number (BT-1)"))
    if invoice.issue_date is not None:
        _add(reference, "cbc:IssueDate", invoice.issue_date.isoformat())
    _add(
        reference,
        "cbc:DocumentTypeCode",
        _coded(invoice.type_code, _INVOICE_TYPE_CODES, "the invoice type code (BT-3)", "UNCL 1001 invoice"),
        listID=DOCUMENT_TYPE_LIST_ID,
    )
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)
