"""Fault scenario: Stripe redelivers. The same signed webhook arrives twice, concurrently, at two
replicas of the payments service (two uvicorn processes on one PostgreSQL database), and an older
event arrives after a newer one. Each payment changes state once and announces it once."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.common.db import Database
from services.payments.models import OUTBOX_TABLES, ProviderEvent
from tests.payments.servers import Localstripe
from tests.resilience.processes import Suite, identity, report, soak

STRIPE_KEY = "sk_test_tessera"
STRIPE_WEBHOOK_SECRET = "whsec_resilience"


@pytest.fixture
def localstripe() -> Iterator[Localstripe]:
    server = Localstripe()
    server.start()
    yield server
    server.stop()


def stripe_event(event_id: str, event_type: str, intent_id: str, created: int) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created": created,
            "api_version": "2024-06-20",
            "data": {"object": {"id": intent_id, "object": "payment_intent"}},
        }
    ).encode()


def stripe_signature(body: bytes) -> str:
    """Stripe's scheme: ``t=<unix time>,v1=<HMAC-SHA256 of "t.body">``."""
    timestamp = int(time.time())
    digest = hmac.new(STRIPE_WEBHOOK_SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def confirm_at_stripe(server: Localstripe, intent_id: str) -> None:
    """What Stripe.js does in the payer's browser: attach a good card and confirm."""
    import stripe

    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": server.url})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    client.v1.payment_intents.confirm(intent_id)


def deliver_together(targets: list[str], body: bytes) -> list[int]:
    """POST ``body`` to every target at the same moment (one thread each, released together)."""
    barrier = threading.Barrier(len(targets))
    statuses: list[int] = [0] * len(targets)

    def send(index: int, url: str) -> None:
        headers = {"Stripe-Signature": stripe_signature(body), "Content-Type": "application/json"}
        barrier.wait(timeout=10)
        statuses[index] = httpx.post(
            f"{url}/webhooks/stripe", content=body, headers=headers, timeout=20
        ).status_code

    threads = [threading.Thread(target=send, args=(i, url)) for i, url in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_duplicate_and_late_webhooks_change_a_payment_once(suite: Suite, localstripe: Localstripe) -> None:
    count = soak(4, 40)
    env = suite.service_env(
        "payments",
        provider="stripe",
        stripe_secret_key=STRIPE_KEY,
        stripe_publishable_key="pk_test_tessera",
        stripe_api_base=localstripe.url,
        stripe_js_url=f"{localstripe.url}/js.stripe.com/v3/",
        stripe_webhook_secrets=STRIPE_WEBHOOK_SECRET,
        sweep_enabled="false",
        relay_enabled="false",
    )
    replicas = [suite.app(f"payments-{n}", "payments", env).start() for n in (1, 2)]
    urls = [replica.url for replica in replicas]
    api = httpx.Client(base_url=urls[0], headers=identity("service"), timeout=20)
    database = Database(suite.database_url("payments"))
    sent = 0
    statuses: Counter[int] = Counter()
    payments: list[str] = []
    try:
        for n in range(count):
            created = api.post(
                "/v1/payments",
                json={
                    "amount": 2000 + n,
                    "currency": "EUR",
                    "reference": f"FAULT-W-{n:04d}",
                    "description": "Webhook fault scenario",
                    "return_url": "https://example.org/back",
                },
            )
            assert created.status_code == 201, created.text
            payment = created.json()
            payments.append(payment["payment_id"])
            confirm_at_stripe(localstripe, payment["provider_id"])
            now = int(time.time())
            succeeded = stripe_event(
                f"evt_{uuid.uuid4().hex}", "payment_intent.succeeded", payment["provider_id"], now
            )
            older = stripe_event(
                f"evt_{uuid.uuid4().hex}", "payment_intent.processing", payment["provider_id"], now - 5
            )
            # The same event at both replicas at once, twice; then the older event, late.
            for body in (succeeded, succeeded, older):
                for status in deliver_together(urls, body):
                    statuses[status] += 1
                    sent += 1
        with database.sessionmaker() as session:
            events = OUTBOX_TABLES.events
            announced = Counter(
                row.resource_id
                for row in session.execute(
                    sa.select(events.c.resource_id).where(events.c.type == "payment.succeeded")
                )
            )
            stored_events = session.execute(
                sa.select(sa.func.count()).select_from(ProviderEvent)
            ).scalar_one()
        transitions: dict[str, list[str]] = {}
        for payment_id in payments:
            history: list[dict[str, Any]] = api.get(f"/v1/payments/{payment_id}/events").json()["events"]
            transitions[payment_id] = [item["state"]["status"] for item in history]
        final = {
            payment_id: api.get(f"/v1/payments/{payment_id}").json()["state"]["status"]
            for payment_id in payments
        }
        successes = sum(states.count("success") for states in transitions.values())
        report(
            "stripe webhooks",
            payments=count,
            webhooks_sent=sent,
            answers=dict(statuses),
            provider_events_stored=stored_events,
            success_transitions=successes,
            succeeded_announced=sum(announced.values()),
            duplicated=sum(n - 1 for n in announced.values() if n > 1),
        )
        assert statuses == Counter({200: sent}), statuses
        assert stored_events == 2 * count  # one row per distinct event id, whichever replica won
        assert set(final.values()) == {"success"}, final
        assert all(states.count("success") == 1 for states in transitions.values()), transitions
        assert announced == Counter({payment_id: 1 for payment_id in payments}), announced
    finally:
        api.close()
        database.dispose()
