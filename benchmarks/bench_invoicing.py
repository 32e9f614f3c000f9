"""End-to-end invoice submission through the gateway on PostgreSQL, beside a bare FastAPI
endpoint receiving the same body (the ceiling of this stack), in one run.

Each server is its own uvicorn process (the gateway, the bare app, and each of the invoicing
service's ``TESSERA_BENCH_REPLICAS`` replicas, which the gateway takes in turn); the load
comes from ``wrk`` (see ``benchmarks/_load.py``) with a fixed number of keep-alive connections,
the bare endpoint and the gateway back to back so that they share the machine's load. Every request carries a
typical 20-line invoice with a number of its own, so each one is validated, checked, sealed and
stored. A "paced" row then sends submissions at the target rate from an open-loop generator
(``benchmarks/_paced.py``) for the latency a supplier sees at that rate: wrk's latencies, with
16 connections always busy, are mostly queueing. Then the stages of one submission are timed in process (parse and EN 16931 validation,
the buyer's checks, sealing, storage with its commit) to show where the time goes.

    python -m benchmarks invoicing            # or: python -m benchmarks.bench_invoicing
    TESSERA_BENCH_SECONDS=20 TESSERA_BENCH_CONCURRENCY=16 python -m benchmarks invoicing

PostgreSQL is taken at ``$TESSERA_BENCH_POSTGRES_URL`` (an admin URL; default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); two scratch databases are created
and dropped.
"""

from __future__ import annotations

import itertools
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from fastapi import FastAPI, Request, Response

