from __future__ import annotations

import itertools

import pytest

from services.invoicing.ubl.lifecycle import (
    ACTION_NAMES,
    FINAL_STATUSES,
    INITIAL_STATUS,
    REASON_NAMES,
    REASON_REQUIRED,
    STATUS_NAMES,
    TRANSITIONS,
    InvoiceStatus,
    StatusAction,
    StatusReason,
    TransitionNotAllowed,
    can_transition,
    check_transition,
)

S = InvoiceStatus


def test_codes_are_the_peppol_lists() -> None:
    assert {status.value for status in InvoiceStatus} == {"AB", "IP", "UQ", "CA", "RE", "AP", "PD"}
    assert {reason.value for reason in StatusReason} == {
        "NON", "REF", "LEG", "REC", "QUA", "DEL", "PRI", "QTY", "ITM", "PAY", "UNR", "FIN", "PPD", "OTH",
    }  # fmt: skip
    assert {action.value for action in StatusAction} == {"NOA", "PIN", "NIN", "CNF", "CNP", "CNA", "OTH"}
    assert set(REASON_NAMES) == set(StatusReason)
    assert set(ACTION_NAMES) == set(StatusAction)
    assert set(STATUS_NAMES) == set(InvoiceStatus)


def test_table_covers_every_status_and_only_rejected_and_paid_are_final() -> None:
    assert set(TRANSITIONS) == set(InvoiceStatus)
    assert {S.REJECTED, S.PAID} == FINAL_STATUSES
    assert INITIAL_STATUS is S.RECEIVED
    assert {S.UNDER_QUERY, S.CONDITIONALLY_ACCEPTED, S.REJECTED} == REASON_REQUIRED


def test_every_status_is_reachable_from_received_and_every_path_can_end() -> None:
    reachable = {INITIAL_STATUS}
    frontier = [INITIAL_STATUS]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(InvoiceStatus)
    for status in InvoiceStatus:
        # From every non-final status a final one can be reached.
        seen, stack = {status}, [status]
        while stack:
            for target in TRANSITIONS[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        assert seen & FINAL_STATUSES, status


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.RECEIVED, S.IN_PROCESS),
        (S.RECEIVED, S.REJECTED),
        (S.IN_PROCESS, S.UNDER_QUERY),
        (S.UNDER_QUERY, S.IN_PROCESS),
        (S.UNDER_QUERY, S.ACCEPTED),
        (S.CONDITIONALLY_ACCEPTED, S.PAID),
        (S.ACCEPTED, S.PAID),
    ],
)
def test_allowed_moves(current: InvoiceStatus, target: InvoiceStatus) -> None:
    assert can_transition(current, target)
    check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.REJECTED, S.ACCEPTED),
        (S.PAID, S.REJECTED),
        (S.ACCEPTED, S.REJECTED),
        (S.ACCEPTED, S.UNDER_QUERY),
        (S.RECEIVED, S.PAID),
        (S.IN_PROCESS, S.RECEIVED),
    ],
)
def test_refused_moves(current: InvoiceStatus, target: InvoiceStatus) -> None:
    assert not can_transition(current, target)
    with pytest.raises(TransitionNotAllowed, match=f"from {current} to {target}"):
        check_transition(current, target)


def test_no_status_moves_to_itself_or_back_to_received() -> None:
    for current, target in itertools.product(InvoiceStatus, repeat=2):
        if target is current or target is S.RECEIVED:
            assert not can_transition(current, target)


def test_final_status_error_says_final() -> None:
    with pytest.raises(TransitionNotAllowed, match="RE is final"):
        check_transition(S.REJECTED, S.PAID)
