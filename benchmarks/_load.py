"""What every benchmark shares: HTTP load from ``wrk`` (a C load generator, so the figures are
the servers' and not the client's), scratch PostgreSQL databases, and servers started as real
uvicorn processes.

A Python client caps at about 200 requests/s on a 2-core machine, well below what the servers
answer, so the load comes from ``wrk`` (Debian package ``wrk``) driven by a Lua script written
here for each run. A request is described once by a :class:`Template`; every occurrence of its
``placeholder`` in the body and in header values is replaced by a token unique to the request
(thread number and counter), so each payment carries its own ``Idempotency-Key`` and each
invoice its own number. Requests that cannot be made from a template (a Stripe signature is an
HMAC over the body) come from a :class:`Prepared` list built in Python and read by the script.

The script's ``done`` hook prints one line of counts and percentiles that :func:`load` parses
into a :class:`LoadResult`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get(
    "TESSERA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECONDS = float(os.environ.get("TESSERA_BENCH_SECONDS", "10"))
CONCURRENCY = int(os.environ.get("TESSERA_BENCH_CONCURRENCY", "16"))
THREADS = int(os.environ.get("TESSERA_BENCH_THREADS", "2"))
WRK = os.environ.get("TESSERA_BENCH_WRK", "wrk")
_MARK = "TESSERA-WRK-RESULT"


class LoadError(RuntimeError):
    """``wrk`` is missing, failed, or printed nothing this module can read."""


@dataclass(frozen=True, slots=True)
class Template:
    """One request, made unique per send by replacing ``placeholder`` in body and header values."""

    path: str
    method: str = "POST"
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    placeholder: str = "@@N@@"


@dataclass(frozen=True, slots=True)
class Prepared:
    """Requests built in advance (body and per-request headers), sent in turn, each once; a run
    that needs more than there are sends the first ones again, and says so in ``repeated``."""

    path: str
    requests: Sequence[tuple[bytes, Mapping[str, str]]]
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    seconds: float
    statuses: Mapping[int, int]
    socket_errors: int  # connect, read, write and timeout errors counted by wrk
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    repeated: int = 0  # prepared requests sent a second time

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if not 200 <= code < 300)

    def all_answered(self, status: int) -> bool:
        """Every request answered with ``status``, none failed or repeated."""
        return set(self.statuses) == {status} and not self.socket_errors and not self.repeated

    def answers(self) -> str:
        text = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        if self.socket_errors:
            text += f", socket errors: {self.socket_errors}"
        if self.repeated:
            text += f", repeated: {self.repeated}"
        return text


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal that cannot be closed early by ``text``."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[\n{text}]{eq}]"


def _lua_headers(headers: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()) + "}"


_COMMON_LUA = """
local threads = {}
local counter = 0
setup = function(thread)
  thread:set("id", #threads + 1)
  thread:set("count", 0)
  table.insert(threads, thread)
end
statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
done = function(summary, latency, requests)
  local merged = {}
  local repeated = 0
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for code, n in pairs(counts) do merged[code] = (merged[code] or 0) + n end
    repeated = repeated + (thread:get("repeated") or 0)
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, code .. ":" .. n) end
  local e = summary.errors
  io.write(string.format("%s requests=%d duration_us=%d errors=%d p50=%d p90=%d p99=%d max=%d repeated=%d statuses=%s\\n",
    "MARK", summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    repeated, table.concat(parts, ",")))
end
""".replace("MARK", _MARK)


def _template_lua(template: Template, token_prefix: str) -> str:
    body = template.body.decode("utf-8")
    return f"""
local method = {_lua_string(template.method)}
local path = {_lua_string(template.path)}
local body = {_lua_string(body)}
local headers = {_lua_headers(template.headers)}
local placeholder = {_lua_string(template.placeholder)}
local n = 0
request = function()
  n = n + 1
  local token = "{token_prefix}-" .. id .. "-" .. n
  local h = {{}}
  for k, v in pairs(headers) do h[k] = v:gsub(placeholder, token) end
  local b = nil
  if #body > 0 then b = body:gsub(placeholder, token) end
  return wrk.format(method, path, h, b)
