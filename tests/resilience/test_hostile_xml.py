"""The hostile XML corpus (tests/resilience/corpus.py) against every door an invoice comes in by:
``tessera validate`` and ``tessera seal verify`` (child processes, their time and peak memory
measured), and ``POST /v1/invoices`` and ``POST /v1/invoices/verify`` through the gateway in front
of the real apps. Each input gets a clear refusal or finding in bounded time, nothing is stored,
the service still answers afterwards, and no entity, DTD, XInclude or schema URL is ever fetched:
they all point at a local socket that counts connections.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, func, inspect, select, table

from gateway.policy import Upstream
from services.common.identity import Role
from tests.gateway.conftest import gateway_client, make_key, running, settings_for
from tests.resilience import corpus

pytestmark = pytest.mark.anyio

TESSERA = str(Path(sys.executable).with_name("tessera"))
SUPPLIER = corpus.SUPPLIER_VAT
# Bounds per input: a refusal comes in well under a second; these leave room for a loaded CI box.
CLI_SECONDS = 30.0
CLI_PEAK_RSS_MB = 400
HTTP_SECONDS = 10.0
HTTP_GROWTH_MB = 200
# Refusing a 100 MB file costs no more than this over refusing an empty one.
HUGE_GROWTH_MB = 40


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Canary:
    """A listening socket on 127.0.0.1 that records every connection made to it."""

    url: str
    connections: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    port = listener.getsockname()[1]
    found = Canary(url=f"http://127.0.0.1:{port}")
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            try:
                connection, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            found.connections.append(peer)
            connection.close()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    yield found
    stop.set()
    watcher.join(timeout=2)
    listener.close()
    assert found.connections == [], f"something connected to the canary: {found.connections}"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_mb: float


# A child forked from this test process starts with the test process's resident set as its peak
# (Linux keeps ru_maxrss across exec): a small fresh interpreter starts tessera instead and
# reports the peak of its only child.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write(f'\\npeak-rss-kb={peak}\\n')\n"
    "sys.exit(code)\n"
)


def run_cli_measured(*args: str) -> Run:
    """``tessera ARGS`` with a time bound, and its own peak resident set size."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", _MEASURE, TESSERA, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=CLI_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"tessera {' '.join(args)} ran longer than {CLI_SECONDS} s")
    seconds = time.monotonic() - started
    text, _, mark = stderr.decode().rstrip("\n").rpartition("\n")
    name, _, kilobytes = mark.partition("=")
    assert name == "peak-rss-kb" and kilobytes.isdigit(), (
        f"no measure from the wrapper: {stderr.decode()[-300:]}"
    )
    return Run(child.returncode, stdout.decode(), text, seconds, int(kilobytes) / 1024)


def _bounded(run: Run, what: str) -> None:
    assert run.peak_rss_mb < CLI_PEAK_RSS_MB, f"{what}: peak RSS {run.peak_rss_mb:.0f} MB"


def _report(command: str, runs: dict[str, Run]) -> None:
    """Print the measures; a 100 MB file must be refused without being read whole."""
    slowest = max(runs.items(), key=lambda item: item[1].seconds)
    largest = max(runs.items(), key=lambda item: item[1].peak_rss_mb)
    print(
        f"\n{command}: {len(runs)} hostile files; slowest {slowest[0]} {slowest[1].seconds:.2f} s; "
        f"largest peak RSS {largest[0]} {largest[1].peak_rss_mb:.0f} MB; "
        f"100 MB file {runs['huge-100mb'].peak_rss_mb:.0f} MB against {runs['empty'].peak_rss_mb:.0f} MB for an empty one"
    )
    growth = runs["huge-100mb"].peak_rss_mb - runs["empty"].peak_rss_mb
    assert growth < HUGE_GROWTH_MB, f"{command} read the 100 MB file into memory (+{growth:.0f} MB)"


def _files(tmp_path: Path, canary: Canary, sealed: bytes | None = None) -> list[tuple[corpus.Hostile, Path]]:
    cases = corpus.xml_corpus(canary.url) + (corpus.sealed_corpus(sealed) if sealed else [])
    files = []
    for case in cases:
        path = tmp_path / f"{case.name}.xml"
        path.write_bytes(case.data())
        files.append((case, path))
    return files


# ---- tessera validate --------------------------------------------------------------------------


def test_validate_refuses_each_hostile_file_in_bounded_time_and_memory(
    tmp_path: Path, canary: Canary
) -> None:
    huge = corpus.write_huge(tmp_path / "huge-100mb.xml")
    cases = [*_files(tmp_path, canary), (corpus.Hostile("huge-100mb", bytes), huge)]
    runs: dict[str, Run] = {}
    for case, path in cases:
        run = runs[case.name] = run_cli_measured("validate", "--format", "json", str(path))
        assert run.code in (0, 1), f"{case.name}: exit {run.code}: {run.stderr[-500:]}"
        assert "Traceback" not in run.stderr, case.name
        report = json.loads(run.stdout.splitlines()[0])
        if not case.benign:
            assert run.code == 1 and report["valid"] is False, case.name
            assert report["findings"] and all(f["message"] for f in report["findings"]), case.name
        _bounded(run, case.name)
    _report("tessera validate", runs)


