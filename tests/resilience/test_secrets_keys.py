"""Keys and secrets stay secret, and rate limits hold per key.

- Every process's log output (gateway and services as real processes, logging at DEBUG with
  access logs on) is searched for the full keys and their secret parts after a run that uses the
  keys, presents wrong and revoked ones, logs in through the pages and registers a webhook.
- Responses never carry a secret after its one-time display: the key list, revocations, errors
  about wrong keys, webhook registrations after the first, the operations and OpenAPI documents.
- One key exhausting its budget gets 429 with Retry-After; another key of the same role from the
  same address, and a key of another role, keep working.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.policy import Upstream
from services.common.identity import Role
from services.invoicing.pages import LOGIN_COOKIE
from tests.conftest import INTERNAL_SECRET, WEBHOOK_SECRET
from tests.gateway.conftest import REDIS_URL, gateway_client, make_key, running, settings_for
from tests.invoicing.conftest import SELLER
from tests.resilience import processes
from tests.resilience.processes import Suite

pytestmark = pytest.mark.anyio
WEBHOOK_URL = "https://erp.supplier.example/tessera/events"
WRONG_SECRET = "wrong-secret-Zq8xWv3Lk9PmR2tY"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def secret_part(key: str) -> str:
    """``tsk_<id>_<secret>`` -> ``<secret>``."""
    prefix, key_id, secret = key.split("_", 2)
    assert prefix == "tsk" and len(key_id) == 32 and len(secret) >= 20, key
    return secret


def leaks(text: str, secrets: dict[str, str]) -> list[str]:
    return sorted(name for name, value in secrets.items() if value and value in text)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_leak_search_finds_a_secret_and_nothing_else() -> None:
    key = "tsk_" + "a" * 32 + "_" + "s" * 24
    assert leaks(f"auth failed for {key}", {"k": key}) == ["k"]
    assert leaks("auth failed for key aaaa", {"k": key, "s": secret_part(key)}) == []


class LoudSuite(Suite):
    """The scenario processes with everything logged: DEBUG, and uvicorn's access log on."""

    def base_env(self) -> dict[str, str]:
        env = super().base_env()
        env["TESSERA_LOG_LEVEL"] = "DEBUG"
        return env

    def app(self, name: str, app: str, env: dict[str, str], port: int | None = None) -> processes.Proc:
        proc = super().app(name, app, env, port)
        argv = [a for a in proc.argv if a != "--no-access-log"]
        argv[argv.index("--log-level") + 1] = "debug"
        proc.argv = argv
        return proc


@pytest.fixture
def real_suite(tmp_path: Path) -> Iterator[Suite]:
    processes.require_postgres()
    suite = LoudSuite(tmp_path)
    try:
        yield suite
    finally:
        suite.close()


