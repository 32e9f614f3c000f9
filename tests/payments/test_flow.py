"""The thin flow across services, in process: a payment is created, the sandbox settles it, the
payments relay delivers ``payment.succeeded`` to the receipts app, one receipt is recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.common.relay import Backoff, Relay
from services.payments.app import create_app
from services.payments.models import OUTBOX_TABLES
from tests.conftest import RECEIPTS_WEBHOOK, WEBHOOK_SECRET

Headers = Callable[..., dict[str, str]]
CARD = {"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"}


def pay(payments: TestClient, headers: Headers) -> str:
    created = payments.post(
        "/v1/payments",
        json={
            "amount": 2500,
            "currency": "EUR",
            "reference": "DOG-2026-7",
            "description": "Dog licence",
            "return_url": "https://city.example/done",
        },
        headers=headers("service"),
    ).json()
    page = payments.get(created["_links"]["next_url"])
    assert page.status_code == 200
    done = payments.post(f"/pay/{created['payment_id']}", data=CARD, follow_redirects=False)
    assert done.status_code == 303
    payment_id: str = created["payment_id"]
    return payment_id


def relay_for(payments: TestClient, client: httpx.Client) -> Relay:
    return Relay(
        service="payments",
        sessionmaker=payments.app.state.database.sessionmaker,  # type: ignore[attr-defined]
        tables=OUTBOX_TABLES,
        secrets=[WEBHOOK_SECRET],
        client=client,
        backoff=Backoff(0.001, 0.001),
    )


def receipts_of(receipts: TestClient, headers: Headers) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = receipts.get("/v1/receipts", headers=headers("officer")).json()["items"]
    return items


def test_paid_payment_becomes_one_receipt(
    payments_client: TestClient, receipts_client: TestClient, principal_headers: Headers
) -> None:
    payment_id = pay(payments_client, principal_headers)
    assert receipts_of(receipts_client, principal_headers) == []
    relay = relay_for(payments_client, receipts_client)
    assert relay.run_once().delivered == 1
    (receipt,) = receipts_of(receipts_client, principal_headers)
    assert (receipt["payment_id"], receipt["amount"], receipt["currency"], receipt["reference"]) == (
        payment_id,
        2500,
        "EUR",
        "DOG-2026-7",
    )


def test_receipts_outage_then_recovery_delivers_once(
    payments_client: TestClient, receipts_client: TestClient, principal_headers: Headers
) -> None:
    receipts_up = False

    def route(request: httpx.Request) -> httpx.Response:
        if not receipts_up:
            raise httpx.ConnectError("receipts is down", request=request)
        forwarded = receipts_client.request(
            request.method, str(request.url), content=request.read(), headers=dict(request.headers)
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content, headers=forwarded.headers)

    relay = relay_for(payments_client, httpx.Client(transport=httpx.MockTransport(route)))
    pay(payments_client, principal_headers)
    for _ in range(3):
        assert relay.run_once().delivered == 0
        time.sleep(0.002)
    assert receipts_of(receipts_client, principal_headers) == []
    receipts_up = True
    time.sleep(0.002)
    assert relay.run_once().delivered == 1
    # A sender that never learnt of the success (lost response) redelivers: still one receipt.
    with payments_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        session.execute(OUTBOX_TABLES.deliveries.update().values(delivered_at=None))
        session.commit()
    assert relay.run_once().delivered == 1
    assert len(receipts_of(receipts_client, principal_headers)) == 1


def test_relay_thread_runs_in_the_payments_lifespan(
    payments_settings: Any, receipts_client: TestClient, principal_headers: Headers
) -> None:
    settings = payments_settings.model_copy(update={"relay_enabled": True, "relay_interval_seconds": 0.02})
    assert settings.subscribers == RECEIPTS_WEBHOOK
    with TestClient(create_app(settings, relay_client=receipts_client)) as payments:
        relay = payments.app.state.relay  # type: ignore[attr-defined]
        assert relay.running
        pay(payments, principal_headers)
        deadline = time.monotonic() + 10
        while not receipts_of(receipts_client, principal_headers) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(receipts_of(receipts_client, principal_headers)) == 1
    assert not relay.running
