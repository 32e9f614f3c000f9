"""Latency at a fixed request rate: an open-loop load generator.

``wrk`` keeps a fixed number of connections busy and sends the next request as soon as the
previous answer arrives, so it measures the most a server can take; its latencies then follow
from Little's law (16 connections at 300 requests/s wait 53 ms on average, whatever the server
does). A target such as "300 payments/s with p99 under 50 ms" asks something else: how long
requests take when they arrive at 300 per second. Here request *i* is due at ``start + i/rate``
and is sent then, on an idle keep-alive connection or a new one, whether or not earlier ones
have been answered; its latency is counted from the moment it was due, so a server that falls
behind shows it in the percentiles instead of silently slowing the sender down.

The requests are rendered to bytes in advance and answers are parsed with ``httptools`` (the
parser uvicorn uses), so the generator costs a few percent of one core at these rates.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

from benchmarks._load import LoadResult, Measured, Prepared, Replicated, Server, Template

# More simultaneous requests than this means the server is far behind; new requests then wait
# for a connection (and that wait counts in their latency).
MAX_CONNECTIONS = 256


def render(work: Template | Prepared, count: int, host: str) -> list[bytes]:
    """``count`` HTTP/1.1 requests, each made unique as the work describes."""
    requests: list[bytes] = []
    if isinstance(work, Template):
        prefix = uuid.uuid4().hex[:10]
        for n in range(count):
            token = f"{prefix}-{n}"
            body = work.body.replace(work.placeholder.encode(), token.encode())
            unique = {k: v.replace(work.placeholder, token) for k, v in work.headers.items()}
            requests.append(_request(work.method, work.path, host, unique, body))
    else:
        if count > len(work.requests):
            raise ValueError(f"{count} requests asked, {len(work.requests)} prepared")
        for body, headers in work.requests[:count]:
            requests.append(_request(work.method, work.path, host, {**work.headers, **headers}, body))
    return requests


def _request(method: str, path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Answer:
    """httptools callbacks: done once the whole response has been read."""

    def __init__(self) -> None:
        self.done = False

    def on_message_complete(self) -> None:
        self.done = True


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def exchange(self, request: bytes) -> tuple[int, bool]:
        """Send one request, read its answer: (status, keep-alive)."""
        self.writer.write(request)
        answer = _Answer()
        parser = httptools.HttpResponseParser(answer)
        while not answer.done:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection mid-answer")
            parser.feed_data(chunk)
        return parser.get_status_code(), parser.should_keep_alive()

    def close(self) -> None:
        self.writer.close()


async def _paced(url: str, requests: list[bytes], rate: float) -> LoadResult:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    idle: list[_Connection] = []
    slots = asyncio.Semaphore(MAX_CONNECTIONS)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0

    async def one(request: bytes, due: float) -> None:
        nonlocal errors
        async with slots:
            connection = idle.pop() if idle else None
            try:
                if connection is None:
                    connection = _Connection(*await asyncio.open_connection(host, port))
                status, keep = await connection.exchange(request)
            except (OSError, ConnectionError, httptools.HttpParserError):
                errors += 1
                if connection is not None:
                    connection.close()
                return
            latencies.append(time.perf_counter() - due)
            statuses[status] += 1
            if keep:
                idle.append(connection)
            else:
                connection.close()

    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05
    for n, request in enumerate(requests):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    for connection in idle:
        connection.close()
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000 if latencies else 0.0

    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        statuses=dict(statuses),
        socket_errors=errors,
        p50_ms=percentile(50),
        p90_ms=percentile(90),
        p99_ms=percentile(99),
        max_ms=latencies[-1] * 1000 if latencies else 0.0,
    )


def paced(url: str, work: Template | Prepared, *, rate: float, seconds: float) -> LoadResult:
    """Send ``rate`` requests per second for ``seconds`` to ``url``; latencies count from when
    each request was due. ``LoadResult.rate`` is the rate of answers over the whole run."""
    import uvloop

    host = urlsplit(url).netloc
    requests = render(work, int(rate * seconds), host)
    return uvloop.run(_paced(url, requests, rate))


def measure_paced(
    url: str,
    work: Template | Prepared,
    servers: Mapping[str, Server | Replicated],
    *,
    rate: float,
    seconds: float,
) -> Measured:
    """:func:`paced`, and the CPU milliseconds per request each of ``servers`` spent meanwhile."""
    before = {name: server.cpu_seconds() for name, server in servers.items()}
    result = paced(url, work, rate=rate, seconds=seconds)
    spent = {name: server.cpu_seconds() - before[name] for name, server in servers.items()}
    return Measured(result, {name: cpu / max(result.requests, 1) * 1000 for name, cpu in spent.items()})


def kept_pace(result: LoadResult, rate: float, status: int) -> bool:
    """Every request answered with ``status`` and the answers kept up with ``rate`` (allowing
    for the last answers, which arrive after the last request is sent)."""
    return result.all_answered(status) and result.rate >= 0.97 * rate
