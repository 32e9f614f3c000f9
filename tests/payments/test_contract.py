"""One contract for every provider: the same tests run against the sandbox and against Stripe
(localstripe, a fake Stripe API that sends signed webhooks), through the real HTTP API of the
payments service served by uvicorn. Each provider has a driver that plays the payer's part."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.common.db import Database
from services.payments.models import OUTBOX_TABLES, BalanceTransaction, ProviderEvent
from tests.payments.servers import Localstripe
from tests.servers import Served

Headers = Callable[..., dict[str, str]]
WEBHOOK_SECRETS = ("whsec_old_tessera", "whsec_new_tessera")


@dataclass
class Rig:
    provider: str
    api: httpx.Client
    database: Database
    pay: Callable[[str, bool], None]  # payment id, whether the card is a good one
    localstripe: Localstripe | None = None
    webhook_url: str = ""

    def payment(self, payment_id: str) -> dict[str, Any]:
        response = self.api.get(f"/v1/payments/{payment_id}")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def wait_finished(self, payment_id: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            data = self.payment(payment_id)
            if data["state"]["finished"] or time.monotonic() > deadline:
                return data
            time.sleep(0.1)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        with self.database.sessionmaker() as session:
            rows = session.execute(
                select(OUTBOX_TABLES.events.c.type, OUTBOX_TABLES.events.c.payload).order_by(
                    OUTBOX_TABLES.events.c.sequence
                )
            ).all()
        return [(row.type, row.payload) for row in rows]


def sandbox_pay(api: httpx.Client) -> Callable[[str, bool], None]:
    def pay(payment_id: str, good: bool) -> None:
        number = "4242424242424242" if good else "4000000000000002"
        response = api.post(
            f"/pay/{payment_id}", data={"card_number": number, "expiry": "12/40", "cvc": "123"}
        )
        assert response.status_code == 303, response.text

    return pay


def stripe_pay(server: Localstripe, api: httpx.Client) -> Callable[[str, bool], None]:
    """What Stripe.js does in the payer's browser: a card payment method, then confirmation."""
    import stripe

    client = stripe.StripeClient("sk_test_tessera", base_addresses={"api": server.url})

    def pay(payment_id: str, good: bool) -> None:
        intent_id = api.get(f"/v1/payments/{payment_id}").json()["provider_id"]
        # 4000 0000 0000 0341 attaches but its charge is declined (Stripe's and localstripe's test card).
        number = "4242424242424242" if good else "4000000000000341"
        method = client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            }
        )
        client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
        try:
            client.v1.payment_intents.confirm(intent_id)
        except stripe.CardError:
            assert not good

    return pay


@contextlib.contextmanager
def build_rig(
    kind: str, request: pytest.FixtureRequest, payments_settings: Any, principal_headers: Headers
) -> Iterator[Rig]:
    from services.payments.app import create_app

    server: Localstripe | None = None
    settings = payments_settings
    if kind == "stripe":
        server = request.getfixturevalue("localstripe")
        settings = payments_settings.model_copy(
            update={
                "provider": "stripe",
                "stripe_secret_key": "sk_test_tessera",
                "stripe_publishable_key": "pk_test_tessera",
                "stripe_api_base": server.url,
                "stripe_js_url": f"{server.url}/js.stripe.com/v3/",
                "stripe_webhook_secrets": ",".join(WEBHOOK_SECRETS),
                "sweep_enabled": False,
            }
        )
    else:
        settings = payments_settings.model_copy(update={"sweep_enabled": False})
    database = Database(settings.resolved_database_url())
    with Served(create_app(settings)) as served:
        api = httpx.Client(base_url=served.url, headers=principal_headers("service"), timeout=10)
        if server is not None:
            # The newer secret signs; the older one is still accepted (rotation).
            server.send_webhooks_to(f"{served.url}/webhooks/stripe", WEBHOOK_SECRETS[1])
            yield Rig(
                "stripe", api, database, stripe_pay(server, api), server, f"{served.url}/webhooks/stripe"
            )
        else:
            yield Rig("sandbox", api, database, sandbox_pay(api))
        api.close()
    database.dispose()


@pytest.fixture(params=["sandbox", "stripe"])
def rig(request: pytest.FixtureRequest, payments_settings: Any, principal_headers: Headers) -> Iterator[Rig]:
    with build_rig(request.param, request, payments_settings, principal_headers) as built:
        yield built


