"""The gateway in front of the real invoicing, payments and receipts apps, in process: each
service runs its own lifespan on its own migrated database, and the gateway reaches it through
``httpx.ASGITransport``."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gateway.policy import Upstream, find_route
from services.common.identity import PRINCIPAL_HEADER, Principal, Role, encode_principal
from tests.conftest import INTERNAL_SECRET
from tests.gateway.conftest import gateway_client, make_key, running, settings_for

pytestmark = pytest.mark.anyio
PAYMENT = {
    "amount": 4500,
    "currency": "EUR",
    "reference": "PARK-2026-000123",
    "description": "Residential parking permit",
    "return_url": "https://city.example/permits/123/paid",
}


@dataclass
class Suite:
    http: httpx.AsyncClient
    apps: dict[Upstream, FastAPI]
    database_url: str

    def key(self, role: Role, supplier_id: str | None = None) -> dict[str, str]:
        _, key = make_key(self.database_url, role, supplier_id=supplier_id, name=f"{role.value} key")
        return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def service_apps(
    invoicing_settings: Any, payments_settings: Any, receipts_settings: Any
) -> dict[Upstream, FastAPI]:
    from services.invoicing.app import create_app as invoicing_app
    from services.payments.app import create_app as payments_app
    from services.receipts.app import create_app as receipts_app

    return {
        Upstream.INVOICING: invoicing_app(invoicing_settings),
        Upstream.PAYMENTS: payments_app(payments_settings),
        Upstream.RECEIPTS: receipts_app(receipts_settings),
    }


@pytest.fixture
async def suite(database_url: str, service_apps: dict[Upstream, FastAPI]) -> AsyncIterator[Suite]:
    async with AsyncExitStack() as stack:
        for app in service_apps.values():
            await stack.enter_async_context(running(app))
        transports = {u: httpx.ASGITransport(app=a) for u, a in service_apps.items()}
        http = await stack.enter_async_context(
            gateway_client(settings_for(database_url, max_body_bytes=4096), transports=transports)
        )
        yield Suite(http=http, apps=service_apps, database_url=database_url)


def add_invoices(invoicing_settings: Any, *rows: tuple[str, str]) -> None:
    from tests.invoicing.factories import stored_invoice

    engine = create_engine(invoicing_settings.resolved_database_url())
    with Session(engine) as session:
        session.add_all(stored_invoice(s, n) for s, n in rows)
        session.commit()
    engine.dispose()


async def test_no_key_is_401_and_wrong_role_403_before_any_service(suite: Suite) -> None:
    for path in ("/v1/invoices", "/v1/payments", "/v1/receipts"):
        answer = await suite.http.get(path)
        assert answer.status_code == 401, path
        assert answer.headers["content-type"] == "application/problem+json"
    supplier = suite.key(Role.SUPPLIER, "BE0123456789")
    refused = await suite.http.post("/v1/payments", headers=supplier, json=PAYMENT)
    assert refused.status_code == 403
    assert refused.json()["code"] == "role_not_allowed"


async def test_supplier_sees_its_own_invoices_whatever_identity_it_claims(
    suite: Suite, invoicing_settings: Any
) -> None:
    add_invoices(invoicing_settings, ("BE0123456789", "A-1"), ("BE0123456789", "A-2"), ("NL999", "B-1"))
    supplier = suite.key(Role.SUPPLIER, "BE0123456789")
    # A correctly signed identity of another supplier, as if it had leaked: the gateway drops it.
    forged = encode_principal(
        Principal(key_id="x", role=Role.SUPPLIER, name="x", supplier_id="NL999"), INTERNAL_SECRET
    )
    answer = await suite.http.get("/v1/invoices", headers={**supplier, PRINCIPAL_HEADER: forged})
    assert answer.status_code == 200
    page = answer.json()
    assert page["total"] == 2
    assert sorted(i["invoice_number"] for i in page["items"]) == ["A-1", "A-2"]


async def test_officer_creates_a_payment_and_the_payer_opens_the_public_page(suite: Suite) -> None:
    officer = suite.key(Role.OFFICER)
    created = await suite.http.post("/v1/payments", headers=officer, json=PAYMENT)
    assert created.status_code == 201, created.text
    payment_id = created.json()["payment_id"]
    assert created.headers["location"] == f"/v1/payments/{payment_id}"
    fetched = await suite.http.get(f"/v1/payments/{payment_id}", headers=suite.key(Role.SERVICE))
    assert fetched.json()["state"] == created.json()["state"]
    page = await suite.http.get(f"/pay/{payment_id}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "€45.00" in page.text


async def test_officer_reaches_receipts_and_the_service_checks_its_own_rules(suite: Suite) -> None:
    officer = suite.key(Role.OFFICER)
    assert (await suite.http.get("/v1/receipts", headers=officer)).status_code == 200
    # The gateway lets officers through to invoicing; the listing itself is for suppliers only.
    answer = await suite.http.get("/v1/invoices", headers=officer)
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"


async def test_revoked_key_is_401(suite: Suite) -> None:
    key_id, key = make_key(suite.database_url, Role.OFFICER)
    headers = {"Authorization": f"Bearer {key}"}
    assert (await suite.http.get("/v1/receipts", headers=headers)).status_code == 200
    admin = suite.key(Role.ADMIN)
    assert (await suite.http.post(f"/v1/keys/{key_id}/revoke", headers=admin)).status_code == 200
    answer = await suite.http.get("/v1/receipts", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "revoked_api_key"


async def test_request_id_reaches_the_service_and_comes_back(suite: Suite) -> None:
    officer = suite.key(Role.OFFICER)
    answer = await suite.http.get(
        f"/v1/payments/{uuid.uuid4()}", headers={**officer, "X-Request-Id": "trace-77"}
    )
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "trace-77"
    assert answer.json()["request_id"] == "trace-77"  # written by the payments service itself


async def test_oversized_body_is_413_at_the_gateway(suite: Suite) -> None:
    officer = suite.key(Role.OFFICER)
    answer = await suite.http.post(
        "/v1/payments", headers=officer, json={**PAYMENT, "description": "x" * 5000}
    )
    assert answer.status_code == 413
    assert answer.json()["code"] == "body_too_large"


async def test_service_webhook_receivers_are_not_exposed(suite: Suite) -> None:
    answer = await suite.http.post("/webhooks/events", content=b"{}")
    assert answer.status_code == 404


async def test_healthz_reports_each_service(suite: Suite) -> None:
    answer = await suite.http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "services": {"invoicing": "ok", "payments": "ok", "receipts": "ok"},
    }


async def test_combined_openapi_has_every_service_path_the_gateway_routes(suite: Suite) -> None:
    document = (await suite.http.get("/openapi.json")).json()
    assert document["info"]["x-tessera-unavailable"] == []
    for upstream, app in suite.apps.items():
        routed = {
            p
            for p in app.openapi()["paths"]
            if (route := find_route(p)) is not None and route.upstream is upstream
        }
        assert routed, upstream
        assert routed <= set(document["paths"]), upstream
    assert "/v1/keys" in document["paths"]
    assert "/webhooks/events" not in document["paths"]
    assert document["paths"]["/v1/payments"]["post"]["security"][0] == {"bearerKey": []}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_service_that_is_down_is_502_and_named_by_healthz(
    database_url: str, service_apps: dict[Upstream, FastAPI]
) -> None:
    async with AsyncExitStack() as stack:
        for upstream in (Upstream.INVOICING, Upstream.PAYMENTS):
            await stack.enter_async_context(running(service_apps[upstream]))
        transports = {
            u: httpx.ASGITransport(app=service_apps[u]) for u in (Upstream.INVOICING, Upstream.PAYMENTS)
        }
        settings = settings_for(database_url, receipts_url=f"http://127.0.0.1:{closed_port()}")
        http = await stack.enter_async_context(gateway_client(settings, transports=transports))
        _, key = make_key(database_url, Role.OFFICER)
        down = await http.get("/v1/receipts", headers={"Authorization": f"Bearer {key}"})
        health = await http.get("/healthz")
        document = (await http.get("/openapi.json")).json()
    assert down.status_code == 502
    assert down.json()["service"] == "receipts"
    assert health.status_code == 503
    assert health.json()["services"] == {"invoicing": "ok", "payments": "ok", "receipts": "unreachable"}
    assert document["info"]["x-tessera-unavailable"] == ["receipts"]
    assert "/v1/payments" in document["paths"]