end
""".replace("{token_prefix}", token_prefix)


def _write_prepared(prepared: Prepared, path: Path) -> None:
    """Records: a count of headers, ``name<TAB>value`` lines, the body's length, the body."""
    with path.open("wb") as out:
        out.write(f"{len(prepared.requests)}\n".encode())
        for body, headers in prepared.requests:
            out.write(f"{len(headers)}\n".encode())
            for name, value in headers.items():
                if "\t" in name or "\n" in name + value:
                    raise ValueError(f"header {name!r} cannot be written to the request file")
                out.write(f"{name}\t{value}\n".encode())
            out.write(f"{len(body)}\n".encode() + body)


def _prepared_lua(prepared: Prepared, data_file: Path) -> str:
    return f"""
local method = {_lua_string(prepared.method)}
local path = {_lua_string(prepared.path)}
local common = {_lua_headers(prepared.headers)}
local items = nil
local next_index = nil
repeated = 0
sent = 0
local function load_items()
  local f = assert(io.open({_lua_string(str(data_file))}, "rb"))
  local total = tonumber(f:read("*l"))
  local list = {{}}
  for i = 1, total do
    local h = {{}}
    for k, v in pairs(common) do h[k] = v end
    for _ = 1, tonumber(f:read("*l")) do
      local line = f:read("*l")
      local name, value = line:match("^([^\\t]+)\\t(.*)$")
      h[name] = value
    end
    local b = f:read(tonumber(f:read("*l")))
    list[i] = wrk.format(method, path, h, b)
  end
  f:close()
  return list
end
request = function()
  if items == nil then
    items = load_items()
    next_index = id
  end
  sent = sent + 1
  -- Requests beyond this thread's share of the list go out a second time.
  if sent > math.floor((#items - id) / THREADS) + 1 then repeated = repeated + 1 end
  local r = items[((next_index - 1) % #items) + 1]
  -- Each thread takes every n-th request (n threads), so no two threads send the same one.
  next_index = next_index + THREADS
  return r
end
"""


def require_wrk() -> str:
    found = shutil.which(WRK)
    if found is None:
        raise LoadError(f"wrk is not installed (looked for {WRK!r}): apt-get install wrk")
    return found


_LINE = re.compile(
    rf"{_MARK} requests=(\d+) duration_us=(\d+) errors=(\d+) p50=(\d+) p90=(\d+) p99=(\d+) "
    r"max=(\d+) repeated=(\d+) statuses=([\d:,]*)"
)


def parse_output(output: str) -> LoadResult:
    """The :class:`LoadResult` in what the script's ``done`` hook printed."""
    match = _LINE.search(output)
    if match is None:
        raise LoadError(f"wrk printed no result line:\n{output.strip()[-2000:]}")
    requests, duration, errors, p50, p90, p99, most, repeated = (int(g) for g in match.groups()[:8])
    statuses: dict[int, int] = {}
    for pair in filter(None, match.group(9).split(",")):
        code, _, count = pair.partition(":")
        statuses[int(code)] = statuses.get(int(code), 0) + int(count)
    return LoadResult(
        requests=requests,
        seconds=duration / 1e6,
        statuses=statuses,
        socket_errors=errors,
        p50_ms=p50 / 1000,
        p90_ms=p90 / 1000,
        p99_ms=p99 / 1000,
        max_ms=most / 1000,
        repeated=repeated,
    )