def test_keys_and_secrets_never_reach_any_process_log(real_suite: Suite) -> None:
    gateway_url, keys = processes.start_suite(real_suite)
    gateway_db = real_suite.database_url("gateway")
    admin_id, admin = make_key(gateway_db, Role.ADMIN, name="resilience admin")
    revoked_id, revoked = make_key(gateway_db, Role.OFFICER, name="to be revoked")
    secrets: dict[str, str] = {}
    for name, key in (
        ("officer", keys.officer),
        ("supplier", keys.supplier),
        ("service", keys.service),
        ("admin", admin),
        ("revoked", revoked),
    ):
        secrets[f"{name} key"] = key
        secrets[f"{name} secret"] = secret_part(key)
    wrong = f"tsk_{admin_id.replace('-', '')}_{WRONG_SECRET}"
    secrets["wrong key"] = wrong
    secrets["wrong secret"] = WRONG_SECRET
    secrets["internal secret"] = processes.INTERNAL_SECRET
    secrets["webhook secret"] = processes.WEBHOOK_SECRET

    with httpx.Client(base_url=gateway_url, timeout=30) as http:
        assert http.post(f"/v1/keys/{revoked_id}/revoke", headers=bearer(admin)).status_code == 200
        created = http.post("/v1/keys", headers=bearer(admin), json={"name": "made", "role": "officer"})
        assert created.status_code == 201
        secrets["created key"] = created.json()["key"]
        secrets["created secret"] = secret_part(created.json()["key"])
        payment = http.post(
            "/v1/payments",
            headers={"X-Api-Key": keys.service},
            json={
                "amount": 1200,
                "currency": "EUR",
                "reference": "LOGS-1",
                "description": "Library fine",
                "return_url": "https://city.example/done",
            },
        )
        assert payment.status_code == 201, payment.text
        assert http.get("/v1/receipts", headers=bearer(keys.officer)).status_code == 200
        assert http.get("/v1/invoices", headers=bearer(keys.supplier)).status_code == 200
        hook = http.put("/v1/invoices/webhook", headers=bearer(keys.supplier), json={"url": WEBHOOK_URL})
        assert hook.status_code in (200, 201), hook.text
        secrets["supplier webhook secret"] = hook.json()["secret"]
        for refused, status in (
            (bearer(wrong), 401),
            ({"X-Api-Key": wrong}, 401),
            (bearer(revoked), 401),
            (bearer("tsk_" + "0" * 32 + "_" + WRONG_SECRET), 401),
            (bearer(keys.supplier), 403),
        ):
            assert http.get("/v1/receipts", headers=refused).status_code == status
        # The pages: a login form post carries the key in its body, the cookie afterwards.
        http.cookies.set(LOGIN_COOKIE, "form-token", path="/invoicing")
        login = http.post("/invoicing/login", data={"csrf": "form-token", "key": keys.supplier})
        assert login.status_code == 303, login.text
        portal = http.get("/invoicing/portal", headers={"Cookie": f"tessera_session={keys.supplier}"})
        assert portal.status_code == 200
        wrong_session = http.get("/invoicing/portal", headers={"Cookie": f"tessera_session={wrong}"})
        assert wrong_session.status_code == 401
    for proc in real_suite.procs.values():
        proc.stop()
    logs = {name: proc.log_path.read_text(errors="replace") for name, proc in real_suite.procs.items()}
    total = sum(len(text) for text in logs.values())
    assert total > 2000, "the processes logged almost nothing: the search would prove nothing"
    # The requests were logged (access log at the gateway), so the search looked at the right place.
    assert "/v1/receipts" in logs["gateway"]
    found = {name: leaks(text, secrets) for name, text in logs.items()}
    processes.report("key leak search", bytes_of_logs=total, secrets_searched=len(secrets))
    assert all(not names for names in found.values()), found


@pytest.fixture
async def gateway(
    gateway_db_url: str, invoicing_settings: Any, payments_settings: Any, receipts_settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    from services.invoicing.app import create_app as invoicing_app
    from services.payments.app import create_app as payments_app
    from services.receipts.app import create_app as receipts_app

    apps: dict[Upstream, FastAPI] = {
        Upstream.INVOICING: invoicing_app(invoicing_settings),
        Upstream.PAYMENTS: payments_app(payments_settings),
        Upstream.RECEIPTS: receipts_app(receipts_settings),
    }
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(running(app))
        transports = {u: httpx.ASGITransport(app=a) for u, a in apps.items()}
        yield await stack.enter_async_context(
            gateway_client(settings_for(gateway_db_url), transports=transports)
        )


async def test_no_response_carries_a_secret_after_its_one_time_display(
    gateway: httpx.AsyncClient, gateway_db_url: str
) -> None:
    _, admin = make_key(gateway_db_url, Role.ADMIN)
    _, supplier = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SELLER)
    created = await gateway.post("/v1/keys", headers=bearer(admin), json={"name": "erp", "role": "officer"})
    assert created.status_code == 201
    new_key = created.json()["key"]
    key_id = created.json()["id"]
    secrets = {
        "admin secret": secret_part(admin),
        "supplier secret": secret_part(supplier),
        "new secret": secret_part(new_key),
        "internal secret": INTERNAL_SECRET,
        "webhook secret": WEBHOOK_SECRET,
    }
    first = await gateway.put("/v1/invoices/webhook", headers=bearer(supplier), json={"url": WEBHOOK_URL})
    assert first.status_code in (200, 201) and first.json()["secret"], first.text
    secrets["supplier webhook secret"] = first.json()["secret"]

    answers: list[httpx.Response] = [
        await gateway.get("/v1/keys", headers=bearer(admin)),
        await gateway.get("/v1/keys?include_revoked=false", headers=bearer(admin)),
        await gateway.post(f"/v1/keys/{key_id}/revoke", headers=bearer(admin)),
        await gateway.get("/v1/receipts", headers=bearer(new_key)),  # revoked now: 401
        await gateway.get("/v1/receipts", headers=bearer(new_key[:-3] + "xyz")),
        await gateway.get("/v1/receipts", headers={"X-Api-Key": "tsk_nope_" + secret_part(admin)}),
        await gateway.get("/v1/keys", headers=bearer(supplier)),  # 403 names the role, not the key
        await gateway.get("/v1/invoices/webhook", headers=bearer(supplier)),
        await gateway.put("/v1/invoices/webhook", headers=bearer(supplier), json={"url": WEBHOOK_URL}),
        await gateway.put(
            "/v1/invoices/webhook", headers=bearer(supplier), json={"url": WEBHOOK_URL + "/v2"}
        ),
        await gateway.get("/healthz"),
        await gateway.get("/readyz"),
        await gateway.get("/openapi.json"),
        await gateway.get("/metrics"),
        await gateway.get("/invoicing/portal", headers=bearer(supplier)),
        await gateway.get("/invoicing/login"),
    ]
    statuses = [a.status_code for a in answers]
    assert statuses[:3] == [200, 200, 200] and statuses[3:6] == [401, 401, 401] and statuses[6] == 403
    assert statuses[7:10] == [200, 200, 200], [a.text for a in answers[7:10]]
    for answer in answers:
        text = answer.text + "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
        assert not leaks(text, secrets), (answer.request.method, answer.request.url, leaks(text, secrets))
    assert all(k.get("key") is None for k in answers[0].json())
    assert answers[7].json()["secret"] is None and answers[9].json()["secret"] is None

    rotated = await gateway.put(
        "/v1/invoices/webhook", headers=bearer(supplier), json={"url": WEBHOOK_URL, "rotate_secret": True}
    )
    new_secret = rotated.json()["secret"]
    assert new_secret and new_secret != secrets["supplier webhook secret"]
    again = await gateway.get("/v1/invoices/webhook", headers=bearer(supplier))
    assert new_secret not in again.text and again.json()["secret"] is None


