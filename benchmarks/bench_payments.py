"""Payment creation through the gateway on PostgreSQL, beside a bare FastAPI endpoint receiving
the same body (the ceiling of this stack), and Stripe webhook ingestion, in one run.

Two kinds of rows: ``wrk`` rows give the most each path takes (a closed loop of 16 connections,
so their latencies are mostly queueing); "paced" rows send requests at the target rate from an
open-loop generator (``benchmarks/_paced.py``) and give the latency a caller sees at that rate.
The creation target needs both: at least 300/s at most, and p99 under 50 ms at 300/s.

Each server is one uvicorn process (the gateway; the payments service with
``TESSERA_BENCH_REPLICAS`` replicas, each its own process, which the gateway takes in turn; the bare app); the load comes from ``wrk`` (see
``benchmarks/_load.py``) with a fixed number of keep-alive connections, and the rows of one
comparison run back to back so that they share the machine's load. Every creation carries its own ``Idempotency-Key``, so
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

import hashlib
import hmac
import json
import os
import sys
import tempfile
import time
import uuid

from fastapi import FastAPI, Request, Response

from benchmarks._load import (
    CONCURRENCY,
    CPU_NOTE,
    SECONDS,
    Measured,
    Prepared,
    Template,
    header,
    load,
    load_average,
    measure,
    replicated,
    row,
    scratch_database,
    served,
)
from benchmarks._paced import kept_pace, measure_paced

REPLICAS = int(os.environ.get("TESSERA_BENCH_REPLICAS", "2"))
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
# Webhooks sent per second at most through Tessera, to size the prepared list so that none is
# sent twice (a repeat is counted and fails the target).
WEBHOOK_CEILING = 3000
# The targets, also the rates of the paced rows.
CREATION_RATE = 300
WEBHOOK_RATE = 500

bare = FastAPI()


@bare.post("/v1/payments", status_code=201)
async def receive(request: Request) -> Response:
    """The ceiling: read the JSON body and answer 201, nothing else."""
    await request.json()
    return Response(status_code=201)


@bare.post("/webhooks/stripe")
async def hook(request: Request) -> Response:
    """The ceiling for webhooks: read the JSON body and answer 200."""
    await request.json()
    return Response(status_code=200)


def creations(headers: dict[str, str] | None = None) -> Template:
    """A payment creation with its own ``Idempotency-Key`` on every request."""
    return Template(
        "/v1/payments",
        body=json.dumps(PAYMENT).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "@@N@@", **(headers or {})},
    )


def webhooks(count: int) -> Prepared:
    """``count`` Stripe-signed ``payment_intent.succeeded`` events, each with its own id."""
    requests: list[tuple[bytes, dict[str, str]]] = []
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
        requests.append((body, {"Stripe-Signature": f"t={now},v1={mac}"}))
    return Prepared("/webhooks/stripe", requests, headers={"Content-Type": "application/json"})


def _hooks(seconds: float) -> Prepared:
    return webhooks(int(seconds * WEBHOOK_CEILING) + 500)


def bare_hooks() -> Template:
    """Unsigned events for the bare endpoint, which checks nothing: no list to prepare."""
    event = {"id": "evt_@@N@@", "object": "event", "type": "payment_intent.succeeded", "data": {}}
    return Template(
        "/webhooks/stripe", body=json.dumps(event).encode(), headers={"Content-Type": "application/json"}
    )


def main(argv: list[str] | None = None) -> int:
    from gateway import service as gateway_service
    from services.common.db import Database
    from services.common.identity import PRINCIPAL_HEADER, Principal, Role, encode_principal
    from services.common.migrations import upgrade

    print(
        f"{os.cpu_count()} CPUs, load average {load_average()} before; wrk with {CONCURRENCY} connections, "
        f"{SECONDS:g} s per row; payments service in {REPLICAS} replica process(es), gateway in 1"
    )
    results: dict[str, Measured] = {}
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
        payments_env = {
            **common,
            "TESSERA_PAYMENTS_DATABASE_URL": payments_db,
            "TESSERA_PAYMENTS_RELAY_ENABLED": "false",
            "TESSERA_PAYMENTS_SWEEP_ENABLED": "false",
            "TESSERA_PAYMENTS_PROVIDER": "stripe",
            "TESSERA_PAYMENTS_STRIPE_SECRET_KEY": "sk_test_bench",
            "TESSERA_PAYMENTS_STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET,
        }
        # Creation runs on the sandbox provider: the Stripe one would call Stripe's API.
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
        with (
            served("benchmarks.bench_payments:bare", common, factory=False) as bare_server,
            served(
                "gateway.app:create_app",
                {**gateway_env, "TESSERA_GATEWAY_PAYMENTS_URL": bare_server.url},
                probe="/readyz",
            ) as bare_gateway,
        ):
            with replicated("services.payments.app:create_app", sandbox_env, count=REPLICAS) as payments:
                env = {**gateway_env, "TESSERA_GATEWAY_PAYMENTS_URL": payments.url}
                alone = payments.servers[0]
                with served("gateway.app:create_app", env, probe="/readyz") as gateway:
                    for url, work in (
                        (bare_server.url, creations()),
                        (bare_gateway.url, creations(authorised)),
                        (alone.url, creations(identity)),
                        (gateway.url, creations(authorised)),
                    ):
                        load(url, work, seconds=2)  # warm-up
                    # Back to back, so that the ratios share the machine's load.
                    results["bare FastAPI endpoint: create payment"] = measure(
                        bare_server.url, creations(), {"bare": bare_server}
                    )
                    results["gateway -> bare endpoint: create payment"] = measure(
                        bare_gateway.url,
                        creations(authorised),
                        {"gateway": bare_gateway, "bare": bare_server},
                    )
                    results["one payments process alone: create payment"] = measure(
                        alone.url, creations(identity), {"payments": alone}
                    )
                    results["gateway -> payments: create payment"] = measure(
                        gateway.url, creations(authorised), {"gateway": gateway, "payments": payments}
                    )
                    results[f"gateway -> payments: create payment, paced {CREATION_RATE}/s"] = measure_paced(
                        gateway.url,
                        creations(authorised),
                        {"gateway": gateway, "payments": payments},
                        rate=CREATION_RATE,
                        seconds=SECONDS,
                    )
            with replicated("services.payments.app:create_app", payments_env, count=REPLICAS) as payments:
                env = {**gateway_env, "TESSERA_GATEWAY_PAYMENTS_URL": payments.url}
                alone = payments.servers[0]
                with served("gateway.app:create_app", env, probe="/readyz") as gateway:
                    load(bare_server.url, bare_hooks(), seconds=1)
                    load(alone.url, _hooks(2), seconds=2)
                    load(gateway.url, _hooks(2), seconds=2)
                    results["bare FastAPI endpoint: webhook"] = measure(
                        bare_server.url, bare_hooks(), {"bare": bare_server}
                    )
                    results["one payments process alone: Stripe webhook"] = measure(
                        alone.url, _hooks(SECONDS), {"payments": alone}
                    )
                    results["gateway -> payments: Stripe webhook ingestion"] = measure(
                        gateway.url, _hooks(SECONDS), {"gateway": gateway, "payments": payments}
                    )
                    results[f"gateway -> payments: Stripe webhook, paced {WEBHOOK_RATE}/s"] = measure_paced(
                        gateway.url,
                        webhooks(int(WEBHOOK_RATE * SECONDS)),
                        {"gateway": gateway, "payments": payments},
                        rate=WEBHOOK_RATE,
                        seconds=SECONDS,
                    )
    print(f"load average after: {load_average()}")
    print(f"\n{header()}")
    for name, result in results.items():
        print(row(name, result))
    created = results["gateway -> payments: create payment"].result
    created_paced = results[f"gateway -> payments: create payment, paced {CREATION_RATE}/s"].result
    hooks = results["gateway -> payments: Stripe webhook ingestion"].result
    hooks_paced = results[f"gateway -> payments: Stripe webhook, paced {WEBHOOK_RATE}/s"].result
    creation_ok = (
        created.rate >= CREATION_RATE
        and created.all_answered(201)
        and kept_pace(created_paced, CREATION_RATE, 201)
        and created_paced.p99_ms < 50
    )
    hooks_ok = (
        hooks.rate >= WEBHOOK_RATE and hooks.all_answered(200) and kept_pace(hooks_paced, WEBHOOK_RATE, 200)
    )
    print(
        f"\ntarget >= {CREATION_RATE} creations/s, and p99 < 50 ms at {CREATION_RATE}/s, all 201: "
        f"{'met' if creation_ok else 'NOT met'}"
    )
    print(
        f"target >= {WEBHOOK_RATE} webhooks/s, kept up at {WEBHOOK_RATE}/s, all 200: {'met' if hooks_ok else 'NOT met'}"
    )
    print(CPU_NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
