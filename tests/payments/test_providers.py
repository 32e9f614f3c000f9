"""The sandbox provider and card parsing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.payments.errors import CardRejected
from services.payments.providers import SandboxProvider, card_brand, luhn_valid, parse_card

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@pytest.mark.parametrize(
    ("number", "valid"), [("4242424242424242", True), ("4000000000000002", True), ("4242424242424241", False)]
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("378282246310005", "amex"),
        ("6011111111111117", "unknown"),
    ],
)
def test_card_brand(number: str, brand: str) -> None:
    assert card_brand(number) == brand


def test_expiry_this_month_is_still_valid_and_two_digit_years_are_this_century() -> None:
    card = parse_card("4242-4242-4242-4242", "11/26", "1234", now=NOW)
    assert (card.number, card.expiry_month, card.expiry_year, card.cvc) == (
        "4242424242424242",
        11,
        2026,
        "1234",
    )
    with pytest.raises(CardRejected, match="expired"):
        parse_card("4242424242424242", "10/26", "123", now=NOW)


def test_sandbox_outcomes() -> None:
    provider = SandboxProvider("http://pay.test/")
    ok = provider.charge(parse_card("4242424242424242", "12/30", "123", now=NOW))
    declined = provider.charge(parse_card("4000000000000002", "12/30", "123", now=NOW))
    assert ok.succeeded and ok.card_last4 == "4242" and ok.decline_code is None
    assert (
        not declined.succeeded and declined.decline_code == "card_declined" and declined.card_last4 == "0002"
    )
    assert ok.transaction_id != declined.transaction_id
    payment_id = uuid.uuid4()
    assert provider.checkout_url(payment_id) == f"http://pay.test/pay/{payment_id}"