@pytest.fixture(params=["memory", "redis"])
def limiter_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "memory":
        return None
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL}: {error}")
    return REDIS_URL


@pytest.fixture
async def limited(
    gateway_db_url: str, payments_settings: Any, receipts_settings: Any, limiter_url: str | None
) -> AsyncIterator[httpx.AsyncClient]:
    from services.payments.app import create_app as payments_app
    from services.receipts.app import create_app as receipts_app

    apps = {
        Upstream.PAYMENTS: payments_app(payments_settings),
        Upstream.RECEIPTS: receipts_app(receipts_settings),
    }
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(running(app))
        settings = settings_for(
            gateway_db_url,
            rate_limit_officer=4,
            rate_limit_service=6,
            rate_limit_anonymous=3,
            rate_limit_window_seconds=60,
            redis_url=limiter_url,
        )
        transports = {u: httpx.ASGITransport(app=a) for u, a in apps.items()}
        # An address of this test's own: Redis keeps the address buckets of earlier runs.
        unique = uuid.uuid4().int
        address = f"198.51.{unique % 256}.{unique // 256 % 254 + 1}"
        client = gateway_client(settings, transports=transports, client=(address, 40000))
        yield await stack.enter_async_context(client)


async def test_one_key_exhausting_its_budget_leaves_every_other_key_alone(
    limited: httpx.AsyncClient, gateway_db_url: str
) -> None:
    _, first = make_key(gateway_db_url, Role.OFFICER, name="busy officer")
    _, second = make_key(gateway_db_url, Role.OFFICER, name="quiet officer")
    _, service = make_key(gateway_db_url, Role.SERVICE, name="permits system")
    statuses = [(await limited.get("/v1/receipts", headers=bearer(first))).status_code for _ in range(6)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    refused = await limited.get("/v1/receipts", headers=bearer(first))
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    retry_after = refused.headers["retry-after"]
    assert re.fullmatch(r"[1-9][0-9]*", retry_after) and int(retry_after) <= 60, retry_after
    assert refused.headers["ratelimit-remaining"] == "0"
    # Another officer key from the same address, and a service key, have their own budgets.
    for _ in range(4):
        assert (await limited.get("/v1/receipts", headers=bearer(second))).status_code == 200
    assert (await limited.get("/v1/payments", headers=bearer(service))).status_code == 200
    # Wrong keys spend the address's budget, never a real key's.
    wrong = [
        (await limited.get("/v1/receipts", headers=bearer(second[:-4] + "zzzz"))).status_code
        for _ in range(4)
    ]
    assert wrong == [401, 401, 401, 429]
    assert (await limited.get("/v1/payments", headers=bearer(service))).status_code == 200
