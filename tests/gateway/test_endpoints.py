"""The gateway's own API (keys, health, docs) and its authentication and access answers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import service
from gateway.app import create_app
from gateway.policy import Upstream
from gateway.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from gateway.service import KeyCache
from services.common.db import Database
from services.common.identity import Role
from tests.gateway.conftest import REDIS_URL, gateway_client, make_key, running, settings_for

pytestmark = pytest.mark.anyio


async def ok(request: Request) -> Response:
    return JSONResponse({"service": request.app.state.name, "path": request.url.path})


def upstream(name: str, *, ready: bool = True) -> Starlette:
    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ok" if ready else "unavailable"}, status_code=200 if ready else 503)

    app = Starlette(routes=[Route("/readyz", readyz), Route("/{rest:path}", ok, methods=["GET", "POST"])])
    app.state.name = name
    return app


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    async with gateway_client(settings_for(database_url), transports=transports) as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def test_no_key_is_401_problem(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/invoices")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["code"] == "missing_api_key"


@pytest.mark.parametrize("header", ["Bearer tsk_nope", "Basic dXNlcjpwdw==", "Bearer "])
async def test_bad_or_foreign_credentials_are_401(client: httpx.AsyncClient, header: str) -> None:
    answer = await client.get("/v1/invoices", headers={"Authorization": header})
    assert answer.status_code == 401


async def test_x_api_key_header_is_accepted(client: httpx.AsyncClient, database_url: str) -> None:
    _, key = make_key(database_url, Role.OFFICER)
    answer = await client.get("/v1/receipts", headers={"X-Api-Key": key})
    assert answer.status_code == 200
    assert answer.json()["service"] == "receipts"


async def test_roles_reach_what_the_policy_says(client: httpx.AsyncClient, database_url: str) -> None:
    _, supplier = make_key(database_url, Role.SUPPLIER, supplier_id="BE0123456789")
    _, service_key = make_key(database_url, Role.SERVICE)
    _, officer = make_key(database_url, Role.OFFICER)
    expected = {
        (supplier, "/v1/invoices"): 200,
        (supplier, "/v1/payments"): 403,
        (supplier, "/v1/receipts"): 403,
        (supplier, "/v1/keys"): 403,
        (service_key, "/v1/payment-requests"): 200,
        (service_key, "/v1/payments"): 200,
        (service_key, "/v1/invoices"): 403,
        (service_key, "/v1/reconciliation/runs"): 403,
        (officer, "/v1/invoices"): 200,
        (officer, "/v1/payments"): 200,
        (officer, "/v1/reconciliation/runs"): 200,
        (officer, "/v1/keys"): 403,
    }
    seen = {(key, path): (await client.get(path, headers=bearer(key))).status_code for key, path in expected}
    assert seen == expected
    refused = await client.post("/v1/payments", headers=bearer(supplier))
    assert refused.json()["code"] == "role_not_allowed"
    assert "supplier" in refused.json()["detail"]


async def test_admin_creates_lists_and_revokes_keys(client: httpx.AsyncClient, database_url: str) -> None:
    _, admin = make_key(database_url, Role.ADMIN, name="root")
    created = await client.post(
        "/v1/keys",
        headers=bearer(admin),
        json={"name": "Acme", "role": "supplier", "supplier_id": "BE0123456789"},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith(f"tsk_{body['id'].replace('-', '')}_")
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")

    works = await client.get("/v1/invoices", headers=bearer(body["key"]))
    assert works.status_code == 200

    listed = (await client.get("/v1/keys", headers=bearer(admin))).json()
    assert [k["name"] for k in listed] == ["root", "Acme"]
    assert all("key" not in k and "secret_hash" not in k for k in listed)
    acme = next(k for k in listed if k["name"] == "Acme")
    assert acme["last_used_at"] is not None

    revoked = await client.post(f"/v1/keys/{body['id']}/revoke", headers=bearer(admin))
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    after = await client.get("/v1/invoices", headers=bearer(body["key"]))
    assert after.status_code == 401
    assert after.json()["code"] == "revoked_api_key"

    active = (await client.get("/v1/keys", params={"include_revoked": "false"}, headers=bearer(admin))).json()
    assert [k["name"] for k in active] == ["root"]


async def test_key_requests_are_validated(client: httpx.AsyncClient, database_url: str) -> None:
    _, admin = make_key(database_url, Role.ADMIN)
    no_supplier = await client.post(
        "/v1/keys", headers=bearer(admin), json={"name": "Acme", "role": "supplier"}
    )
    assert no_supplier.status_code == 422
    assert no_supplier.json()["code"] == "invalid_key_request"
    bad_role = await client.post("/v1/keys", headers=bearer(admin), json={"name": "x", "role": "root"})
    assert bad_role.status_code == 422
    assert bad_role.json()["errors"][0]["field"] == "role"
    unknown = await client.post("/v1/keys/5d1c0b8e-1b5d-4c43-9f43-4b9a1d1f0c11/revoke", headers=bearer(admin))
    assert unknown.status_code == 404
    not_uuid = await client.post("/v1/keys/abc/revoke", headers=bearer(admin))
    assert not_uuid.status_code == 422


async def test_healthz_reports_each_service(database_url: str) -> None:
    transports = {
        Upstream.INVOICING: httpx.ASGITransport(app=upstream("invoicing")),
        Upstream.PAYMENTS: httpx.ASGITransport(app=upstream("payments", ready=False)),
        Upstream.RECEIPTS: httpx.ASGITransport(app=upstream("receipts")),
    }
    async with gateway_client(settings_for(database_url), transports=transports) as http:
        answer = await http.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {
        "status": "degraded",
        "services": {"invoicing": "ok", "payments": "not_ready", "receipts": "ok"},
        "detail": "Not ready: payments",
    }


async def test_healthz_all_ready(client: httpx.AsyncClient) -> None:
    answer = await client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "services": {"invoicing": "ok", "payments": "ok", "receipts": "ok"},
    }


async def test_readyz_and_metrics_of_the_gateway_itself(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}
    await client.get("/v1/invoices")
    metrics = await client.get("/metrics")
    assert (
        'tessera_http_requests_total{method="GET",route="/{path:path}",service="gateway",status="401"}'
        in metrics.text
    )


async def test_docs_page_points_at_the_combined_document(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text


async def check_budgets_by_role(database_url: str, limiter: RateLimiter) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    settings = settings_for(database_url, rate_limit_supplier=2, rate_limit_officer=3)
    _, supplier_key = make_key(database_url, Role.SUPPLIER, supplier_id="BE0123456789")
    _, officer_key = make_key(database_url, Role.OFFICER)
    async with gateway_client(settings, transports=transports, rate_limiter=limiter) as http:
        supplier_answers = [await http.get("/v1/invoices", headers=bearer(supplier_key)) for _ in range(3)]
        officer_answers = [await http.get("/v1/invoices", headers=bearer(officer_key)) for _ in range(4)]
    assert [a.status_code for a in supplier_answers] == [200, 200, 429]
    assert [a.status_code for a in officer_answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in officer_answers] == ["2", "1", "0", "0"]
    assert {a.headers["ratelimit-limit"] for a in officer_answers} == {"3"}
    refused = supplier_answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1


async def test_keys_have_their_own_budget_by_role_in_memory(database_url: str) -> None:
    await check_budgets_by_role(database_url, MemoryRateLimiter())


async def test_keys_have_their_own_budget_by_role_in_redis(
    database_url: str, redis_client: Redis, redis_prefix: str
) -> None:
    await check_budgets_by_role(database_url, RedisRateLimiter(redis_client, prefix=redis_prefix))


async def test_redis_url_selects_the_shared_limiter(database_url: str, redis_client: object) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    settings = settings_for(database_url, redis_url=REDIS_URL)
    async with gateway_client(settings, transports=transports) as http:
        ready = await http.get("/readyz")
    assert ready.json()["checks"] == {"database": "ok", "rate_limiter": "ok"}


async def test_unreachable_redis_makes_the_gateway_unready_and_refuse(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    settings = settings_for(database_url, redis_url="redis://127.0.0.1:1/0")
    async with gateway_client(settings, transports=transports) as http:
        ready = await http.get("/readyz")
        refused = await http.get("/pay/x")
    assert ready.status_code == 503
    assert ready.json()["checks"]["rate_limiter"] == "failing"
    assert refused.status_code == 503
    assert refused.json()["code"] == "rate_limiter_unavailable"


async def test_wrong_keys_spend_the_address_budget_not_a_key_budget(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    settings = settings_for(database_url, rate_limit_anonymous=2)
    _, officer = make_key(database_url, Role.OFFICER)
    wrong = officer[:-2] + ("xx" if not officer.endswith("xx") else "yy")
    async with gateway_client(settings, transports=transports, rate_limiter=MemoryRateLimiter()) as http:
        codes = [(await http.get("/v1/receipts", headers=bearer(wrong))).status_code for _ in range(3)]
        missing = await http.get("/v1/receipts")
        good = await http.get("/v1/receipts", headers=bearer(officer))
    assert codes == [401, 401, 429]
    assert missing.status_code == 429
    assert good.status_code == 200


async def test_a_key_revoked_elsewhere_is_refused_once_the_cache_ttl_has_passed(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    app = create_app(settings_for(database_url, key_cache_seconds=5), transports=transports)
    clock = [0.0]
    app.state.key_cache = KeyCache(5, clock=lambda: clock[0])
    key_id, key = make_key(database_url, Role.OFFICER)
    async with (
        running(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test") as http,
    ):
        assert (await http.get("/v1/invoices", headers=bearer(key))).status_code == 200
        database = Database(database_url)
        try:
            with database.sessionmaker() as session:  # as ``tessera keys revoke`` would
                service.revoke_key(session, key_id=uuid.UUID(key_id))
                session.commit()
        finally:
            database.dispose()
        clock[0] = 4.9
        assert (await http.get("/v1/invoices", headers=bearer(key))).status_code == 200
        clock[0] = 5.0
        refused = await http.get("/v1/invoices", headers=bearer(key))
    assert refused.status_code == 401
    assert refused.json()["code"] == "revoked_api_key"


async def test_a_key_revoked_through_the_gateway_is_refused_at_once_despite_the_cache(
    database_url: str,
) -> None:
    transports = {u: httpx.ASGITransport(app=upstream(u.value)) for u in Upstream}
    _, admin = make_key(database_url, Role.ADMIN)
    key_id, key = make_key(database_url, Role.OFFICER)
    async with gateway_client(
        settings_for(database_url, key_cache_seconds=60), transports=transports
    ) as http:
        assert (await http.get("/v1/invoices", headers=bearer(key))).status_code == 200
        assert (await http.post(f"/v1/keys/{key_id}/revoke", headers=bearer(admin))).status_code == 200
        assert (await http.get("/v1/invoices", headers=bearer(key))).status_code == 401