def load(
    url: str,
    work: Template | Prepared,
    *,
    seconds: float = SECONDS,
    connections: int = CONCURRENCY,
    threads: int = THREADS,
) -> LoadResult:
    """Send ``work`` to ``url`` with ``wrk`` for ``seconds`` over ``connections`` keep-alive
    connections and ``threads`` threads."""
    binary = require_wrk()
    threads = min(threads, connections)
    with tempfile.TemporaryDirectory(prefix="tessera-wrk-") as scratch:
        script = Path(scratch) / "load.lua"
        if isinstance(work, Template):
            body = _template_lua(work, uuid.uuid4().hex[:10])
        else:
            data = Path(scratch) / "requests.bin"
            _write_prepared(work, data)
            body = _prepared_lua(work, data).replace("THREADS", str(threads))
        script.write_text(_COMMON_LUA + body)
        command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "30s"]
        command += ["--latency", "-s", str(script), url]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if finished.returncode != 0:
        raise LoadError(f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout}")
    try:
        return parse_output(finished.stdout)
    except LoadError as error:
        raise LoadError(f"{error}\n{finished.stderr.strip()}") from None


def load_average() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def scratch_database(label: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one run, dropped afterwards."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

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


@dataclass(frozen=True, slots=True)
class Server:
    """A server started by :func:`served`: its base URL and its processes' CPU time."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User and system CPU of the server process and its live children (uvicorn's workers)
        so far: the difference across a run, divided by its requests, is a cost per request that
        does not depend on how busy the rest of the machine is."""
        return sum(_process_cpu(pid) for pid in (self.pid, *_children(self.pid)))


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            found += [int(child), *_children(int(child))]
    return found


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:  # exited between listing and reading
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Measured:
    """A load run and the CPU each server spent per request during it."""

    result: LoadResult
    cpu_ms: Mapping[str, float]


def measure(
    url: str,
    work: Template | Prepared,
    servers: Mapping[str, Server | Replicated],
    *,
    seconds: float = SECONDS,
) -> Measured:
    """:func:`load`, and the CPU milliseconds per request each of ``servers`` spent meanwhile."""
    before = {name: server.cpu_seconds() for name, server in servers.items()}
    result = load(url, work, seconds=seconds)
    spent = {name: server.cpu_seconds() - before[name] for name, server in servers.items()}
    return Measured(result, {name: cpu / max(result.requests, 1) * 1000 for name, cpu in spent.items()})


@contextmanager
def served(
    app: str, env: Mapping[str, str], *, factory: bool = True, probe: str = "/healthz", workers: int = 1
) -> Iterator[Server]:
    """``app`` served by a real uvicorn on a free port (``workers`` processes)."""
    import httpx

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", "--workers", str(workers)]
    command += ["--loop", "uvloop", "--http", "httptools"]
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
        yield Server(url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=15)


@dataclass(frozen=True, slots=True)
class Replicated:
    """Replicas of one service, each its own process on its own port: the way a service uses
    several cores behind the gateway (see ``gateway/upstream.py``, ``Replicas``)."""

    servers: tuple[Server, ...]

    @property
    def url(self) -> str:
        """The replicas' URLs, comma-separated, as the gateway's URL setting takes them."""
        return ",".join(server.url for server in self.servers)

    def cpu_seconds(self) -> float:
        return sum(server.cpu_seconds() for server in self.servers)


@contextmanager
def replicated(
    app: str, env: Mapping[str, str], *, count: int, probe: str = "/healthz"
) -> Iterator[Replicated]:
    """``count`` replicas of ``app``, each served by its own uvicorn process."""
    with ExitStack() as stack:
        yield Replicated(tuple(stack.enter_context(served(app, env, probe=probe)) for _ in range(count)))


CPU_NOTE = (
    "CPU ms/request: user+system CPU each server process (with its workers) spent during the row, per "
    "request; PostgreSQL and wrk are not counted. It does not change with the machine's load the way req/s "
    "and latencies do, so it is the figure to compare across runs."
)


def row(name: str, measured: Measured, width: int = 50) -> str:
    result = measured.result
    cpu = ", ".join(f"{server} {ms:.2f}" for server, ms in measured.cpu_ms.items())
    return (
        f"{name:<{width}} {result.rate:>8.1f} {result.p50_ms:>8.2f} {result.p99_ms:>8.2f}  "
        f"{result.answers()}" + (f"; CPU ms/request: {cpu}" if cpu else "")
    )


def header(width: int = 50) -> str:
    return f"{'path':<{width}} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  answers"