def create(rig: Rig, amount: int = 2500, **extra: Any) -> dict[str, Any]:
    body = {
        "amount": amount,
        "currency": "EUR",
        "reference": "C-1",
        "description": "Contract fee",
        "return_url": "https://city.example/done",
        **extra,
    }
    response = rig.api.post("/v1/payments", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_good_card_succeeds_and_tells_receipts(rig: Rig) -> None:
    payment = create(rig)
    assert payment["state"]["status"] == "created" and payment["_links"]["next_url"].endswith(
        f"/pay/{payment['payment_id']}"
    )
    rig.pay(payment["payment_id"], True)
    done = rig.wait_finished(payment["payment_id"])
    assert done["state"] == {"status": "success", "finished": True, "code": None, "message": None}
    assert done["card_last4"] == "4242" and done["provider"] == rig.provider and done["provider_id"]
    ((kind, payload),) = rig.events()
    assert kind == "payment.succeeded"
    assert (payload["amount"], payload["currency"], payload["provider_transaction_id"]) == (
        2500,
        "EUR",
        done["provider_id"],
    )
    assert payload["card_last4"] == "4242" and payload["paid_at"]
    if rig.provider == "stripe":
        # Fees and the balance transaction are kept for reconciliation (localstripe charges no fee).
        assert (done["fee"], done["net_amount"]) == (0, 2500) and payload["fee"] == 0
        with rig.database.sessionmaker() as session:
            (txn,) = session.scalars(select(BalanceTransaction)).all()
        assert (txn.amount, txn.fee, txn.net, str(txn.payment_id)) == (2500, 0, 2500, payment["payment_id"])
        assert payload["balance_transaction_id"] == txn.transaction_id
        listed = rig.api.get(f"/v1/payments/{payment['payment_id']}/balance-transactions").json()
        assert [(t["transaction_id"], t["amount"], t["fee"], t["net"]) for t in listed] == [
            (txn.transaction_id, 2500, 0, 2500)
        ]
    else:
        assert rig.api.get(f"/v1/payments/{payment['payment_id']}/balance-transactions").json() == []


def test_a_declined_card_fails_the_payment(rig: Rig) -> None:
    payment = create(rig)
    rig.pay(payment["payment_id"], False)
    done = rig.wait_finished(payment["payment_id"])
    assert done["state"]["status"] == "failed" and done["state"]["code"] == "P0010"
    assert [kind for kind, _ in rig.events()] == ["payment.failed"]


def test_refunds_partial_then_full(rig: Rig) -> None:
    payment = create(rig)
    rig.pay(payment["payment_id"], True)
    rig.wait_finished(payment["payment_id"])
    pid = payment["payment_id"]
    first = rig.api.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1000, "refund_amount_available": 2500}
    )
    assert (
        first.status_code == 202
        and first.json()["status"] == "success"
        and first.json()["provider_refund_id"]
    )
    stale = rig.api.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1500, "refund_amount_available": 2500}
    )
    assert stale.status_code == 412
    rest = rig.api.post(f"/v1/payments/{pid}/refunds", json={"amount": 1500, "refund_amount_available": 1500})
    assert rest.status_code == 202
    assert rig.payment(pid)["refund_summary"]["status"] == "full"
    assert [kind for kind, _ in rig.events()] == ["payment.succeeded", "payment.refunded", "payment.refunded"]


def test_an_unfinished_payment_is_cancelled(rig: Rig) -> None:
    payment = create(rig)
    assert rig.api.post(f"/v1/payments/{payment['payment_id']}/cancel").status_code == 204
    assert rig.payment(payment["payment_id"])["state"]["status"] == "cancelled"
    if rig.localstripe is not None:
        url = f"{rig.localstripe.url}/v1/payment_intents/{payment['provider_id']}"
        intent = httpx.get(url, auth=("sk_test_tessera", "")).json()
        assert intent["status"] == "canceled"


# --- Stripe webhooks: replayed, out of order, forged ------------------------------------------


def stripe_signature(body: bytes, secret: str, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def stripe_event(event_type: str, intent_id: str) -> bytes:
    event = {
        "id": f"evt_{uuid.uuid4().hex[:20]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": {"id": intent_id, "object": "payment_intent"}},
    }
    return json.dumps(event).encode()


@pytest.fixture
def stripe_rig(
    request: pytest.FixtureRequest, payments_settings: Any, principal_headers: Headers
) -> Iterator[Rig]:
    with build_rig("stripe", request, payments_settings, principal_headers) as built:
        yield built


def stored_events(rig: Rig, intent_id: str) -> int:
    """Stored Stripe events about ``intent_id`` (localstripe may still deliver, a second late,
    events of an earlier test to the webhook URL registered now: those are about other intents)."""
    with rig.database.sessionmaker() as session:
        payloads = session.scalars(select(ProviderEvent.payload)).all()
    return sum(1 for p in payloads if (p.get("data") or {}).get("object", {}).get("id") == intent_id)


def deliver(rig: Rig, body: bytes, signature: str | None) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["stripe-signature"] = signature
    return httpx.post(rig.webhook_url, content=body, headers=headers)


def test_a_replayed_webhook_changes_nothing(stripe_rig: Rig) -> None:
    payment = create(stripe_rig)
    stripe_rig.pay(payment["payment_id"], True)
    stripe_rig.wait_finished(payment["payment_id"])
    intent_id = stripe_rig.payment(payment["payment_id"])["provider_id"]
    body = stripe_event("payment_intent.succeeded", intent_id)
    signature = stripe_signature(body, WEBHOOK_SECRETS[0])  # the older secret still verifies
    first, second = deliver(stripe_rig, body, signature), deliver(stripe_rig, body, signature)
    assert (first.status_code, first.json()["outcome"]) == (200, "already_finished")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    assert [kind for kind, _ in stripe_rig.events()] == ["payment.succeeded"]


