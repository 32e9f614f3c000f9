"""Payment providers behind one small protocol, so the sandbox and Stripe are swappable.

A provider tells where the payer goes to pay (``checkout_url``), may open a payment on its side
when Tessera creates one (``begin``), answers what became of a payment (``lookup``: used to
re-check a stuck payment rather than guess), gives money back (``refund``) and cancels an
unfinished payment (``cancel``). Outcomes come back as :class:`ChargeOutcome`;
:func:`services.payments.service.settle` applies them. The built-in :class:`SandboxProvider`
charges nothing: it serves Tessera's own hosted card page and decides by the card number, like
the test cards acquirers publish.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from services.payments.errors import CardRejected

SANDBOX_SUCCESS_CARD = "4242424242424242"
SANDBOX_DECLINED_CARD = "4000000000000002"
# The documented sandbox cards and what they do (shown on the card page and in the docs).
SANDBOX_CARDS: dict[str, str] = {
    SANDBOX_SUCCESS_CARD: "succeeds",
    SANDBOX_DECLINED_CARD: "is declined (card_declined)",
}


@dataclass(frozen=True, slots=True)
class CardDetails:
    number: str
    expiry_month: int
    expiry_year: int
    cvc: str


@dataclass(frozen=True, slots=True)
class ChargeOutcome:
    succeeded: bool
    provider: str
    transaction_id: str
    card_brand: str | None = None
    card_last4: str | None = None
    decline_code: str | None = None
    cancelled: bool = False  # the provider cancelled it (no charge); neither success nor decline
    fee: int | None = None
    net: int | None = None
    balance_transaction_id: str | None = None  # the provider's record of gross, fee and net


@dataclass(frozen=True, slots=True)
class Checkout:
    """What a provider opened on its side for a new payment (nothing, for the sandbox)."""

    provider_id: str | None = None
    client_secret: str | None = None


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    provider_refund_id: str
    succeeded: bool | None  # None: submitted, the provider reports the result later


class PaymentProvider(Protocol):
    name: str

    def checkout_url(self, payment_id: uuid.UUID) -> str:
        """Where the payer is sent to complete the payment (the payment's ``next_url``)."""
        ...

    def begin(self, *, payment_id: uuid.UUID, amount: int, currency: str, description: str) -> Checkout:
        """Open the payment on the provider's side (idempotent per ``payment_id``)."""
        ...

    def lookup(self, provider_id: str) -> ChargeOutcome | None:
        """The final outcome of a payment, or None while it is still undecided."""
        ...

    def refund(self, *, refund_id: uuid.UUID, provider_id: str, amount: int) -> RefundOutcome: ...

    def cancel(self, provider_id: str) -> bool:
        """Cancel an unfinished payment; False when the provider says it has already settled."""
        ...


def luhn_valid(number: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def parse_card(number: str, expiry: str, cvc: str, *, now: datetime) -> CardDetails:
    """Card details from the form fields, or :class:`CardRejected` naming what is wrong."""
    digits = number.replace(" ", "").replace("-", "")
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        raise CardRejected(
            "The card number must be 12 to 19 digits", field="card_number", reason="card_digits"
        )
    if not luhn_valid(digits):
        raise CardRejected(
            "The card number is not valid (check digit mismatch)", field="card_number", reason="card_check"
        )
    month_text, sep, year_text = expiry.strip().partition("/")
    if not sep or not month_text.strip().isdigit() or not year_text.strip().isdigit():
        raise CardRejected("The expiry date must be written MM/YY", field="expiry", reason="expiry_format")
    month, year = int(month_text), int(year_text)
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        raise CardRejected("The expiry month must be 01 to 12", field="expiry", reason="expiry_month")
    if (year, month) < (now.year, now.month):
        raise CardRejected("The card has expired", field="expiry", reason="card_expired")
    cvc = cvc.strip()
    if not cvc.isdigit() or len(cvc) not in (3, 4):
        raise CardRejected("The security code must be 3 or 4 digits", field="cvc", reason="cvc_digits")
    return CardDetails(number=digits, expiry_month=month, expiry_year=year, cvc=cvc)


class SandboxProvider:
    """Tessera's test acquirer: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined,
    any other number is refused as not a sandbox card. Charges settle at once, so nothing is ever
    left undecided on its side; refunds succeed at once."""

    name = "sandbox"
    uses_card_form = True

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def checkout_url(self, payment_id: uuid.UUID) -> str:
        return f"{self.public_url}/pay/{payment_id}"

    def begin(self, *, payment_id: uuid.UUID, amount: int, currency: str, description: str) -> Checkout:
        return Checkout()

    def lookup(self, provider_id: str) -> ChargeOutcome | None:
        return None

    def refund(self, *, refund_id: uuid.UUID, provider_id: str, amount: int) -> RefundOutcome:
        return RefundOutcome(provider_refund_id=f"sbx_re_{secrets.token_hex(12)}", succeeded=True)

    def cancel(self, provider_id: str) -> bool:
        return True

    def charge(self, card: CardDetails) -> ChargeOutcome:
        if card.number not in SANDBOX_CARDS:
            raise CardRejected(
                "The sandbox accepts only its test cards: 4242 4242 4242 4242 (succeeds) and "
                "4000 0000 0000 0002 (declined)",
                field="card_number",
                reason="not_test_card",
            )
        succeeded = card.number == SANDBOX_SUCCESS_CARD
        return ChargeOutcome(
            succeeded=succeeded,
            provider=self.name,
            transaction_id=f"sbx_{secrets.token_hex(12)}",
            card_brand=card_brand(card.number),
            card_last4=card.number[-4:],
            decline_code=None if succeeded else "card_declined",
        )
