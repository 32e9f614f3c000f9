"""Minor units of the accepted currencies and the amounts a provider can actually charge.

Amounts travel in minor units everywhere. ISO 4217 gives HUF two decimals (fillér), and Stripe
charges HUF in that two-decimal form, but pays HUF out as a zero-decimal currency, so it requires
HUF amounts that are whole forints (divisible by 100): https://docs.stripe.com/currencies#special-cases
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from services.payments.models import Currency

EXPONENT: dict[Currency, int] = {Currency.EUR: 2, Currency.GBP: 2, Currency.SEK: 2, Currency.HUF: 2}
# The smallest step an amount may move in, in minor units.
STEP: dict[Currency, int] = {Currency.EUR: 1, Currency.GBP: 1, Currency.SEK: 1, Currency.HUF: 100}


def amount_problem(amount: int, currency: Currency) -> str | None:
    """Why ``amount`` cannot be charged in ``currency``, or None."""
    if amount % STEP[currency]:
        return f"{currency.value} amounts must be whole units: a multiple of {STEP[currency]} minor units"
    return None


def format_amount(amount: int, currency: Currency | str) -> str:
    code = Currency(currency)
    digits = EXPONENT[code]
    return f"{Decimal(amount).scaleb(-digits):.{digits}f} {code.value}"


def parse_major(text: str, currency: Currency) -> int:
    """``"45.50"`` in ``currency`` as minor units; ValueError naming the problem."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as error:
        raise ValueError(f"{text!r} is not a number") from error
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} must be a positive amount")
    minor = value.scaleb(EXPONENT[currency])
    if minor != minor.to_integral_value():
        raise ValueError(f"{text!r} has more than {EXPONENT[currency]} decimals")
    amount = int(minor)
    problem = amount_problem(amount, currency)
    if problem:
        raise ValueError(problem)
    return amount
