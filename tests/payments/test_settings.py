"""Payments settings: Stripe needs its keys, maximum amounts are readable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.payments.models import Currency
from services.payments.settings import PaymentsSettings, parse_max_amounts


def test_max_amounts_are_read_per_currency() -> None:
    assert parse_max_amounts("EUR:100, huf:5000") == {Currency.EUR: 100, Currency.HUF: 5000}


@pytest.mark.parametrize(
    ("text", "message"), [("EUR100", "CUR:AMOUNT"), ("USD:1", "unknown currency"), ("EUR:-1", "CUR:AMOUNT")]
)
def test_unreadable_max_amounts_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_max_amounts(text)


def test_stripe_needs_its_secret_key_and_webhook_secrets(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="stripe_secret_key and stripe_webhook_secrets"):
        PaymentsSettings(provider="stripe", data_dir=tmp_path, stripe_secret_key="sk_test_x")
    settings = PaymentsSettings(
        provider="stripe",
        data_dir=tmp_path,
        stripe_secret_key="sk_test_x",
        stripe_webhook_secrets="whsec_a, whsec_b",
    )
    assert settings.stripe_webhook_secret_list == ["whsec_a", "whsec_b"]
    with pytest.raises(ValidationError, match="http"):
        PaymentsSettings(data_dir=tmp_path, stripe_api_base="ftp://stripe.example")
