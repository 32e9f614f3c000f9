"""Real Tessera processes for the fault scenarios: the gateway, the three services and stand-alone
outbox relays started as child processes on free 127.0.0.1 ports, each service on its own
PostgreSQL database (created, migrated and dropped here; the gateway's keys on SQLite), plus the
small tools the scenarios need: a TCP proxy that can cut a service off its database, and an HTTP
receiver that records every webhook delivered to it.

Everything is bounded: every wait has a timeout, every process is stopped (and killed when it
does not stop) by :meth:`Suite.close`.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from services.common.identity import PRINCIPAL_HEADER, Principal, Role, encode_principal
from services.common.webhooks import EVENT_ID_HEADER
from tests.dbtools import MigratedDatabases, postgres_required, postgres_unavailable

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "resilience-webhook-secret"
INTERNAL_SECRET = "resilience-internal-secret"
SOAK = os.environ.get("TESSERA_SOAK", "") == "1"

APPS = {
    "gateway": "gateway.app:create_app",
    "invoicing": "services.invoicing.app:create_app",
    "payments": "services.payments.app:create_app",
    "receipts": "services.receipts.app:create_app",
}


def soak(short: int, long: int) -> int:
    """The scenario size: ``long`` under ``TESSERA_SOAK=1`` (``make soak``), else ``short``."""
    return long if SOAK else short


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def require_postgres() -> None:
    reason = postgres_unavailable()
    if reason is not None:
        if postgres_required():
            pytest.fail(reason)
        pytest.skip(reason)


def identity(
    role: Role | str, *, supplier_id: str | None = None, key_id: str | None = None
) -> dict[str, str]:
    """The signed caller identity the gateway would forward, for calling a service directly."""
    principal = Principal(
        key_id=key_id or f"key-{role}", role=Role(role), name=f"resilience {role}", supplier_id=supplier_id
    )
    return {PRINCIPAL_HEADER: encode_principal(principal, INTERNAL_SECRET)}


def wait_until(
    predicate: Callable[[], Any], timeout: float, what: str | Callable[[], str], interval: float = 0.2
) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` (or what it
    returns, computed at the time of failure) after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (httpx.HTTPError, OSError) as error:
            last = error
        time.sleep(interval)
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout} s waiting for {described}: {last!r}")


@dataclass
class Proc:
    """One child process; its output goes to a log file that failures can show."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    health_path: str = "/healthz"
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def start(self, ready_timeout: float = 60) -> Proc:
        self.launch()
        self.wait_ready(ready_timeout)
        return self

    def launch(self) -> None:
        """Start the process without waiting for it to answer (see :func:`start_together`)."""
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        log = self.log_path.open("ab")
        log.write(f"--- start {self.starts + 1} ---\n".encode())
        log.flush()
        self.popen = subprocess.Popen(
            self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.starts += 1

    def wait_ready(self, timeout: float = 60) -> None:
        if self.port is not None:
            wait_until(self._healthy, timeout, lambda: f"{self.name} on port {self.port}\n{self.tail()}")

    def _healthy(self) -> bool:
        if not self.alive:
            raise AssertionError(
                f"{self.name} exited with {self.popen and self.popen.returncode}\n{self.tail()}"
            )
        return httpx.get(f"{self.url}{self.health_path}", timeout=2).status_code == 200

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` (SIGKILL: no clean-up at all) and wait for the process to end."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=15)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def start_together(*procs: Proc, timeout: float = 60) -> None:
    """Launch every process, then wait for each: a restart costs one start-up, not the sum."""
    for proc in procs:
        proc.launch()
    for proc in procs:
        proc.wait_ready(timeout)


@dataclass
class Suite:
    """Processes of one scenario, sharing secrets, a data directory and a set of databases."""

    directory: Path
    databases: MigratedDatabases = field(init=False)
    procs: dict[str, Proc] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.databases = MigratedDatabases(self.directory)

    def database_url(self, section: str) -> str:
        backend = "sqlite" if section == "gateway" else "postgresql"
        url = self.databases.url(section, backend)
        if make_url(url).drivername.startswith("postgresql"):
            return url.replace("postgresql://", "postgresql+psycopg://", 1)
        return url

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env.update(
            TESSERA_ENV="test",
            TESSERA_DATA_DIR=str(self.directory),
            TESSERA_WEBHOOK_SECRETS=WEBHOOK_SECRET,
            TESSERA_INTERNAL_SECRETS=INTERNAL_SECRET,
            TESSERA_LOG_FORMAT="console",
            TESSERA_LOG_LEVEL="WARNING",
        )
        return env

    def service_env(self, service: str, database_url: str | None = None, **settings: str) -> dict[str, str]:
        """Environment of one service (or its relay): its database, quick relay retries, and any
        ``settings`` given as field names (``subscribers=...`` becomes ``TESSERA_PAYMENTS_SUBSCRIBERS``)."""
        prefix = f"TESSERA_{service.upper()}_"
        env = self.base_env()
        values = {
            "database_url": database_url or self.database_url(service),
            "relay_interval_seconds": "0.2",
            "relay_backoff_seconds": "0.2",
            "relay_backoff_cap_seconds": "1",
            "relay_timeout_seconds": "5",
        }
        values.update(settings)
        env.update({prefix + key.upper(): value for key, value in values.items()})
        return env

    def add(self, name: str, argv: list[str], env: dict[str, str], port: int | None) -> Proc:
        if name in self.procs:
            raise ValueError(f"{name} already added")
        proc = Proc(name, argv, env, self.directory / f"{name}.log", port)
        if argv[-1] == APPS["gateway"] or APPS["gateway"] in argv:
            proc.health_path = "/readyz"  # the gateway's /healthz reports on every upstream
        self.procs[name] = proc
        return proc

    def app(self, name: str, app: str, env: dict[str, str], port: int | None = None) -> Proc:
        """A service (or the gateway) under uvicorn; ``app`` is a key of :data:`APPS`."""
        port = port or free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            APPS[app],
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        return self.add(name, argv, env, port)

    def relay(self, name: str, service: str, env: dict[str, str]) -> Proc:
        """``tessera relay SERVICE``, the stand-alone outbox relay."""
        return self.add(name, [sys.executable, "-m", "services.cli", "relay", service], env, None)

    def logs(self) -> str:
        return "\n".join(f"===== {name} =====\n{proc.tail()}" for name, proc in self.procs.items())

    def close(self) -> None:
        """Stop every process at once (SIGTERM, then SIGKILL after 10 s) and drop the databases."""
        running = [proc.popen for proc in self.procs.values() if proc.alive and proc.popen is not None]
        for popen in running:
            popen.terminate()
        deadline = time.monotonic() + 10
        for popen in running:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=10)
        self.databases.close()


def suite_fixture(tmp_path: Path) -> Iterator[Suite]:
    require_postgres()
    suite = Suite(tmp_path)
    try:
        yield suite
    finally:
        suite.close()


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 in a thread: ``cut()`` closes its listener and every connection
    through it (the database has become unreachable), ``restore()`` listens again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._running = True
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._loop, daemon=True, name="tcp-proxy")
        self.connections = 0
        self.restore()
        self._thread.start()

    def _wake(self) -> None:
        self._wake_w.send(b"x")

    def restore(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            listener.setblocking(False)
            self._listener = listener
            self._selector.register(listener, selectors.EVENT_READ, "accept")
        self._wake()

    def cut(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._selector.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for a, b in self._pairs:
                for s in (a, b):
                    with contextlib.suppress(KeyError, ValueError):
                        self._selector.unregister(s)
                    s.close()
            self._pairs.clear()
        self._wake()

    def close(self) -> None:
        self.cut()
        self._running = False
        self._wake()
        self._thread.join(timeout=5)
        self._selector.close()
        self._wake_r.close()
        self._wake_w.close()

    def _loop(self) -> None:
        while self._running:
            for key, _ in self._selector.select(timeout=0.5):
                if key.fileobj is self._wake_r:
                    self._wake_r.recv(4096)
                    continue
                with self._lock:
                    if key.data == "accept" and self._listener is not None:
                        self._accept()
                    elif isinstance(key.data, socket.socket):
                        self._pump(key.fileobj, key.data)  # type: ignore[arg-type]

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=3)
        except OSError:
            client.close()
            return
        client.setblocking(False)
        upstream.setblocking(False)
        self._pairs.append((client, upstream))
        self._selector.register(client, selectors.EVENT_READ, upstream)
        self._selector.register(upstream, selectors.EVENT_READ, client)
        self.connections += 1

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            data = source.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            try:
                sink.setblocking(True)
                sink.sendall(data)
                sink.setblocking(False)
                return
            except OSError:
                pass
        for pair in [p for p in self._pairs if source in p]:
            self._pairs.remove(pair)
            for s in pair:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(s)
                s.close()


class Receiver:
    """An HTTP server on 127.0.0.1 that acknowledges every webhook with 200 and records each
    delivery by its ``Tessera-Event-Id``, so duplicates and losses can be counted."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                event_id = self.headers.get(EVENT_ID_HEADER) or ""
                with receiver.lock:
                    receiver.deliveries[event_id] += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="receiver")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(self.deliveries)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def report(scenario: str, **counts: object) -> None:
    """One line per scenario with what it did and counted (shown with ``pytest -s`` and in failures)."""
    print(f"[{scenario}] " + ", ".join(f"{key}={value}" for key, value in counts.items()), flush=True)


@dataclass
class Keys:
    """Gateway API keys (plaintext) created for a scenario."""

    officer: str
    supplier: str
    service: str

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {getattr(self, role)}"}


SUPPLIER_VAT = "IT01234567890"


def create_gateway_keys(url: str) -> Keys:
    from gateway import service as key_service
    from services.common.db import Database

    database = Database(url)
    try:
        with database.sessionmaker() as session:
            made = {}
            for role, supplier in ((Role.OFFICER, None), (Role.SUPPLIER, SUPPLIER_VAT), (Role.SERVICE, None)):
                _key, plaintext = key_service.create_key(
                    session, name=f"resilience {role}", role=role, supplier_id=supplier
                )
                made[role.value] = plaintext
            session.commit()
    finally:
        database.dispose()
    return Keys(officer=made["officer"], supplier=made["supplier"], service=made["service"])


def start_suite(suite: Suite, *, with_invoicing: bool = True) -> tuple[str, Keys]:
    """Gateway, payments (its outbox delivered by a separate ``tessera relay payments``),
    receipts and (optionally) invoicing; returns the gateway URL and its API keys."""
    ports = {name: free_port() for name in ("gateway", "invoicing", "payments", "receipts")}
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    receipts_hook = f"http://127.0.0.1:{ports['receipts']}/webhooks/events"
    payments_env = suite.service_env(
        "payments", subscribers=receipts_hook, public_url=gateway_url, relay_enabled="false"
    )
    suite.app(
        "receipts", "receipts", suite.service_env("receipts", public_base_url=gateway_url), ports["receipts"]
    )
    suite.app("payments", "payments", payments_env, ports["payments"])
    suite.relay("payments-relay", "payments", payments_env)
    if with_invoicing:
        suite.app("invoicing", "invoicing", suite.service_env("invoicing"), ports["invoicing"])
    gateway_db = suite.database_url("gateway")
    gateway_env = suite.base_env()
    gateway_env.update(
        TESSERA_GATEWAY_DATABASE_URL=gateway_db,
        TESSERA_GATEWAY_INVOICING_URL=f"http://127.0.0.1:{ports['invoicing']}",
        TESSERA_GATEWAY_PAYMENTS_URL=f"http://127.0.0.1:{ports['payments']}",
        TESSERA_GATEWAY_RECEIPTS_URL=f"http://127.0.0.1:{ports['receipts']}",
        # Every call comes from one address and few keys: these scenarios are about faults, and
        # the rate limits (tested on their own) would otherwise throttle the longer runs.
        TESSERA_GATEWAY_RATE_LIMIT_ANONYMOUS="100000",
        TESSERA_GATEWAY_RATE_LIMIT_OFFICER="100000",
    )
    suite.app("gateway", "gateway", gateway_env, ports["gateway"])
    keys = create_gateway_keys(gateway_db)
    start_together(*suite.procs.values())
    return gateway_url, keys
