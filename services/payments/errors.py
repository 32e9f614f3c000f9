"""Payments errors, each with its HTTP status and stable code::

NotFound (404)
└── PaymentNotFound (payment_not_found)
Conflict (409)
└── IllegalTransition (payment_state_conflict)
Unprocessable (422)
└── CardRejected (card_invalid): the card details cannot be charged at all (a decline is not
    an error: it is an outcome, recorded as a failed payment)
"""

from __future__ import annotations

from services.common.errors import Conflict, NotFound, Unprocessable


class PaymentNotFound(NotFound):
    code = "payment_not_found"


class IllegalTransition(Conflict):
    code, title = "payment_state_conflict", "Payment state conflict"


class CardRejected(Unprocessable):
    code, title = "card_invalid", "Card details invalid"
