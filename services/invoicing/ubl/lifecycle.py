"""Invoice statuses, the moves between them, and the codes that explain a status.

Statuses are the Peppol subset of UNCL 4343 used by Peppol BIS Invoice Response 3
(``listID="UNCL4343OpSubset"``); reasons and actions are OpenPEPPOL's status clarification
code lists (``OPStatusReason`` and ``OPStatusAction``), the values of UNCL 7161 / Peppol that an
Invoice Response puts in ``cac:Status/cbc:StatusReasonCode``.

- Peppol BIS Invoice Response 3: https://docs.peppol.eu/poacc/upgrade-3/profiles/63-invoiceresponse/
- Code lists: https://docs.peppol.eu/poacc/upgrade-3/codelist/UNCL4343-T111/ ,
  https://docs.peppol.eu/poacc/upgrade-3/codelist/OPStatusReason/ ,
  https://docs.peppol.eu/poacc/upgrade-3/codelist/OPStatusAction/
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class InvoiceStatus(StrEnum):
    """Where an invoice stands for the buyer (UNCL 4343, Peppol subset)."""

    RECEIVED = "AB"
    """Message acknowledgement: the buyer has received the invoice."""
    IN_PROCESS = "IP"
    """The invoice is being processed; no decision yet."""
    UNDER_QUERY = "UQ"
    """Processing is on hold until the supplier answers a question."""
    CONDITIONALLY_ACCEPTED = "CA"
    """The buyer will pay on the conditions stated in the response."""
    REJECTED = "RE"
    """The buyer will not process the invoice. Final."""
    ACCEPTED = "AP"
    """Final approval: the invoice will be paid."""
    PAID = "PD"
    """Payment has been initiated. Final."""


INITIAL_STATUS: Final = InvoiceStatus.RECEIVED

_S = InvoiceStatus

# Where each status may go next. Reading guide, following the Peppol BIS Invoice Response
# business process (section "Status codes"):
# - AB opens the lifecycle; every decision is possible from there, IP is optional.
# - IP and UQ are working states: the buyer can query the supplier (IP -> UQ), resume after an
#   answer (UQ -> IP) or decide (CA, RE, AP) from either.
# - CA commits the buyer to pay on its conditions: the supplier may dispute them (CA -> UQ),
#   the buyer may accept fully (AP) or reject when the conditions are not met (RE), or simply pay (PD).
# - AP is the final approval: only payment follows.
# - RE and PD are final: nothing follows; a corrected invoice is a new invoice.
# A status never moves to itself: a second question while under query is a note, not a move.
TRANSITIONS: Final[dict[InvoiceStatus, frozenset[InvoiceStatus]]] = {
    _S.RECEIVED: frozenset(
        {_S.IN_PROCESS, _S.UNDER_QUERY, _S.CONDITIONALLY_ACCEPTED, _S.REJECTED, _S.ACCEPTED}
    ),
    _S.IN_PROCESS: frozenset({_S.UNDER_QUERY, _S.CONDITIONALLY_ACCEPTED, _S.REJECTED, _S.ACCEPTED}),
    _S.UNDER_QUERY: frozenset({_S.IN_PROCESS, _S.CONDITIONALLY_ACCEPTED, _S.REJECTED, _S.ACCEPTED}),
    _S.CONDITIONALLY_ACCEPTED: frozenset({_S.UNDER_QUERY, _S.REJECTED, _S.ACCEPTED, _S.PAID}),
    _S.ACCEPTED: frozenset({_S.PAID}),
    _S.REJECTED: frozenset(),
    _S.PAID: frozenset(),
}

FINAL_STATUSES: Final = frozenset(status for status, nexts in TRANSITIONS.items() if not nexts)

# Statuses that tell the supplier something is wrong must say what: Peppol rule PEPPOL-T111-R001
# (fatal) requires a clarification code (reason or action) with CA, UQ and RE.
REASON_REQUIRED: Final = frozenset({_S.UNDER_QUERY, _S.CONDITIONALLY_ACCEPTED, _S.REJECTED})


class TransitionNotAllowed(ValueError):
    """A status move that the lifecycle table does not allow; the message says which are."""

    def __init__(self, current: InvoiceStatus, target: InvoiceStatus) -> None:
        allowed = sorted(TRANSITIONS[current])
        detail = f"allowed from {current}: {', '.join(allowed)}" if allowed else f"{current} is final"
        super().__init__(f"an invoice cannot move from {current} to {target} ({detail})")
        self.current = current
        self.target = target


def can_transition(current: InvoiceStatus, target: InvoiceStatus) -> bool:
    return target in TRANSITIONS[current]


def check_transition(current: InvoiceStatus, target: InvoiceStatus) -> None:
    """Raise :class:`TransitionNotAllowed` unless ``current -> target`` is in :data:`TRANSITIONS`."""
    if not can_transition(current, target):
        raise TransitionNotAllowed(current, target)


class StatusReason(StrEnum):
    """Why the invoice has its status (OpenPEPPOL status clarification reason, ``OPStatusReason``)."""

    NO_ISSUE = "NON"
    REFERENCES_INCORRECT = "REF"
    LEGAL_INFORMATION_INCORRECT = "LEG"
    RECEIVER_UNKNOWN = "REC"
    ITEM_QUALITY_INSUFFICIENT = "QUA"
    DELIVERY_ISSUES = "DEL"
    PRICES_INCORRECT = "PRI"
    QUANTITY_INCORRECT = "QTY"
    ITEMS_INCORRECT = "ITM"
    PAYMENT_TERMS_INCORRECT = "PAY"
    NOT_RECOGNIZED = "UNR"
    FINANCE_TERMS_INCORRECT = "FIN"
    PARTIALLY_PAID = "PPD"
    """The newest code of the list, only meaningful with PD."""
    OTHER = "OTH"
    """Needs a text saying what (PEPPOL-T111-R002)."""


class StatusAction(StrEnum):
    """What the supplier is asked to do (OpenPEPPOL status clarification action, ``OPStatusAction``)."""

    NO_ACTION = "NOA"
    PROVIDE_INFORMATION = "PIN"
    ISSUE_NEW_INVOICE = "NIN"
    CREDIT_FULLY = "CNF"
    CREDIT_PARTIALLY = "CNP"
    CREDIT_AMOUNT = "CNA"
    OTHER = "OTH"


REASON_LIST_ID: Final = "OPStatusReason"
ACTION_LIST_ID: Final = "OPStatusAction"
STATUS_LIST_ID: Final = "UNCL4343OpSubset"

REASON_NAMES: Final[dict[StatusReason, str]] = {
    StatusReason.NO_ISSUE: "No issue",
    StatusReason.REFERENCES_INCORRECT: "References incorrect",
    StatusReason.LEGAL_INFORMATION_INCORRECT: "Legal information incorrect",
    StatusReason.RECEIVER_UNKNOWN: "Receiver unknown",
    StatusReason.ITEM_QUALITY_INSUFFICIENT: "Item quality insufficient",
    StatusReason.DELIVERY_ISSUES: "Delivery issues",
    StatusReason.PRICES_INCORRECT: "Prices incorrect",
    StatusReason.QUANTITY_INCORRECT: "Quantity incorrect",
    StatusReason.ITEMS_INCORRECT: "Items incorrect",
    StatusReason.PAYMENT_TERMS_INCORRECT: "Payment terms incorrect",
    StatusReason.NOT_RECOGNIZED: "Not recognized",
    StatusReason.FINANCE_TERMS_INCORRECT: "Finance incorrect",
    StatusReason.PARTIALLY_PAID: "Partially paid",
    StatusReason.OTHER: "Other",
}

ACTION_NAMES: Final[dict[StatusAction, str]] = {
    StatusAction.NO_ACTION: "No action required",
    StatusAction.PROVIDE_INFORMATION: "Provide information",
    StatusAction.ISSUE_NEW_INVOICE: "Issue new invoice",
    StatusAction.CREDIT_FULLY: "Credit fully",
    StatusAction.CREDIT_PARTIALLY: "Credit partially",
    StatusAction.CREDIT_AMOUNT: "Credit the amount",
    StatusAction.OTHER: "Other",
}

STATUS_NAMES: Final[dict[InvoiceStatus, str]] = {
    InvoiceStatus.RECEIVED: "Received",
    InvoiceStatus.IN_PROCESS: "In process",
    InvoiceStatus.UNDER_QUERY: "Under query",
    InvoiceStatus.CONDITIONALLY_ACCEPTED: "Conditionally accepted",
    InvoiceStatus.REJECTED: "Rejected",
    InvoiceStatus.ACCEPTED: "Accepted",
    InvoiceStatus.PAID: "Paid",
}
