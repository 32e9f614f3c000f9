"""The invoicing API and pages behind the real gateway (in process, on both backends): keys,
roles, revocation, the gateway's size limit and the pages' session cookie."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from gateway.policy import SESSION_COOKIE, Upstream
from services.common.identity import Role
from services.invoicing.samples import sample_invoice
from tests.gateway.conftest import gateway_client, make_key, running, settings_for
from tests.invoicing.conftest import SELLER

pytestmark = pytest.mark.anyio
XML = {"Content-Type": "application/xml"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def gateway(invoicing_settings: Any, gateway_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    from services.invoicing.app import create_app

    app = create_app(invoicing_settings)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(running(app))
        transports = {Upstream.INVOICING: httpx.ASGITransport(app=app)}
        settings = settings_for(gateway_db_url, max_body_bytes=64 * 1024)
        yield await stack.enter_async_context(gateway_client(settings, transports=transports))


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_a_supplier_submits_through_the_gateway_and_an_officer_answers(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    _, supplier_key = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SELLER, name="Forniture Demo")
    _, officer_key = make_key(gateway_db_url, Role.OFFICER, name="Officer Bianchi")
    created = await gateway.post(
        "/v1/invoices", content=sample_invoice(number="G-1"), headers={**bearer(supplier_key), **XML}
    )
    assert created.status_code == 201, created.text
    invoice_id = created.json()["id"]
    inbox = await gateway.get("/v1/inbox", headers=bearer(officer_key))
    assert [i["id"] for i in inbox.json()["items"]] == [invoice_id]
    assert (await gateway.get("/v1/inbox", headers=bearer(supplier_key))).status_code == 403
    moved = await gateway.post(
        f"/v1/invoices/{invoice_id}/status",
        json={"status": "RE", "reasons": ["REF"]},
        headers=bearer(officer_key),
    )
    assert moved.status_code == 201 and moved.json()["actor"] == "Officer Bianchi"
    code = await gateway.post("/v1/routing-codes", json={"code": "PO-9"}, headers=bearer(officer_key))
    assert code.status_code == 201
    codes = await gateway.get("/v1/invoices/routing-codes", headers=bearer(supplier_key))
    assert "PO-9" in [c["code"] for c in codes.json()]
    assert (
        await gateway.post("/v1/routing-codes", json={"code": "X"}, headers=bearer(supplier_key))
    ).status_code == 403


async def test_refusals_at_the_gateway_are_problems_and_store_nothing(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    key_id, supplier_key = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SELLER)
    headers = {**bearer(supplier_key), **XML}
    huge = await gateway.post(
        "/v1/invoices", content=sample_invoice(number="H-1", lines=400), headers=headers
    )
    assert huge.status_code == 413 and huge.headers["content-type"] == "application/problem+json"
    _, admin_key = make_key(gateway_db_url, Role.ADMIN)
    assert (await gateway.post(f"/v1/keys/{key_id}/revoke", headers=bearer(admin_key))).status_code == 200
    revoked = await gateway.post("/v1/invoices", content=sample_invoice(number="H-2"), headers=headers)
    assert revoked.status_code == 401 and revoked.headers["content-type"] == "application/problem+json"
    _, fresh = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SELLER)
    fresh_xml = {**bearer(fresh), **XML}
    assert (await gateway.get("/v1/invoices", headers=bearer(fresh))).json()["total"] == 0
    _, stranger = make_key(gateway_db_url, Role.SUPPLIER, supplier_id="IT09876543210")
    mismatch = await gateway.post(
        "/v1/invoices", content=sample_invoice(number="H-3"), headers={**bearer(stranger), **XML}
    )
    assert mismatch.status_code == 403 and mismatch.json()["code"] == "seller_mismatch"
    wrong_type = await gateway.post(
        "/v1/invoices", content=b"{}", headers={**bearer(fresh), "Content-Type": "application/json"}
    )
    assert wrong_type.status_code == 415
    first = await gateway.post("/v1/invoices", content=sample_invoice(number="H-4"), headers=fresh_xml)
    duplicate = await gateway.post("/v1/invoices", content=sample_invoice(number="H-4"), headers=fresh_xml)
    assert duplicate.status_code == 409 and duplicate.json()["original"] == first.headers["location"]
    assert (await gateway.get("/v1/invoices", headers=bearer(fresh))).json()["total"] == 1


async def test_the_session_cookie_opens_the_pages_but_never_the_api(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    _, supplier_key = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SELLER)
    cookie = {"Cookie": f"{SESSION_COOKIE}={supplier_key}"}
    assert (await gateway.get("/invoicing/portal", headers=cookie)).status_code == 200
    assert (await gateway.get("/invoicing/inbox", headers=cookie)).status_code == 403
    assert (await gateway.get("/v1/invoices", headers=cookie)).status_code == 401
    assert (await gateway.get("/invoicing/portal")).status_code == 401
    assert (await gateway.get("/invoicing/login")).status_code == 200
