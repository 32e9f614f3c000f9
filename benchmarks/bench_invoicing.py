"""End-to-end invoice submission through the gateway on PostgreSQL, beside a bare FastAPI
endpoint receiving the same body (the ceiling of this stack), in one run.

Each server is one uvicorn process (the gateway, the invoicing service, the bare app); the load
comes from this process with a fixed number of concurrent connections. Every request carries a
typical 20-line invoice with a number of its own, so each one is validated, checked, sealed and
stored. Then the stages of one submission are timed in process (parse and EN 16931 validation,
the buyer's checks, sealing, storage with its commit) to show where the time goes.

    python -m benchmarks invoicing            # or: python -m benchmarks.bench_invoicing
    TESSERA_BENCH_SECONDS=20 TESSERA_BENCH_CONCURRENCY=16 python -m benchmarks invoicing

PostgreSQL is taken at ``$TESSERA_BENCH_POSTGRES_URL`` (an admin URL; default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); two scratch databases are created
and dropped.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "TESSERA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECONDS = float(os.environ.get("TESSERA_BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("TESSERA_BENCH_CONCURRENCY", "16"))
# Worker processes of the invoicing service: its work is CPU-bound Python (validation, sealing),
# so one process uses one core whatever its thread pool.
WORKERS = int(os.environ.get("TESSERA_BENCH_WORKERS", "2"))
SUPPLIER = "IT01234567890"

bare = FastAPI()


@bare.post("/v1/invoices", status_code=201)
async def receive(request: Request) -> Response:
    """The ceiling: read the body and answer 201, nothing else."""
    await request.body()
    return Response(status_code=201)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    admin = sa.create_engine(make_url(ADMIN_URL), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    name = f"tessera_bench_{label}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def served(
    app: str, env: dict[str, str], *, factory: bool = True, probe: str = "/healthz", workers: int = 1
) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--workers", str(workers)]
    command += ["--factory"] if factory else []
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}{probe}", timeout=1).status_code < 500 or not factory:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def bodies(count: int, prefix: str) -> list[bytes]:
    from services.invoicing.samples import sample_invoice

    return [sample_invoice(number=f"{prefix}-{n:06d}", lines=20) for n in range(count)]


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """One HTTP/1.1 answer (Content-Length or chunked); its status code."""
    status = int((await reader.readline()).split(b" ", 2)[1])
    length, chunked = 0, False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        await reader.readexactly(length)
        return status
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        await reader.readexactly(size + 2)
        if size == 0:
            return status


async def _load(url: str, headers: dict[str, str], payloads: list[bytes], seconds: float) -> dict[str, Any]:
    """Keep-alive connections written by hand: a client far lighter than the servers it measures,
    so that on a 2-core machine it takes little of their CPU."""
    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    index = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal index
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            while time.perf_counter() < stop and index < len(payloads):
                body = payloads[index]
                index += 1
                request = (
                    f"POST /v1/invoices HTTP/1.1\r\nHost: {host}:{port}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                status = await _read_answer(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

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


def load(url: str, headers: dict[str, str], payloads: list[bytes], seconds: float) -> dict[str, Any]:
    return asyncio.run(_load(url, headers, payloads, seconds))


def stage_times(database_url: str, data_dir: Path, count: int = 200) -> dict[str, float]:
    """Median milliseconds of each stage of one submission, measured in this process."""
    from services.common.db import Database
    from services.common.identity import Principal, Role
    from services.common.outbox import Outbox, Subscriptions
    from services.common.settings import MunicipalitySettings
    from services.invoicing import repository, service
    from services.invoicing.checks import BuyerRules, buyer_findings
    from services.invoicing.models import OUTBOX_TABLES
    from services.invoicing.ubl.facts import read_facts
    from services.invoicing.ubl.seal import Sealer
    from services.invoicing.validation.engine import validate_tree
    from services.invoicing.validation.parser import document_type, parse

    database = Database(database_url)
    runtime = service.Runtime(
        sealer=Sealer.development(data_dir),
        municipality=MunicipalitySettings(),
        outbox=Outbox(OUTBOX_TABLES, Subscriptions()),
        max_invoice_bytes=10 * 1024 * 1024,
        max_attachments_bytes=8 * 1024 * 1024,
    )
    principal = Principal(key_id="bench", role=Role.SUPPLIER, name="bench", supplier_id=SUPPLIER)
    times: dict[str, list[float]] = {
        "validation": [],
        "buyer checks": [],
        "sealing": [],
        "whole submission": [],
    }
    for body in bodies(count, f"STAGE-{uuid.uuid4().hex[:6]}"):
        t0 = time.perf_counter()
        root = parse(body)
        validate_tree(root, document_type(root))
        t1 = time.perf_counter()
        with database.sessionmaker() as session:
            rules = BuyerRules(runtime.municipality, repository.active_routing_codes(session), 1 << 30)
            buyer_findings(read_facts(root), rules)
        t2 = time.perf_counter()
        runtime.sealer.seal(body)
        t3 = time.perf_counter()
        with database.sessionmaker() as session:
            service.submit_invoice(session, runtime=runtime, principal=principal, body=body)
            session.commit()
        t4 = time.perf_counter()
        times["validation"].append(t1 - t0)
        times["buyer checks"].append(t2 - t1)
        times["sealing"].append(t3 - t2)
        times["whole submission"].append(t4 - t3)
    database.dispose()
    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    spent = medians["validation"] + medians["buyer checks"] + medians["sealing"]
    medians["storage and the rest"] = max(medians["whole submission"] - spent, 0.0)
    return medians


def main(argv: list[str] | None = None) -> int:
    from gateway import service as gateway_service
    from services.common.db import Database
    from services.common.identity import Role
    from services.common.migrations import upgrade
    from services.invoicing.samples import sample_invoice

    load_avg = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"{os.cpu_count()} CPUs, load average {load_avg}; {CONCURRENCY} connections, {SECONDS:g} s per run, "
        f"invoicing service with {WORKERS} worker process(es), gateway with 1"
    )
    print(f"body: a 20-line invoice of {len(sample_invoice(lines=20))} bytes, a new number on each request")
    with (
        tempfile.TemporaryDirectory() as scratch,
        scratch_database("invoicing") as invoicing_db,
        scratch_database("gateway") as gateway_db,
    ):
        upgrade("invoicing", invoicing_db)
        upgrade("gateway", gateway_db)
        keys = Database(gateway_db)
        with keys.sessionmaker() as session:
            _, key = gateway_service.create_key(
                session, name="bench", role=Role.SUPPLIER, supplier_id=SUPPLIER
            )
            session.commit()
        keys.dispose()
        common = {"TESSERA_DATA_DIR": scratch, "TESSERA_LOG_LEVEL": "WARNING", "TESSERA_ENV": "test"}
        payloads = bodies(int(SECONDS * 400) + 1000, f"E2E-{uuid.uuid4().hex[:6]}")
        headers = {"Content-Type": "application/xml"}
        with served("benchmarks.bench_invoicing:bare", common, factory=False) as bare_url:
            load(bare_url, headers, payloads[:200], 1.0)  # warm-up
            ceiling = load(bare_url, headers, payloads * 20, SECONDS)  # the bare endpoint keeps nothing
        invoicing_env = {**common, "TESSERA_INVOICING_DATABASE_URL": invoicing_db}
        with served("services.invoicing.app:create_app", invoicing_env, workers=WORKERS) as invoicing_url:
            gateway_env = {
                **common,
                "TESSERA_GATEWAY_DATABASE_URL": gateway_db,
                "TESSERA_GATEWAY_INVOICING_URL": invoicing_url,
                "TESSERA_GATEWAY_RATE_LIMIT_SUPPLIER": str(10**9),
            }
            with served("gateway.app:create_app", gateway_env, probe="/readyz") as gateway_url:
                authorised = {**headers, "Authorization": f"Bearer {key}"}
                load(gateway_url, authorised, bodies(100, f"WARM-{uuid.uuid4().hex[:6]}"), 2.0)
                tessera = load(gateway_url, authorised, payloads, SECONDS)
        stages = stage_times(invoicing_db, Path(scratch))

    print(f"\n{'path':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for name, result in (
        ("bare FastAPI endpoint (ceiling)", ceiling),
        ("gateway -> invoicing, PostgreSQL", tessera),
    ):
        answers = ", ".join(f"{code}: {n}" for code, n in sorted(result["statuses"].items()))
        print(f"{name:<44} {result['rate']:>8.1f} {result['p50']:>8.2f} {result['p99']:>8.2f}  {answers}")
    whole = stages["whole submission"]
    print(f"\nstages of one submission in process (median ms; share of the {whole:.2f} ms submission)")
    for name in ("validation", "buyer checks", "sealing", "storage and the rest"):
        print(f"  {name:<24} {stages[name]:>7.2f} ms  {stages[name] / whole * 100:>5.1f} %")
    ok = tessera["rate"] >= 150 and tessera["p99"] < 100 and set(tessera["statuses"]) == {201}
    print(f"\ntarget >= 150 invoices/s with p99 < 100 ms, all 201: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
