"""Payment state rules."""

from __future__ import annotations

import uuid

import pytest

from services.payments.errors import IllegalTransition
from services.payments.models import TRANSITIONS, Currency, Payment, PaymentState
from services.payments.service import transition


def payment(state: PaymentState) -> Payment:
    return Payment(id=uuid.uuid4(), state=state, amount=1, currency=Currency.EUR)


@pytest.mark.parametrize("source", list(PaymentState))
@pytest.mark.parametrize("target", list(PaymentState))
def test_only_listed_transitions_are_allowed(source: PaymentState, target: PaymentState) -> None:
    p = payment(source)
    if target in TRANSITIONS[source]:
        transition(p, target)
        assert p.state is target
    else:
        with pytest.raises(IllegalTransition) as error:
            transition(p, target)
        assert error.value.status == 409 and p.state is source


def test_settled_states_are_final() -> None:
    assert TRANSITIONS[PaymentState.SUCCEEDED] == frozenset() == TRANSITIONS[PaymentState.FAILED]
