"""Payment creation through the gateway on PostgreSQL, beside a bare FastAPI endpoint receiving
the same body (the ceiling of this stack), and Stripe webhook ingestion, in one run.

Each server is one uvicorn process (the gateway; the payments service with
``TESSERA_BENCH_WORKERS`` worker processes; the bare app); the load comes from this process with
a fixed number of concurrent connections. Every creation carries its own ``Idempotency-Key``, so
each one claims an idempotency record, stores the payment and its first event, and renders the
GOV.UK-shaped answer. Webhook ingestion sends Stripe-signed ``payment_intent.succeeded`` events
through the gateway's provider-signature route: each is verified with the Stripe SDK, stored once
by event id and processed (it names no known payment, so no call to Stripe is made: the figure is
Tessera's own cost of a webhook, not Stripe's API latency).

    python -m benchmarks payments            # or: python -m benchmarks.bench_payments
    TESSERA_BENCH_SECONDS=20 TESSERA_BENCH_CONCURRENCY=16 python -m benchmarks payments

PostgreSQL is taken at ``$TESSERA_BENCH_POSTGRES_URL`` (an admin URL; default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); two scratch databases are created
and dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from benchmarks.bench_invoicing import scratch_database, served

SECONDS = float(os.environ.get("TESSERA_BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("TESSERA_BENCH_CONCURRENCY", "16"))
WORKERS = int(os.environ.get("TESSERA_BENCH_WORKERS", "2"))
WEBHOOK_SECRET = "whsec_bench"
INTERNAL_SECRET = "bench-internal-secret"
PAYMENT = {
    "amount": 4500,
    "currency": "EUR",
    "reference": "PARK-2026-000123",
    "description": "Residential parking permit",
    "return_url": "https://city.example/permits/123/paid",
    "language": "it",
}

bare = FastAPI()


@bare.post("/v1/payments", status_code=201)
async def receive(request: Request) -> Response:
    """The ceiling: read the JSON body and answer 201, nothing else."""
    await request.json()
    return Response(status_code=201)


Call = tuple[str, bytes, dict[str, str]]


async def _load(url: str, headers: dict[str, str], calls: list[Call], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    index = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal index
            while time.perf_counter() < stop and index < len(calls):
                path, body, extra = calls[index]
                index += 1
                started = time.perf_counter()
                answer = await client.post(path, content=body, headers=extra)
                latencies.append(time.perf_counter() - started)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
        "statuses": statuses,
    }


def load(url: str, headers: dict[str, str], calls: list[Call], seconds: float) -> dict[str, Any]:
    return asyncio.run(_load(url, headers, calls, seconds))


def creations(count: int) -> list[Call]:
    body = json.dumps(PAYMENT).encode()
    return [
        ("/v1/payments", body, {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex})
        for _ in range(count)
    ]


def webhooks(count: int) -> list[Call]:
    calls: list[Call] = []
    now = int(time.time())
    for _ in range(count):
        event = {
            "id": f"evt_{uuid.uuid4().hex[:24]}",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": now,
            "data": {"object": {"id": f"pi_{uuid.uuid4().hex[:24]}", "object": "payment_intent"}},
        }
        body = json.dumps(event).encode()
        mac = hmac.new(WEBHOOK_SECRET.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        calls.append(
            (
                "/webhooks/stripe",
                body,
                {"Content-Type": "application/json", "Stripe-Signature": f"t={now},v1={mac}"},
            )
        )
    return calls


def main(argv: list[str] | None = None) -> int:
    from gateway import service as gateway_service
    from services.common.db import Database
    from services.common.identity import PRINCIPAL_HEADER, Principal, Role, encode_principal
    from services.common.migrations import upgrade

    load_avg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"{os.cpu_count()} CPUs, load average {load_avg}; {CONCURRENCY} connections, {SECONDS:g} s per run, "
        f"payments service with {WORKERS} worker process(es), gateway with 1"
    )
    with (
        tempfile.TemporaryDirectory() as scratch,
        scratch_database("payments") as payments_db,
        scratch_database("gateway") as gateway_db,
    ):
        upgrade("payments", payments_db)
        upgrade("gateway", gateway_db)
        keys = Database(gateway_db)
        with keys.sessionmaker() as session:
            _, key = gateway_service.create_key(session, name="bench", role=Role.SERVICE)
            session.commit()
        keys.dispose()
        common = {
            "TESSERA_DATA_DIR": scratch,
            "TESSERA_LOG_LEVEL": "WARNING",
            "TESSERA_ENV": "test",
            "TESSERA_INTERNAL_SECRETS": INTERNAL_SECRET,
        }
        calls = creations(int(SECONDS * 1500) + 1000)
        with served("benchmarks.bench_payments:bare", common, factory=False) as bare_url:
            load(bare_url, {}, calls[:300], 1.0)  # warm-up
            ceiling = load(bare_url, {}, calls, SECONDS)
        payments_env = {
            **common,
            "TESSERA_PAYMENTS_DATABASE_URL": payments_db,
            "TESSERA_PAYMENTS_RELAY_ENABLED": "false",
            "TESSERA_PAYMENTS_SWEEP_ENABLED": "false",
            "TESSERA_PAYMENTS_PROVIDER": "stripe",
            "TESSERA_PAYMENTS_STRIPE_SECRET_KEY": "sk_test_bench",
            "TESSERA_PAYMENTS_STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        }
        sandbox_env = {**payments_env, "TESSERA_PAYMENTS_PROVIDER": "sandbox"}
        gateway_env = {
            **common,
            "TESSERA_GATEWAY_DATABASE_URL": gateway_db,
            "TESSERA_GATEWAY_RATE_LIMIT_SERVICE": str(10**9),
            "TESSERA_GATEWAY_RATE_LIMIT_ANONYMOUS": str(10**9),
        }
        authorised = {"Authorization": f"Bearer {key}"}
        # The identity the gateway would forward, for the rows that call the service directly.
        identity = {
            PRINCIPAL_HEADER: encode_principal(Principal("bench", Role.SERVICE, "bench"), INTERNAL_SECRET)
        }
        with served("services.payments.app:create_app", sandbox_env, workers=WORKERS) as payments_url:
            load(payments_url, identity, creations(300), 2.0)
            created_direct = load(payments_url, identity, creations(int(SECONDS * 1500) + 1000), SECONDS)
            env = {**gateway_env, "TESSERA_GATEWAY_PAYMENTS_URL": payments_url}
            with served("gateway.app:create_app", env, probe="/readyz") as gateway_url:
                load(gateway_url, authorised, creations(300), 2.0)
                created = load(gateway_url, authorised, calls, SECONDS)
        with served("services.payments.app:create_app", payments_env, workers=WORKERS) as payments_url:
            load(payments_url, {}, webhooks(300), 2.0)
            hooks_direct = load(payments_url, {}, webhooks(int(SECONDS * 2000) + 1000), SECONDS)
            env = {**gateway_env, "TESSERA_GATEWAY_PAYMENTS_URL": payments_url}
            with served("gateway.app:create_app", env, probe="/readyz") as gateway_url:
                load(gateway_url, {}, webhooks(300), 2.0)
                hooks = load(gateway_url, {}, webhooks(int(SECONDS * 2000) + 1000), SECONDS)

    print(f"\n{'path':<50} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for name, result in (
        ("bare FastAPI endpoint (ceiling)", ceiling),
        ("payments alone: create payment, PostgreSQL", created_direct),
        ("gateway -> payments: create payment, PostgreSQL", created),
        ("payments alone: Stripe webhook ingestion", hooks_direct),
        ("gateway -> payments: Stripe webhook ingestion", hooks),
    ):
        answers = ", ".join(f"{code}: {n}" for code, n in sorted(result["statuses"].items()))
        print(f"{name:<50} {result['rate']:>8.1f} {result['p50']:>8.2f} {result['p99']:>8.2f}  {answers}")
    creation_ok = created["rate"] >= 300 and created["p99"] < 50 and set(created["statuses"]) == {201}
    hooks_ok = hooks["rate"] >= 500 and set(hooks["statuses"]) == {200}
    print(f"\ntarget >= 300 creations/s with p99 < 50 ms, all 201: {'met' if creation_ok else 'NOT met'}")
    print(f"target >= 500 webhooks/s, all 200: {'met' if hooks_ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
