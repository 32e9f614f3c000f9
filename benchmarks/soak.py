"""``make soak``: a mixed load on PostgreSQL through the gateway for a bounded time, then proof
that nothing was lost and that no process grew beyond a stated bound.

The gateway and the three services run as real uvicorn processes (one each, on scratch
PostgreSQL databases; the payments outbox relay runs in the payments process and delivers
``payment.succeeded`` to receipts). For ``SOAK_SECONDS`` (default 60) these run side by side:

- invoice submissions (a supplier key, each a new UBL invoice number), ``wrk``;
- payment creations (a service key, each with its own Idempotency-Key), ``wrk``;
- receipt downloads (an officer fetching a receipt's PDF/A), ``wrk``;
- webhook bursts: every ten seconds, five seconds of freshly signed ``payment.succeeded``
  deliveries straight to receipts' event receiver (the internal webhook, not exposed by the
  gateway), ``wrk``;
- payment completions: a payment created and paid with the sandbox card page, in a Python loop
  (a Python client manages some tens of these per second here: the figure is the loop's, not a
  ceiling of the service);
- reconciliation runs, one at a third and one at two thirds of the time.

Afterwards it checks that every completed payment and every delivered event has exactly one
receipt (waiting up to 120 s for the relay to deliver what is left, and saying how long that
took and how the payments outbox fared), that every receipt series verifies (hashes,
signatures, chain), and compares each process's resident memory (with its child processes,
such as receipts' PDF renderer) after a warm-up with its memory at the end against
``SOAK_RSS_GROWTH_MIB`` (default 50 MiB) per process. With ``TESSERA_SOAK=1`` (``make soak``)
the long variants of ``tests/resilience`` run afterwards. It exits 1 when anything failed.

    python -m benchmarks.soak                 # SOAK_SECONDS=300 for a longer run
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks._load import (
    ROOT,
    LoadResult,
    Prepared,
    Template,
    free_port,
    load,
    load_average,
    require_wrk,
    scratch_database,
)

SECONDS = max(5, int(os.environ.get("SOAK_SECONDS", "60")))  # wrk takes whole seconds
RSS_GROWTH_MIB = float(os.environ.get("SOAK_RSS_GROWTH_MIB", "50"))
# Under TESSERA_SOAK=1 (make soak) the long variants of tests/resilience run afterwards.
LONG_VARIANTS = os.environ.get("TESSERA_SOAK", "") == "1"
WEBHOOK_SECRET = "soak-webhook-secret"
INTERNAL_SECRET = "soak-internal-secret"
SUPPLIER_VAT = "IT01234567890"  # the seller of services.invoicing.samples.sample_invoice
CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123"}
PAYMENT = {
    "amount": 4500,
    "currency": "EUR",
    "reference": "SOAK-@@N@@",
    "description": "Residential parking permit",
    "return_url": "https://city.example/permits/paid",
}
BURST_SECONDS = 5
BURST_EVERY = 10
BURST_CEILING = 1500  # deliveries per second at most, to size each burst's list


@dataclass
class Process:
    name: str
    port: int
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mib(self) -> float:
        """Resident memory of the process and of any child it started (a worker process counts
        as the service's memory), from /proc (Linux)."""
        return sum(_rss_mib(pid) for pid in (self.popen.pid, *_children(self.popen.pid)))


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs. Threads and children come and go while this
    reads /proc (the relay's delivery threads, a PDF renderer being replaced): what has gone
    is skipped."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = task.read_text().split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for child in children:
            found += [int(child), *_children(int(child))]
    return found


def _rss_mib(pid: int) -> float:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):  # a child that has just ended
        return 0.0
    for line in lines:
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Outcome:
    """What one operation saw: counts by status, and latencies (from wrk, or measured here)."""

    name: str
    expected: int
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: int = 0
    seconds: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + self.socket_errors

    @property
    def errors(self) -> int:
        return self.requests - self.statuses[self.expected]

    def add_wrk(self, result: LoadResult) -> None:
        self.statuses.update(result.statuses)
        self.socket_errors += result.socket_errors
        self.seconds += result.seconds
        self.p50_ms = max(self.p50_ms, result.p50_ms)
        self.p99_ms = max(self.p99_ms, result.p99_ms)

    def finish(self) -> None:
        if self.latencies_ms:
            ordered = sorted(self.latencies_ms)
            self.p50_ms = statistics.median(ordered)
            self.p99_ms = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


@contextmanager
def serve(
    name: str, app: str, env: Mapping[str, str], logs: Path, probe: str = "/readyz"
) -> Iterator[Process]:
    port = free_port()
    log = logs / f"{name}.log"
    command = [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning"]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    process = Process(name, port, popen, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(process.url + probe, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield process
    finally:
        popen.terminate()
        try:
            popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait(timeout=20)


def paid_events(count: int) -> tuple[Prepared, list[str]]:
    """``count`` signed ``payment.succeeded`` deliveries, each for a payment of its own."""
    from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, sign

    requests: list[tuple[bytes, dict[str, str]]] = []
    payment_ids: list[str] = []
    for index in range(count):
        payment_id = uuid.uuid4()
        event = WebhookEvent(
            id=uuid.uuid4(),
            type="payment.succeeded",
            resource_id=str(payment_id),
            created_at=datetime.now(UTC),
            data={
                "payment_id": str(payment_id),
                "amount": 1000 + index % 500,
                "currency": "EUR",
                "reference": f"BURST-{index}",
                "description": "Waste collection tax",
                "provider": "sandbox",
            },
        )
        body = event.encode()
        requests.append((body, {SIGNATURE_HEADER: sign(body, [WEBHOOK_SECRET])}))
        payment_ids.append(str(payment_id))
    return Prepared("/webhooks/events", requests, headers={"Content-Type": "application/json"}), payment_ids


def redeliver_tail(url: str, prepared: Prepared, sent: int, connections: int) -> int:
    """Deliver again what wrk may not have delivered, as a sender retrying would: the requests
    that were in flight when it stopped (it counts only answered ones), and the first of the list
    (its script takes each thread's first request before the run and never sends it). Afterwards
    the first ``sent + connections + 1`` of the list have certainly arrived: that number."""
    upto = min(len(prepared.requests), sent + connections + 1)
    again = [0, *range(max(1, sent - connections), upto)]
    with httpx.Client(base_url=url, timeout=60) as http:
        for index in again:
            body, headers = prepared.requests[index]
            answer = http.post(prepared.path, content=body, headers={**prepared.headers, **headers})
            if answer.status_code != 200:
                raise RuntimeError(f"a delivery sent again answered {answer.status_code}: {answer.text}")
    return upto


def make_keys(gateway_db: str) -> dict[str, str]:
    from gateway import service as gateway_service
    from services.common.db import Database
    from services.common.identity import Role

    database = Database(gateway_db)
    made: dict[str, str] = {}
    try:
        with database.sessionmaker() as session:
            for role, supplier in ((Role.SUPPLIER, SUPPLIER_VAT), (Role.OFFICER, None), (Role.SERVICE, None)):
                _key, plaintext = gateway_service.create_key(
                    session, name=f"soak {role.value}", role=role, supplier_id=supplier
                )
                made[role.value] = plaintext
            session.commit()
    finally:
        database.dispose()
    return made


def complete_one(http: httpx.Client, service_key: str) -> tuple[str, float, int]:
    """Create a payment, pay it on the sandbox card page; (payment id, ms of the payment, status)."""
    body = {**PAYMENT, "reference": f"SOAK-C-{uuid.uuid4().hex[:12]}"}
    created = http.post(
        "/v1/payments",
        json=body,
        headers={"Authorization": f"Bearer {service_key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    if created.status_code != 201:
        return "", 0.0, created.status_code
    payment_id = created.json()["payment_id"]
    started = time.perf_counter()
    paid = http.post(f"/pay/{payment_id}", data=CARD)
    return payment_id, (time.perf_counter() - started) * 1000, paid.status_code


def receipt_counts(receipts_db: str, payment_ids: list[str]) -> Counter[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(receipts_db)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT payment_id, count(*) FROM receipts GROUP BY payment_id")
            ).all()
    finally:
        engine.dispose()
    wanted = set(payment_ids)
    return Counter({str(pid): n for pid, n in rows if str(pid) in wanted})


def outbox_report(payments_db: str) -> str:
    """How the payments relay fared: deliveries by state, retries and their last answers."""
    import sqlalchemy as sa

    engine = sa.create_engine(payments_db)
    try:
        with engine.connect() as connection:
            total, delivered, retried, most, waiting = connection.execute(
                sa.text(
                    "SELECT count(*), count(delivered_at), count(*) FILTER (WHERE attempts > 1), "
                    "coalesce(max(attempts), 0), "
                    "coalesce(max(next_attempt_at - now()) FILTER (WHERE delivered_at IS NULL), interval '0') "
                    "FROM outbox_deliveries"
                )
            ).one()
            answers = connection.execute(
                sa.text(
                    "SELECT coalesce(last_status::text, left(last_error, 40)), count(*) FROM outbox_deliveries "
                    "WHERE attempts > 1 OR delivered_at IS NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 5"
                )
            ).all()
    finally:
        engine.dispose()
    return (
        f"payments outbox: {total} deliveries, {delivered} delivered, {total - delivered} pending "
        f"(longest wait {waiting}), {retried} needed more than one attempt (most {most}); "
        f"last answers of those: {dict(answers) or 'none'}"
    )


def pdf_report(receipts_db: str) -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(receipts_db)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status, count(*) FROM receipt_pdfs GROUP BY 1")).all()
    finally:
        engine.dispose()
    return f"receipt PDFs by status: {dict(sorted((str(s), n) for s, n in rows))}"


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def main(argv: list[str] | None = None) -> int:
    from services.common.migrations import upgrade
    from services.invoicing.samples import sample_invoice

    require_wrk()
    failures: list[str] = []
    print(
        f"soak: {SECONDS:g} s of mixed load through the gateway on PostgreSQL; {os.cpu_count()} CPUs, "
        f"load average {load_average()} before",
        flush=True,
    )
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tessera-soak-")))
        databases = {
            s: stack.enter_context(scratch_database(s))
            for s in ("gateway", "invoicing", "payments", "receipts")
        }
        for section, url in databases.items():
            upgrade(section, url)
        keys = make_keys(databases["gateway"])
        common = {
            "TESSERA_ENV": "test",
            "TESSERA_DATA_DIR": str(scratch),
            "TESSERA_LOG_LEVEL": "WARNING",
            "TESSERA_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "TESSERA_INTERNAL_SECRETS": INTERNAL_SECRET,
        }
        receipts = stack.enter_context(
            serve(
                "receipts",
                "services.receipts.app:create_app",
                {
                    **common,
                    "TESSERA_RECEIPTS_DATABASE_URL": databases["receipts"],
                    "TESSERA_RECEIPTS_PDF_INTERVAL_SECONDS": "0.5",
                },
                scratch,
            )
        )
        invoicing = stack.enter_context(
            serve(
                "invoicing",
                "services.invoicing.app:create_app",
                {
                    **common,
                    "TESSERA_INVOICING_DATABASE_URL": databases["invoicing"],
                    "TESSERA_INVOICING_RELAY_ENABLED": "false",
                },
                scratch,
            )
        )
        payments = stack.enter_context(
            serve(
                "payments",
                "services.payments.app:create_app",
                {
                    **common,
                    "TESSERA_PAYMENTS_DATABASE_URL": databases["payments"],
                    "TESSERA_PAYMENTS_SUBSCRIBERS": f"{receipts.url}/webhooks/events",
                    "TESSERA_PAYMENTS_RELAY_ENABLED": "true",
                    "TESSERA_PAYMENTS_RELAY_INTERVAL_SECONDS": "0.2",
                    "TESSERA_PAYMENTS_PUBLIC_URL": "http://gateway.soak.invalid",
                },
                scratch,
            )
        )
        big = str(10**9)
        gateway = stack.enter_context(
            serve(
                "gateway",
                "gateway.app:create_app",
                {
                    **common,
                    "TESSERA_GATEWAY_DATABASE_URL": databases["gateway"],
                    "TESSERA_GATEWAY_INVOICING_URL": invoicing.url,
                    "TESSERA_GATEWAY_PAYMENTS_URL": payments.url,
                    "TESSERA_GATEWAY_RECEIPTS_URL": receipts.url,
                    "TESSERA_GATEWAY_MAX_BODY_BYTES": str(1024 * 1024),
                    **{
                        f"TESSERA_GATEWAY_RATE_LIMIT_{r}": big
                        for r in ("SUPPLIER", "OFFICER", "SERVICE", "ANONYMOUS")
                    },
                },
                scratch,
            )
        )
        procs = [gateway, invoicing, payments, receipts]
        supplier = {"Authorization": f"Bearer {keys['supplier']}"}
        officer = {"Authorization": f"Bearer {keys['officer']}"}
        service = {"Authorization": f"Bearer {keys['service']}"}
        submit = Template(
            "/v1/invoices",
            body=sample_invoice(number="SOAK-@@N@@"),
            headers={"Content-Type": "application/xml", **supplier},
        )
        create = Template(
            "/v1/payments",
            body=json.dumps(PAYMENT).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": "@@N@@", **service},
        )

        # Warm-up: every path once or for a moment, so that the memory at the start is the
        # memory of a process that has served each kind of request.
        http = stack.enter_context(httpx.Client(base_url=gateway.url, timeout=60))
        completed: list[str] = []
        for _ in range(5):
            payment_id, _ms, status = complete_one(http, keys["service"])
            if status != 303:
                failures.append(f"warm-up completion answered {status}")
            completed.append(payment_id)
        if not wait_for(lambda: len(receipt_counts(databases["receipts"], completed)) == len(completed), 60):
            failures.append("warm-up payments got no receipts within 60 s")
        listed = http.get("/v1/receipts", headers=officer).json()["items"]
        receipt_id = str(listed[0].get("receipt_id") or listed[0]["id"])
        if not wait_for(
            lambda: http.get(f"/v1/receipts/{receipt_id}/pdf", headers=officer).status_code == 200, 60
        ):
            failures.append("the warm-up receipt's PDF was not rendered within 60 s")
        download = Template(f"/v1/receipts/{receipt_id}/pdf", method="GET", headers=officer)
        warm_events, warm_ids = paid_events(200)
        load(gateway.url, submit, seconds=2, connections=2)
        load(gateway.url, create, seconds=2, connections=2)
        load(gateway.url, download, seconds=2, connections=2)
        warmed = load(receipts.url, warm_events, seconds=2, connections=2, threads=1)
        http.post("/v1/reconciliation/runs", headers=officer, json={})
        time.sleep(2)
        rss_start = {p.name: p.rss_mib() for p in procs}

        outcomes = {
            "submit invoice": Outcome("submit invoice (POST /v1/invoices)", 201),
            "create payment": Outcome("create payment (POST /v1/payments)", 201),
            "download receipt": Outcome("download receipt PDF (GET /v1/receipts/{id}/pdf)", 200),
            "webhook burst": Outcome("webhook bursts (receipts /webhooks/events)", 200),
            "complete payment": Outcome("complete payment (POST /pay/{id}, sandbox card)", 303),
            "reconciliation": Outcome("reconciliation run (POST /v1/reconciliation/runs)", 201),
        }
        burst_ids: list[str] = warm_ids[: redeliver_tail(receipts.url, warm_events, warmed.requests, 2)]
        loop_completed: list[str] = []
        deadline = time.monotonic() + SECONDS

        def steady(key: str, url: str, work: Template) -> None:
            outcomes[key].add_wrk(load(url, work, seconds=SECONDS, connections=2, threads=1))

        def bursts() -> None:
            outcome = outcomes["webhook burst"]
            while (remaining := deadline - time.monotonic()) >= 1:
                length = int(min(BURST_SECONDS, remaining))
                prepared, ids = paid_events(int(length * BURST_CEILING) + 100)
                result = load(receipts.url, prepared, seconds=length, connections=4, threads=1)
                outcome.add_wrk(result)
                # Only the deliveries wrk sent count; the rest of the list was never used.
                burst_ids.extend(ids[: redeliver_tail(receipts.url, prepared, result.requests, 4)])
                time.sleep(max(0.0, min(BURST_EVERY - length, deadline - time.monotonic())))

        def completions() -> None:
            outcome = outcomes["complete payment"]
            started = time.monotonic()
            with httpx.Client(base_url=gateway.url, timeout=60) as own:
                while time.monotonic() < deadline:
                    payment_id, ms, status = complete_one(own, keys["service"])
                    outcome.statuses[status] += 1
                    if status == 303:
                        outcome.latencies_ms.append(ms)
                        loop_completed.append(payment_id)
            outcome.seconds = time.monotonic() - started

        def reconciliations() -> None:
            outcome = outcomes["reconciliation"]
            started = time.monotonic()
            with httpx.Client(base_url=gateway.url, timeout=120) as own:
                for fraction in (1 / 3, 2 / 3):
                    time.sleep(max(0.0, deadline - SECONDS * (1 - fraction) - time.monotonic()))
                    began = time.perf_counter()
                    answer = own.post("/v1/reconciliation/runs", headers=officer, json={})
                    outcome.latencies_ms.append((time.perf_counter() - began) * 1000)
                    outcome.statuses[answer.status_code] += 1
            outcome.seconds = time.monotonic() - started

        rss_peak = dict(rss_start)

        def sample_memory() -> None:
            while time.monotonic() < deadline:
                for p in procs:
                    rss_peak[p.name] = max(rss_peak[p.name], p.rss_mib())
                time.sleep(1)

        workers = [
            threading.Thread(target=steady, args=("submit invoice", gateway.url, submit)),
            threading.Thread(target=steady, args=("create payment", gateway.url, create)),
            threading.Thread(target=steady, args=("download receipt", gateway.url, download)),
            threading.Thread(target=bursts),
            threading.Thread(target=completions),
            threading.Thread(target=reconciliations),
            threading.Thread(target=sample_memory),
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=SECONDS + 600)
        load_ended = time.monotonic()
        time.sleep(2)
        rss_end = {p.name: p.rss_mib() for p in procs}

        # Nothing lost: every completed payment and every delivered event has exactly one receipt.
        everything = completed + loop_completed + burst_ids

        def settled() -> bool:
            return len(receipt_counts(databases["receipts"], everything)) == len(set(everything))

        drained = wait_for(settled, 120)
        drain_seconds = time.monotonic() - load_ended
        relay_report = outbox_report(databases["payments"]) + "\n" + pdf_report(databases["receipts"])
        counts = receipt_counts(databases["receipts"], everything)
        missing = len(set(everything)) - len(counts)
        missing_by_source = {
            source: sorted(set(ids) - set(counts))
            for source, ids in (
                ("warm-up completions", completed),
                ("completions", loop_completed),
                ("deliveries", burst_ids),
            )
        }
        doubled = sum(1 for n in counts.values() if n > 1)
        series = http.get("/v1/receipts/series", headers=officer).json()
        intact = [
            http.get(f"/v1/receipts/series/{s['key']}/verification", headers=officer, timeout=600)
            .json()
            .get("intact")
            for s in series
        ]
        issued = sum(int(s["last_number"]) for s in series)
        for p in procs:
            if p.popen.poll() is not None:
                failures.append(f"{p.name} exited during the soak with {p.popen.returncode}")

    print(f"load average after: {load_average()}\n")
    width = 52
    print(
        f"{'operation':<{width}} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'error %':>8}"
    )
    for outcome in outcomes.values():
        outcome.finish()
        rate = outcome.requests / outcome.seconds if outcome.seconds else 0.0
        share = 100 * outcome.errors / outcome.requests if outcome.requests else 0.0
        print(
            f"{outcome.name:<{width}} {outcome.requests:>8} {rate:>8.1f} {outcome.p50_ms:>8.1f} "
            f"{outcome.p99_ms:>8.1f} {outcome.errors:>7} {share:>7.2f}%"
        )
        if outcome.requests == 0:
            failures.append(f"{outcome.name}: no request was made")
        if outcome.errors:
            failures.append(
                f"{outcome.name}: {outcome.errors} unexpected answers {dict(outcome.statuses)}, socket errors {outcome.socket_errors}"
            )
    print("(webhook bursts: p50/p99 of the worst burst; payment completions come from a Python loop)")
    print(
        f"\nreceipts: {len(set(everything))} payments paid or delivered, {len(counts)} with a receipt, "
        f"{missing} missing, {doubled} with more than one; {issued} receipts in {len(series)} series, "
        f"chains intact: {all(intact) and bool(intact)}"
    )
    print(
        f"all receipts issued {drain_seconds:.1f} s after the load ended"
        if drained
        else f"receipts still missing {drain_seconds:.0f} s after the load ended"
    )
    print(relay_report)
    if missing or doubled:
        failures.append(f"receipts: {missing} missing, {doubled} doubled")
        for source, ids in missing_by_source.items():
            if ids:
                print(f"  without a receipt ({source}): {', '.join(ids[:10])}")
    if not intact or not all(intact):
        failures.append(f"a receipt series does not verify: {intact}")
    print(
        f"\n{'process':<12} {'RSS start MiB':>14} {'RSS peak MiB':>13} {'RSS end MiB':>12} {'growth MiB':>11}  (bound {RSS_GROWTH_MIB:g} MiB)"
    )
    for name in rss_start:
        growth = rss_end[name] - rss_start[name]
        print(
            f"{name:<12} {rss_start[name]:>14.1f} {rss_peak[name]:>13.1f} {rss_end[name]:>12.1f} {growth:>11.1f}"
        )
        if growth > RSS_GROWTH_MIB:
            failures.append(f"{name} grew by {growth:.1f} MiB, more than {RSS_GROWTH_MIB:g} MiB")
    if LONG_VARIANTS:
        print("\nlong variants of tests/resilience (TESSERA_SOAK=1):", flush=True)
        command = [sys.executable, "-m", "pytest", "tests/resilience", "-q", "-p", "no:cacheprovider"]
        if subprocess.run(command, cwd=ROOT, env={**os.environ, "TESSERA_SOAK": "1"}, check=False).returncode:
            failures.append("the long variants of tests/resilience failed")
    if failures:
        print("\nSOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("\nsoak passed: no unexpected answer, nothing lost, memory within bound")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