def test_validate_explains_why(tmp_path: Path, canary: Canary) -> None:
    expected = {
        "xxe-file": "DOCTYPE",
        "billion-laughs": "DOCTYPE",
        "external-dtd": "DOCTYPE",
        "nesting-100000": "nested more than",
        "invalid-utf8": "encoding",
        "wrong-namespace": "root element",
        "empty": "empty",
    }
    paths = {case.name: path for case, path in _files(tmp_path, canary) if case.name in expected}
    run = run_cli_measured("validate", "--format", "json", *(str(p) for p in paths.values()))
    assert run.code == 1
    reports = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    by_file = {Path(r["file"]).stem: r for r in reports}
    for name, words in expected.items():
        messages = " ".join(f["message"] for f in by_file[name]["findings"])
        assert words in messages, (name, messages)


# ---- tessera seal verify -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sealed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seal")


def _sealed(data_dir: Path) -> bytes:
    from services.invoicing.ubl.seal import Sealer

    return Sealer.development(data_dir).seal(corpus.sample_invoice()).sealed


def test_seal_verify_never_reports_a_hostile_file_intact(
    tmp_path: Path, canary: Canary, sealed_dir: Path
) -> None:
    sealed = _sealed(sealed_dir)
    (tmp_path / "sealed.xml").write_bytes(sealed)
    intact = run_cli_measured(
        "seal", "verify", "--json", "--data-dir", str(sealed_dir), str(tmp_path / "sealed.xml")
    )
    assert intact.code == 0 and json.loads(intact.stdout)["status"] == "intact", intact.stderr
    huge = corpus.write_huge(tmp_path / "huge-100mb.xml")
    cases = [*_files(tmp_path, canary, sealed), (corpus.Hostile("huge-100mb", bytes), huge)]
    runs: dict[str, Run] = {}
    for case, path in cases:
        run = runs[case.name] = run_cli_measured(
            "seal", "verify", "--json", "--data-dir", str(sealed_dir), str(path)
        )
        assert run.code in (1, 2), f"{case.name}: exit {run.code}: {run.stdout} {run.stderr[-500:]}"
        assert "Traceback" not in run.stderr, case.name
        verdict = json.loads(run.stdout)
        assert verdict["status"] != "intact" and verdict["message"], case.name
        if case.name.startswith("sealed-"):
            assert verdict["status"] in ("altered", "invalid"), (case.name, verdict)
        _bounded(run, case.name)
    _report("tessera seal verify", runs)


# ---- through the gateway -----------------------------------------------------------------------


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


@dataclass
class Gateway:
    http: httpx.AsyncClient
    apps: dict[Upstream, FastAPI]
    supplier: dict[str, str]


@pytest.fixture
async def gateway(gateway_db_url: str, service_apps: dict[Upstream, FastAPI]) -> AsyncIterator[Gateway]:
    async with AsyncExitStack() as stack:
        for app in service_apps.values():
            await stack.enter_async_context(running(app))
        transports = {u: httpx.ASGITransport(app=a) for u, a in service_apps.items()}
        http = await stack.enter_async_context(
            gateway_client(settings_for(gateway_db_url), transports=transports)
        )
        _, key = make_key(gateway_db_url, Role.SUPPLIER, supplier_id=SUPPLIER, name="hostile supplier")
        yield Gateway(http, service_apps, {"Authorization": f"Bearer {key}"})