def test_out_of_order_webhooks_follow_stripe_not_the_event(stripe_rig: Rig) -> None:
    payment = create(stripe_rig)
    intent_id = stripe_rig.payment(payment["payment_id"])["provider_id"]
    # "succeeded" arrives before the payer has paid: Stripe is asked and says not yet.
    early = stripe_event("payment_intent.succeeded", intent_id)
    response = deliver(stripe_rig, early, stripe_signature(early, WEBHOOK_SECRETS[1]))
    assert response.json()["outcome"] == "pending"
    assert stripe_rig.payment(payment["payment_id"])["state"]["status"] == "submitted"
    stripe_rig.pay(payment["payment_id"], True)
    assert stripe_rig.wait_finished(payment["payment_id"])["state"]["status"] == "success"
    # A late "payment_failed" for the same intent cannot undo the success.
    late = stripe_event("payment_intent.payment_failed", intent_id)
    response = deliver(stripe_rig, late, stripe_signature(late, WEBHOOK_SECRETS[1]))
    assert response.json()["outcome"] == "already_finished"
    assert stripe_rig.payment(payment["payment_id"])["state"]["status"] == "success"
    assert [kind for kind, _ in stripe_rig.events()] == ["payment.succeeded"]


@pytest.mark.parametrize(
    "forge",
    [
        lambda body: stripe_signature(body, "whsec_attacker"),
        lambda body: stripe_signature(body, WEBHOOK_SECRETS[1], timestamp=int(time.time()) - 301),
        lambda body: stripe_signature(body + b" ", WEBHOOK_SECRETS[1]),
        lambda body: "t=1,v1=00",
        lambda body: None,
    ],
    ids=["wrong-secret", "too-old", "other-body", "garbage", "missing"],
)
def test_forged_webhooks_are_refused_and_change_nothing(
    stripe_rig: Rig, forge: Callable[[bytes], str | None]
) -> None:
    payment = create(stripe_rig)
    intent_id = stripe_rig.payment(payment["payment_id"])["provider_id"]
    body = stripe_event("payment_intent.canceled", intent_id)
    response = deliver(stripe_rig, body, forge(body))
    assert response.status_code == 401 and response.json()["code"] == "provider_signature_invalid"
    assert stored_events(stripe_rig, intent_id) == 0
    assert stripe_rig.payment(payment["payment_id"])["state"]["status"] == "created"
    assert stripe_rig.events() == []


def test_a_paid_payout_is_stored_and_marks_the_balance_transactions_it_carries(stripe_rig: Rig) -> None:
    from services.payments import stripe_provider
    from services.payments.models import ProviderEvent

    payment = create(stripe_rig)
    stripe_rig.pay(payment["payment_id"], True)
    stripe_rig.wait_finished(payment["payment_id"])
    with stripe_rig.database.sessionmaker() as session:
        (txn,) = session.scalars(select(BalanceTransaction)).all()
    assert stripe_rig.localstripe is not None
    # localstripe announces payouts but cannot list a payout's transactions: the event is kept.
    httpx.post(
        f"{stripe_rig.localstripe.url}/v1/payouts",
        data={"amount": 2500, "currency": "eur", "status": "paid"},
        auth=("sk_test_tessera", ""),
    ).raise_for_status()
    deadline = time.monotonic() + 10
    outcome = None
    while time.monotonic() < deadline and outcome is None:
        with stripe_rig.database.sessionmaker() as session:
            outcome = session.scalar(select(ProviderEvent.outcome).where(ProviderEvent.type == "payout.paid"))
        time.sleep(0.1)
    assert outcome is not None and outcome.startswith("payout_unlisted")

    # Where Stripe lists them, the payout's transactions are marked with it.
    class Listing:
        def auto_paging_iter(self) -> list[dict[str, str]]:
            return [{"id": txn.transaction_id}, {"id": "txn_not_ours"}]

    class Client:
        class v1:  # noqa: N801  (mirrors StripeClient.v1)
            class balance_transactions:  # noqa: N801
                @staticmethod
                def list(params: dict[str, Any]) -> Listing:
                    assert params["payout"] == "po_1"
                    return Listing()

    provider = stripe_provider.StripeProvider(
        client=Client(),  # type: ignore[arg-type]
        public_url="http://x.test",
        publishable_key="pk",
        js_url="http://x.test/js",
        webhook_secrets=["s"],
    )
    with stripe_rig.database.sessionmaker() as session:
        assert (
            stripe_provider._process_payout(session, provider=provider, payout_id="po_1") == "payout_marked:1"
        )
        session.commit()
        assert session.scalars(select(BalanceTransaction.payout_id)).all() == ["po_1"]
