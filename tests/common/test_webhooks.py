"""Webhook signatures (Stripe's t=/v1= scheme) and the event envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.common.webhooks import (
    EventMalformed,
    SignatureMalformed,
    SignatureMismatch,
    SignatureMissing,
    TimestampOutsideTolerance,
    WebhookEvent,
    sign,
    verify,
)

BODY = b'{"id":"x"}'
NOW = 1_800_000_000


def test_signature_verifies_and_returns_its_timestamp() -> None:
    header = sign(BODY, ["s1"], timestamp=NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert verify(BODY, header, ["s1"], now=NOW) == NOW


def test_rotation_sender_signs_with_every_secret_receiver_accepts_any() -> None:
    header = sign(BODY, ["new", "old"], timestamp=NOW)
    assert header.count("v1=") == 2
    assert verify(BODY, header, ["old"], now=NOW) == NOW
    assert verify(BODY, header, ["new"], now=NOW) == NOW
    assert verify(BODY, sign(BODY, ["old"], timestamp=NOW), ["new", "old"], now=NOW) == NOW


def test_tampered_body_or_unknown_secret_is_refused() -> None:
    header = sign(BODY, ["s1"], timestamp=NOW)
    with pytest.raises(SignatureMismatch):
        verify(b'{"id":"y"}', header, ["s1"], now=NOW)
    with pytest.raises(SignatureMismatch):
        verify(BODY, header, ["other"], now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 10_000])
def test_timestamp_outside_five_minutes_is_refused(offset: int) -> None:
    header = sign(BODY, ["s1"], timestamp=NOW - offset)
    with pytest.raises(TimestampOutsideTolerance, match="at most 300 s"):
        verify(BODY, header, ["s1"], now=NOW)


def test_timestamp_at_the_edge_of_tolerance_is_accepted() -> None:
    assert verify(BODY, sign(BODY, ["s1"], timestamp=NOW - 300), ["s1"], now=NOW) == NOW - 300


@pytest.mark.parametrize(
    ("header", "error"),
    [
        (None, SignatureMissing),
        ("", SignatureMissing),
        ("garbage", SignatureMalformed),
        ("t=abc,v1=00", SignatureMalformed),
        (f"t={NOW}", SignatureMalformed),
        ("v1=00", SignatureMalformed),
        (f"t={NOW},v0=00", SignatureMalformed),
    ],
)
def test_missing_or_malformed_header_is_refused(header: str | None, error: type[Exception]) -> None:
    with pytest.raises(error):
        verify(BODY, header, ["s1"], now=NOW)


def test_signing_needs_a_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sign(BODY, [])


def test_event_envelope_round_trips() -> None:
    event = WebhookEvent(
        id=uuid.uuid4(),
        type="payment.succeeded",
        resource_id="r1",
        created_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        data={"amount": 100},
    )
    assert WebhookEvent.decode(event.encode()) == event


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"id": "x"}', "lacks: type, resource_id, created_at, data"),
        (
            b'{"id":"nope","type":"t","resource_id":"r","created_at":"2026-01-01T00:00:00+00:00","data":{}}',
            "malformed",
        ),
        (
            b'{"id":"00000000-0000-0000-0000-000000000001","type":"","resource_id":"r",'
            b'"created_at":"2026-01-01T00:00:00+00:00","data":{}}',
            "non-empty",
        ),
        (
            b'{"id":"00000000-0000-0000-0000-000000000001","type":"t","resource_id":"r",'
            b'"created_at":"2026-01-01T00:00:00+00:00","data":[]}',
            "data must be",
        ),
    ],
)
def test_malformed_envelopes_are_named(body: bytes, message: str) -> None:
    with pytest.raises(EventMalformed, match=message):
        WebhookEvent.decode(body)
