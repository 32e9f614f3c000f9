"""The receipts paths through the real gateway: the verification page is public (no key), the
receipts and reconciliation API and the dashboard need an officer's key, webhooks stay internal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import httpx
import pytest

from gateway.policy import SESSION_COOKIE, Upstream
from services.common.identity import Role
from services.common.webhooks import SIGNATURE_HEADER, sign
from services.receipts.reconciliation import BankCredit, camt053_statement
from tests.conftest import WEBHOOK_SECRET
from tests.gateway.conftest import gateway_client, make_key, running, settings_for
from tests.receipts.test_endpoints import paid_event
from tests.receipts.test_reconciliation import IBAN

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def receipts_app(receipts_settings: Any) -> AsyncIterator[Any]:
    from services.receipts.app import create_app

    async with running(create_app(receipts_settings)) as app:
        yield app


@pytest.fixture
async def gateway(receipts_app: Any, gateway_db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transports = {Upstream.RECEIPTS: httpx.ASGITransport(app=receipts_app)}
    async with gateway_client(settings_for(gateway_db_url), transports=transports) as http:
        yield http


def key(gateway_db_url: str, role: Role) -> dict[str, str]:
    _, plaintext = make_key(gateway_db_url, role, supplier_id="IT123" if role is Role.SUPPLIER else None)
    return {"Authorization": f"Bearer {plaintext}"}


async def test_receipt_paths_through_the_gateway(
    gateway: httpx.AsyncClient, receipts_app: Any, gateway_db_url: str
) -> None:
    body = paid_event().encode()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=receipts_app), base_url="http://r"
    ) as direct:
        delivered = await direct.post(
            "/webhooks/events", content=body, headers={SIGNATURE_HEADER: sign(body, [WEBHOOK_SECRET])}
        )
        assert delivered.status_code == 200
    # The event receiver is not exposed by the gateway.
    assert (await gateway.post("/webhooks/events", content=body)).status_code == 404

    officer, supplier = key(gateway_db_url, Role.OFFICER), key(gateway_db_url, Role.SUPPLIER)
    listing = await gateway.get("/v1/receipts", headers=officer)
    assert listing.status_code == 200
    receipt_id = listing.json()["items"][0]["id"]
    public = await gateway.get(f"/verify/{receipt_id}")
    assert public.status_code == 200 and "Genuine receipt" in public.text
    assert (await gateway.get(f"/verify/{uuid.uuid4()}")).status_code == 404

    for path in (f"/v1/receipts/{receipt_id}/html", "/v1/reconciliation/dashboard"):
        assert (await gateway.get(path)).status_code == 401
        assert (await gateway.get(path, headers=supplier)).status_code == 403
        assert (await gateway.get(path, headers=officer)).status_code == 200

    credit = BankCredit(4500, "EUR", date(2026, 3, 12), "po_gw_0001", None, "B1")
    statement = camt053_statement(iban=IBAN, statement_id="GW", credits=[credit])
    uploaded = await gateway.post("/v1/reconciliation/statements", content=statement, headers=officer)
    assert uploaded.status_code == 201 and uploaded.json()["new_entries"] == 1


async def test_officers_open_the_dashboard_with_the_login_cookie_and_the_api_refuses_it(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    officer = key(gateway_db_url, Role.OFFICER)["Authorization"].removeprefix("Bearer ")
    supplier = key(gateway_db_url, Role.SUPPLIER)["Authorization"].removeprefix("Bearer ")
    as_officer = {"Cookie": f"{SESSION_COOKIE}={officer}"}
    page = await gateway.get("/reconciliation", headers={**as_officer, "Accept-Language": "hu, en;q=0.5"})
    assert page.status_code == 200 and '<html lang="hu">' in page.text and "Egyeztetés" in page.text
    switched = await gateway.get("/reconciliation?lang=sv", headers=as_officer)
    assert switched.status_code == 200 and "Avstämning" in switched.text
    # The same cookie opens no API, and the page takes no writes.
    assert (await gateway.get("/v1/reconciliation/dashboard", headers=as_officer)).status_code == 401
    assert (await gateway.get("/v1/receipts", headers=as_officer)).status_code == 401
    assert (await gateway.post("/reconciliation", headers=as_officer)).status_code == 403
    assert (await gateway.get("/reconciliation")).status_code == 401
    refused = await gateway.get("/reconciliation", headers={"Cookie": f"{SESSION_COOKIE}={supplier}"})
    assert refused.status_code == 403
