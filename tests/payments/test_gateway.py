"""The payments API, the citizen pages and the Stripe webhook route behind the real gateway
(in process, on both backends)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from gateway.policy import Upstream
from services.common.identity import Role
from tests.gateway.conftest import gateway_client, make_key, running, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def gateway(payments_settings: Any, gateway_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    from services.payments.app import create_app

    app = create_app(payments_settings.model_copy(update={"sweep_enabled": False}))
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(app))
        transports = {Upstream.PAYMENTS: httpx.ASGITransport(app=app)}
        yield await stack.enter_async_context(
            gateway_client(settings_for(gateway_db_url), transports=transports)
        )


async def test_an_officer_records_what_is_owed_and_a_citizen_pays_it(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    _, officer = make_key(gateway_db_url, Role.OFFICER, name="Officer Rossi")
    _, supplier = make_key(gateway_db_url, Role.SUPPLIER, supplier_id="IT1", name="Supplier")
    body = {
        "payer": {"name": "Maria Rossi"},
        "description": "Dog licence",
        "category": "DOG",
        "amount": 2500,
        "currency": "EUR",
        "due_date": "2099-01-31",
    }
    refused = await gateway.post(
        "/v1/payment-requests", json=body, headers={"Authorization": f"Bearer {supplier}"}
    )
    assert refused.status_code == 403
    assert (await gateway.post("/v1/payment-requests", json=body)).status_code == 401
    created = await gateway.post(
        "/v1/payment-requests", json=body, headers={"Authorization": f"Bearer {officer}"}
    )
    assert created.status_code == 201, created.text
    reference = created.json()["creditor_reference"]
    page = await gateway.get(f"/pay/owed/{reference}")
    assert page.status_code == 200 and "Dog licence" in page.text
    started = await gateway.post(f"/pay/owed/{reference}")
    assert started.status_code == 303
    payment_path = "/pay/" + started.headers["location"].split("/pay/", 1)[1].split("?")[0]
    card = {"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"}
    paid = await gateway.post(payment_path, data=card)
    assert paid.status_code == 303 and "/result" in paid.headers["location"]
    result = await gateway.get(f"{payment_path}/result")
    assert "Payment received" in result.text


async def test_the_stripe_webhook_route_reaches_the_service_without_a_key(gateway: httpx.AsyncClient) -> None:
    answer = await gateway.post("/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"})
    # The sandbox installation has no Stripe secrets: the service itself refuses the delivery.
    assert answer.status_code == 401 and answer.json()["code"] == "provider_signature_invalid"
    assert (await gateway.post("/webhooks/events", content=b"{}")).status_code == 404