def row_counts(url: str) -> dict[str, int]:
    """Rows in every table of the database at ``url`` (but Alembic's own)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
            return {
                n: connection.execute(select(func.count()).select_from(table(n))).scalar_one() for n in names
            }
    finally:
        engine.dispose()


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


XML = {"Content-Type": "application/xml"}
# Why the documents that are otherwise valid invoices must be refused.
REFUSED_FOR = {
    "xxe-file": "DOCTYPE",
    "billion-laughs": "DOCTYPE",
    "external-dtd": "DOCTYPE",
    "nesting-100000": "nested more than",
    "sealed-tampered-account": "TESSERA-SIGNATURE",
    "sealed-comment-injected": "TESSERA-SIGNATURE",
}


async def _post(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], content: Any
) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await http.post(path, headers={**headers, **XML}, content=content)
    return answer, time.monotonic() - started


def _is_problem(answer: httpx.Response) -> bool:
    return answer.headers.get("content-type", "").startswith("application/problem+json") and bool(
        answer.json().get("detail") or answer.json().get("title")
    )


async def _still_serving(gw: Gateway) -> None:
    listed = await gw.http.get("/v1/invoices", headers=gw.supplier)
    assert listed.status_code == 200, listed.text
    health = await gw.http.post(
        "/v1/invoices/verify", headers={**gw.supplier, **XML}, content=corpus.sample_invoice()
    )
    assert health.status_code == 200 and health.json()["status"] == "unsigned", health.text


async def test_submitting_each_hostile_invoice_is_refused_and_stores_nothing(
    gateway: Gateway, invoicing_settings: Any, canary: Canary
) -> None:
    url = invoicing_settings.resolved_database_url()
    before = row_counts(url)
    runtime = gateway.apps[Upstream.INVOICING].state.runtime
    sealed = runtime.sealer.seal(corpus.sample_invoice()).sealed
    cases = corpus.xml_corpus(canary.url) + corpus.sealed_corpus(sealed)
    slowest = 0.0
    for case in cases:
        answer, seconds = await _post(gateway.http, "/v1/invoices", gateway.supplier, case.data())
        slowest = max(slowest, seconds)
        assert seconds < HTTP_SECONDS, case.name
        if case.benign and answer.status_code in (201, 409):
            # An honest invoice in an odd form may be taken (once: the next copy is a duplicate).
            before = row_counts(url)
            continue
        assert answer.status_code in (413, 415, 422), f"{case.name}: {answer.status_code} {answer.text[:300]}"
        assert _is_problem(answer), case.name
        assert row_counts(url) == before, f"{case.name} left rows behind"
        detail = answer.json()["detail"]
        if case.name in REFUSED_FOR:
            assert REFUSED_FOR[case.name] in detail, (case.name, detail)
        print(f"\n  {case.name}: {answer.status_code} {detail[:110]}", end="")
    await _still_serving(gateway)
    # The same documents without their one hostile change are taken: the refusals above were theirs.
    for honest in (
        corpus.sample_invoice("OK-PLAIN"),
        runtime.sealer.seal(corpus.sample_invoice("OK-SEALED")).sealed,
    ):
        taken, _ = await _post(gateway.http, "/v1/invoices", gateway.supplier, honest)
        assert taken.status_code == 201, taken.text[:500]
    print(f"\nPOST /v1/invoices: {len(cases)} hostile bodies, slowest {slowest:.2f} s")


async def test_a_100_mb_streamed_body_is_refused_early_and_stores_nothing(
    gateway: Gateway, invoicing_settings: Any
) -> None:
    url = invoicing_settings.resolved_database_url()
    before = row_counts(url)
    sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal sent
        for chunk in corpus.huge_chunks():
            sent += len(chunk)
            yield chunk

    peak_before = _peak_mb()
    for path in ("/v1/invoices", "/v1/invoices/verify"):
        sent = 0
        answer, seconds = await _post(gateway.http, path, gateway.supplier, stream())
        assert answer.status_code == 413, (path, answer.status_code, answer.text[:300])
        assert _is_problem(answer)
        assert seconds < HTTP_SECONDS
        # The gateway stops reading at its limit instead of swallowing all 100 MB.
        assert sent < corpus.HUGE_BYTES, path
    declared, _ = await _post(
        gateway.http, "/v1/invoices", {**gateway.supplier, "Content-Length": str(corpus.HUGE_BYTES)}, b""
    )
    assert declared.status_code == 413
    growth = _peak_mb() - peak_before
    assert growth < HTTP_GROWTH_MB, f"peak RSS grew {growth:.0f} MB"
    assert row_counts(url) == before
    await _still_serving(gateway)
    print(f"\n100 MB body: refused after {sent / 2**20:.0f} MB read, peak RSS growth {growth:.0f} MB")


async def test_the_verify_endpoint_never_calls_a_hostile_document_intact(
    gateway: Gateway, invoicing_settings: Any, canary: Canary
) -> None:
    url = invoicing_settings.resolved_database_url()
    before = row_counts(url)
    runtime = gateway.apps[Upstream.INVOICING].state.runtime
    sealed = runtime.sealer.seal(corpus.sample_invoice()).sealed
    good, _ = await _post(gateway.http, "/v1/invoices/verify", gateway.supplier, sealed)
    assert good.status_code == 200 and good.json()["status"] == "intact", good.text
    cases = corpus.xml_corpus(canary.url) + corpus.sealed_corpus(sealed)
    for case in cases:
        answer, seconds = await _post(gateway.http, "/v1/invoices/verify", gateway.supplier, case.data())
        assert seconds < HTTP_SECONDS, case.name
        if answer.status_code == 200:
            verdict = answer.json()
            assert verdict["status"] != "intact" and verdict["message"], (case.name, verdict)
            if case.name.startswith("sealed-"):
                assert verdict["status"] in ("altered", "invalid"), (case.name, verdict)
        else:
            assert answer.status_code in (413, 415, 422), (
                f"{case.name}: {answer.status_code} {answer.text[:300]}"
            )
            assert _is_problem(answer), case.name
    assert row_counts(url) == before
    await _still_serving(gateway)