from benchmarks._load import (
    CONCURRENCY,
    CPU_NOTE,
    SECONDS,
    Measured,
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

# Replica processes of the invoicing service: its work is CPU-bound Python (validation, sealing),
# so one process uses one core whatever its thread pool.
REPLICAS = int(os.environ.get("TESSERA_BENCH_REPLICAS", "2"))
SUPPLIER = "IT01234567890"
TARGET_RATE = 150  # invoices per second, also the rate of the paced row

bare = FastAPI()


@bare.post("/v1/invoices", status_code=201)
async def receive(request: Request) -> Response:
    """The ceiling: read the body and answer 201, nothing else."""
    await request.body()
    return Response(status_code=201)


def bodies(count: int, prefix: str) -> list[bytes]:
    from services.invoicing.samples import sample_invoice

    return [sample_invoice(number=f"{prefix}-{n:06d}", lines=20) for n in range(count)]


def submissions(headers: dict[str, str] | None = None) -> Template:
    """A typical 20-line invoice with a number of its own on every request."""
    from services.invoicing.samples import sample_invoice

    return Template(
        "/v1/invoices",
        body=sample_invoice(number="@@N@@", lines=20),
        headers={"Content-Type": "application/xml", **(headers or {})},
    )


def stage_times(database_url: str, data_dir: Path, count: int = 200) -> dict[str, tuple[float, float]]:
    """Median milliseconds of each stage of one submission, measured in this process: CPU time
    of this thread, and wall time (which includes the database's own work and waits).

    Each stage is timed as the service runs it: the buyer's checks read the facts and compare
    them with the routing codes (the service takes the invoice's own as active and has the
    statement that writes the invoice check it, which counts as storage here), and sealing takes
    the tree parsed for validation. "Storage and the rest" is the whole submission less the other
    stages: its one write statement and commit, the Invoice Response and outbox event, and the
    service's own work.
    """
    from services.common.db import Database
    from services.common.identity import Principal, Role
    from services.common.outbox import Outbox, Subscriptions
    from services.common.settings import MunicipalitySettings
    from services.invoicing import repository, service
    from services.invoicing.checks import BuyerRules, buyer_findings, seller_matches, storage_findings
    from services.invoicing.models import OUTBOX_TABLES
    from services.invoicing.ubl.facts import read_facts
    from services.invoicing.ubl.ns import NS
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
    with database.sessionmaker() as session:
        rules = BuyerRules(runtime.municipality, repository.active_routing_codes(session), 1 << 30)
    names = ("validation", "buyer checks", "sealing", "whole submission")
    cpu: dict[str, list[float]] = {name: [] for name in names}
    wall: dict[str, list[float]] = {name: [] for name in names}

    def now() -> tuple[float, float]:
        return time.thread_time(), time.perf_counter()

    for body in bodies(count, f"STAGE-{uuid.uuid4().hex[:6]}"):
        marks = [now()]
        root = parse(body)
        validate_tree(root, document_type(root))
        marks.append(now())
        facts = read_facts(root)
        seller_matches(facts, SUPPLIER)
        buyer_findings(facts, rules)
        storage_findings(facts, root.findtext(f"{{{NS['cbc']}}}IssueDate"))
        marks.append(now())
        runtime.sealer.seal(body, parsed=root)
        marks.append(now())
        with database.sessionmaker() as session:
            service.submit_invoice(session, runtime=runtime, principal=principal, body=body)
            session.commit()
        marks.append(now())
        for name, (before, after) in zip(names, itertools.pairwise(marks), strict=True):
            cpu[name].append(after[0] - before[0])
            wall[name].append(after[1] - before[1])
    database.dispose()
    medians = {
        name: (statistics.median(cpu[name]) * 1000, statistics.median(wall[name]) * 1000) for name in names
    }
    spent = [sum(medians[name][i] for name in names[:3]) for i in (0, 1)]
    whole = medians["whole submission"]
    medians["storage and the rest"] = (max(whole[0] - spent[0], 0.0), max(whole[1] - spent[1], 0.0))
    return medians


def main(argv: list[str] | None = None) -> int:
    from gateway import service as gateway_service
    from services.common.db import Database
    from services.common.identity import Role
    from services.common.migrations import upgrade
    from services.invoicing.samples import sample_invoice

    print(
        f"{os.cpu_count()} CPUs, load average {load_average()} before; wrk with {CONCURRENCY} connections, "
        f"{SECONDS:g} s per row; invoicing service in {REPLICAS} replica process(es), gateway in 1"
    )
    print(f"body: a 20-line invoice of {len(sample_invoice(lines=20))} bytes, a new number on each request")
    results: dict[str, Measured] = {}
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
        invoicing_env = {**common, "TESSERA_INVOICING_DATABASE_URL": invoicing_db}
        with (
            served("benchmarks.bench_invoicing:bare", common, factory=False) as bare_server,
            replicated("services.invoicing.app:create_app", invoicing_env, count=REPLICAS) as invoicing,
        ):
            gateway_env = {
                **common,
                "TESSERA_GATEWAY_DATABASE_URL": gateway_db,
                "TESSERA_GATEWAY_INVOICING_URL": invoicing.url,
                "TESSERA_GATEWAY_RATE_LIMIT_SUPPLIER": str(10**9),
            }
            with served("gateway.app:create_app", gateway_env, probe="/readyz") as gateway:
                authorised = submissions({"Authorization": f"Bearer {key}"})
                load(bare_server.url, submissions(), seconds=1)
                load(gateway.url, authorised, seconds=2)
                # Back to back, so that the ratio shares the machine's load.
                results["bare FastAPI endpoint (ceiling)"] = measure(
                    bare_server.url, submissions(), {"bare": bare_server}
                )
                results["gateway -> invoicing, PostgreSQL"] = measure(
                    gateway.url, authorised, {"gateway": gateway, "invoicing": invoicing}
                )
                results[f"gateway -> invoicing, paced {TARGET_RATE}/s"] = measure_paced(
                    gateway.url,
                    authorised,
                    {"gateway": gateway, "invoicing": invoicing},
                    rate=TARGET_RATE,
                    seconds=SECONDS,
                )
        stages = stage_times(invoicing_db, Path(scratch))
    print(f"load average after: {load_average()}")

    print(f"\n{header()}")
    for name, result in results.items():
        print(row(name, result))
    whole_cpu, whole_wall = stages["whole submission"]
    print(
        f"\nstages of one submission in process (median ms of CPU, share of the {whole_cpu:.2f} ms of CPU "
        f"of a whole submission; wall ms, of {whole_wall:.2f})"
    )
    for name in ("validation", "buyer checks", "sealing", "storage and the rest"):
        spent_cpu, spent_wall = stages[name]
        print(
            f"  {name:<24} {spent_cpu:>7.2f} ms CPU  {spent_cpu / whole_cpu * 100:>5.1f} %  {spent_wall:>7.2f} ms wall"
        )
    tessera = results["gateway -> invoicing, PostgreSQL"].result
    paced = results[f"gateway -> invoicing, paced {TARGET_RATE}/s"].result
    ok = (
        tessera.rate >= TARGET_RATE
        and tessera.all_answered(201)
        and kept_pace(paced, TARGET_RATE, 201)
        and paced.p99_ms < 100
    )
    print(
        f"\ntarget >= {TARGET_RATE} invoices/s, and p99 < 100 ms at {TARGET_RATE}/s, all 201: "
        f"{'met' if ok else 'NOT met'}"
    )
    print(CPU_NOTE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
