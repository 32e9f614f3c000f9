"""The gateway's HTTP clients of the three services.

On the network each service has one ``aiohttp`` session (:class:`NetworkClient`). aiohttp is
here for its cost: forwarding a small JSON request to a bare endpoint with 16 requests in
flight took 0.28 ms of client CPU per request with aiohttp, against 2.1 ms with an ``httpcore``
pool and 3.5 ms through ``httpx.AsyncClient`` (measured on the 2-core development machine).
httpcore's pool looks over every connection it keeps, and polls each idle socket, whenever a
request starts or ends; aiohttp parses in C and keeps its idle connections in a queue per host.

A service can instead be reached through any ``httpx`` transport (:class:`TransportClient`):
the tests put ``httpx.ASGITransport`` around the real service apps, in process.

aiohttp sends an idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) once more, on a new
connection, when the kept-alive one it was sent on turns out to have been closed by the service
(as RFC 9112 section 9.3.1 allows); any other failure is the caller's answer.

Both clients answer with an :class:`Answer` whose body is read whole when the service announced
at most ``BUFFERED_BYTES`` (nearly every API answer: cheaper than streaming it), and streamed
otherwise. Their failures become the gateway's own errors: 504 when the service did not answer
in time, 502 when it could not be reached or broke off the exchange. Neither client keeps
cookies: they are shared by every caller, so a cookie a service sets for one caller must go back
to that caller only, never be kept and sent on behalf of the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx
import structlog
from yarl import URL

from gateway.errors import UpstreamRefused, UpstreamTimeout, UpstreamUnreachable
from gateway.policy import Upstream
from gateway.settings import GatewaySettings

# Bodies up to this size are read whole instead of streamed, in both directions: streaming costs
# a task and several awaits per request, worth it only for large uploads and downloads.
BUFFERED_BYTES = 1 << 20
# Connections per service and gateway process; a request beyond them waits for a free one (as
# long as ``upstream_timeout``) rather than opening more against a service that is already busy.
CONNECTIONS_PER_SERVICE = 100
# An idle connection is dropped after this many seconds, before uvicorn (the services' server)
# drops its end after 5: a request sent on a connection the service is closing would be lost.
IDLE_SECONDS = 4.0
# Longest status or header line accepted from a service (aiohttp's default is 8 KiB; h11, which
# the gateway used before, accepted 100 KiB for the whole head).
MAX_HEADER_LINE = 64 * 1024

log = structlog.get_logger("tessera.gateway")

Headers = list[tuple[str, str]]
RawHeaders = list[tuple[bytes, bytes]]
Body = bytes | AsyncIterator[bytes] | None


@dataclass(slots=True)
class Answer:
    """A service's answer: status, headers as received, and either the whole ``body`` or a
    ``stream`` of it. ``close`` releases the connection (after the stream was read or given up)."""

    status: int
    headers: RawHeaders
    body: bytes | None
    stream: AsyncIterator[bytes] | None
    close: Callable[[], Awaitable[None]]
    origin: str  # scheme://host[:port] of the replica that answered, as its own redirects name it


class UpstreamClient(Protocol):
    base_url: str  # where requests go: the service's base URL, without a trailing slash
    origin: str  # scheme://host[:port] of the service, as its own redirects name it

    async def send(self, method: str, target: str, headers: Headers, body: Body) -> Answer:
        """Send a request (``target`` is the path and query, still percent-encoded)."""
        ...

    async def get(self, path: str, *, timeout: float) -> tuple[int, bytes]:
        """Status and body of a small ``GET`` (readiness, OpenAPI documents)."""
        ...

    async def aclose(self) -> None: ...


def _origin(base_url: str) -> str:
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


def _small(headers: RawHeaders) -> bool:
    for name, value in headers:
        if name.lower() == b"content-length":
            return value.isdigit() and int(value) <= BUFFERED_BYTES
    return False


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Failures:
    """The gateway's errors for one service's failures, worded alike whichever client met them."""

    upstream: Upstream
    timeout: float

    def timed_out(self) -> UpstreamTimeout:
        name = self.upstream.value
        return UpstreamTimeout(f"The {name} service did not answer within {self.timeout:g} s", service=name)

    def unreachable(self) -> UpstreamRefused:
        name = self.upstream.value
        return UpstreamRefused(
            f"The {name} service could not be reached (connection refused or failed)", service=name
        )

    def broke_off(self, error: BaseException, *, answering: bool) -> UpstreamUnreachable:
        name, what = self.upstream.value, "its answer" if answering else "the exchange"
        return UpstreamUnreachable(
            f"The {name} service broke off {what}: {type(error).__name__}", service=name
        )


class NetworkClient:
    """One service over HTTP/1.1 with aiohttp: a pool of keep-alive connections, the service's
    base URL, and the gateway's timeouts (``connect_timeout`` to connect, ``upstream_timeout``
    to get a connection and between any two reads of the answer)."""

    def __init__(self, upstream: Upstream, base_url: str, settings: GatewaySettings) -> None:
        self.upstream = upstream
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(base_url)
        self._failures = _Failures(upstream, settings.upstream_timeout)
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=settings.upstream_timeout,
            sock_connect=settings.connect_timeout,
            sock_read=settings.upstream_timeout,
        )
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=CONNECTIONS_PER_SERVICE, limit_per_host=0, keepalive_timeout=IDLE_SECONDS
            ),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
            # The caller's headers go through as they came: aiohttp adds none of its own (Accept,
            # Accept-Encoding, User-Agent, a default Content-Type), only Host and Content-Length.
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
            # The bytes the service sent, still compressed if it compressed them.
            auto_decompress=False,
            trust_env=False,
            max_line_size=MAX_HEADER_LINE,
            max_field_size=MAX_HEADER_LINE,
        )

    async def send(self, method: str, target: str, headers: Headers, body: Body) -> Answer:
        # ``encoded=True``: the path goes out exactly as the caller percent-encoded it.
        url = URL(self.base_url + target, encoded=True)
        try:
            # aiohttp times the service's answer only once the whole body is sent: a service
            # that stops reading a streamed upload is timed here, chunk by chunk.
            async with asyncio.timeout(None) as sending:
                data = body if body is None or isinstance(body, bytes) else self._timed(body, sending)
                response = await self._session.request(
                    method, url, headers=headers, data=data, allow_redirects=False
                )
        except aiohttp.ClientError as error:
            relayed = _relayed(error)
            if relayed is not None:
                raise relayed from None
            raise self._failure(error) from error
        except TimeoutError as error:
            raise self._failure(error) from error
        raw = list(response.raw_headers)
        if not _small(raw):
            return Answer(
                response.status, raw, None, self._stream(response), self._closer(response), self.origin
            )
        try:
            content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as error:
            response.close()
            raise self._failure(error, answering=True) from error
        return Answer(response.status, raw, content, None, _nothing, self.origin)

    async def _timed(self, body: AsyncIterator[bytes], sending: asyncio.Timeout) -> AsyncIterator[bytes]:
        """``body`` as aiohttp takes it, each chunk given ``upstream_timeout`` to be written to
        the service (aiohttp asks for the next chunk once the last one went out). The wait for
        the caller's next chunk is not timed here: a slow caller is not the service's failure."""
        loop = asyncio.get_running_loop()
        try:
            async for chunk in body:
                sending.reschedule(loop.time() + self._failures.timeout)
                yield chunk
                sending.reschedule(None)
        finally:
            if not sending.expired():
                with contextlib.suppress(RuntimeError):  # the request already ended
                    sending.reschedule(None)

    async def _stream(self, response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as error:
            raise self._failure(error, answering=True) from error

    @staticmethod
    def _closer(response: aiohttp.ClientResponse) -> Callable[[], Awaitable[None]]:
        async def close() -> None:
            # Back to the pool when the answer was read to its end, closed otherwise.
            if response.content.at_eof():
                response.release()
            else:
                response.close()

        return close

    def _failure(
        self, error: BaseException, *, answering: bool = False
    ) -> UpstreamTimeout | UpstreamUnreachable:
        # aiohttp's timeouts (connecting, waiting for a connection, reading) are TimeoutErrors.
        if isinstance(error, TimeoutError):
            return self._failures.timed_out()
        if isinstance(error, aiohttp.ClientConnectorError):
            return self._failures.unreachable()
        return self._failures.broke_off(error, answering=answering)

    async def get(self, path: str, *, timeout: float) -> tuple[int, bytes]:
        try:
            async with self._session.get(
                self.base_url + path, timeout=aiohttp.ClientTimeout(total=timeout), allow_redirects=False
            ) as response:
                return response.status, await response.read()
        except aiohttp.ClientError as error:
            raise self._failure(error) from error
        except TimeoutError as error:
            raise self._failure(error) from error

    async def aclose(self) -> None:
        await self._session.close()


class TransportClient:
    """One service through an ``httpx`` transport (``httpx.ASGITransport`` in the tests)."""

    def __init__(
        self, upstream: Upstream, base_url: str, transport: httpx.AsyncBaseTransport, timeout: float
    ) -> None:
        self.upstream = upstream
        self.base_url = base_url.rstrip("/")
        self.origin = _origin(base_url)
        self._failures = _Failures(upstream, timeout)
        self._transport = transport
        self._timeouts = httpx.Timeout(timeout).as_dict()

    async def send(self, method: str, target: str, headers: Headers, body: Body) -> Answer:
        request = httpx.Request(
            method,
            self.base_url + target,
            headers=[(k.encode("ascii"), v.encode()) for k, v in headers],
            content=body,
            extensions={"timeout": self._timeouts},
        )
        try:
            response = await self._transport.handle_async_request(request)
        except httpx.TransportError as error:
            raise self._failure(error) from error
        raw = list(response.headers.raw)
        if not _small(raw):
            return Answer(
                response.status_code, raw, None, self._stream(response), response.aclose, self.origin
            )
        try:
            content = b"".join([chunk async for chunk in response.aiter_raw()])
        except httpx.TransportError as error:
            raise self._failure(error, answering=True) from error
        finally:
            await response.aclose()
        return Answer(response.status_code, raw, content, None, _nothing, self.origin)

    async def _stream(self, response: httpx.Response) -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        except httpx.TransportError as error:
            raise self._failure(error, answering=True) from error

    def _failure(
        self, error: httpx.TransportError, *, answering: bool = False
    ) -> UpstreamTimeout | UpstreamUnreachable:
        if isinstance(error, httpx.TimeoutException):
            return self._failures.timed_out()
        if isinstance(error, httpx.ConnectError):
            return self._failures.unreachable()
        return self._failures.broke_off(error, answering=answering)

    async def get(self, path: str, *, timeout: float) -> tuple[int, bytes]:
        request = httpx.Request(
            "GET", self.base_url + path, extensions={"timeout": httpx.Timeout(timeout).as_dict()}
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                return response.status_code, b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.TransportError as error:
            raise self._failure(error) from error

    async def aclose(self) -> None:
        await self._transport.aclose()


def _relayed(error: aiohttp.ClientError) -> BaseException | None:
    """An error the request body raised while aiohttp was sending it (the caller hung up, or sent
    more than allowed), which aiohttp wraps: it is the caller's failure, not the service's, and
    is raised as itself."""
    cause = error.__cause__
    while cause is not None:
        if not isinstance(cause, (aiohttp.ClientError, OSError)):
            return cause
        cause = cause.__cause__
    return None


class Replicas:
    """Several replicas of one service, each with its own client, taken in turn.

    Replicas are separate processes (or hosts) listed in the service's URL setting. They are
    what spreads a busy service over cores: the gateway keeps a pool of long-lived connections
    to each service, and behind one address served by ``uvicorn --workers N`` those connections
    are accepted in a burst by whichever worker wakes first, which then gets nearly every
    request (measured: one of two workers did 99.9% of the work).

    A replica that refuses a connection (stopped, restarting, its host gone) has not seen the
    request, so the next replica takes it, whatever its method; the refusing one is then passed
    over for ``rest_seconds`` and tried again after that with the next request dealt to it. Only
    when every replica refuses is the caller answered 502. A failure after the request was sent
    (a timeout, a connection broken off) is the caller's answer: sending it again could do twice
    what the service did once.
    """

    def __init__(self, clients: list[UpstreamClient], *, rest_seconds: float = 5.0) -> None:
        self.clients = clients
        self.base_url = clients[0].base_url
        self.origin = clients[0].origin
        self.rest_seconds = rest_seconds
        self._next = 0
        self._resting: dict[int, float] = {}  # replica index -> monotonic time it is tried again

    def _order(self) -> list[int]:
        """The replicas to try for one request: from the next in turn, the resting ones last."""
        count = len(self.clients)
        start, self._next = self._next, (self._next + 1) % count
        order = [(start + n) % count for n in range(count)]
        if not self._resting:
            return order
        now = time.monotonic()
        for index, until in list(self._resting.items()):
            if until <= now:
                del self._resting[index]
                log.info("replica tried again", service=self.clients[index].base_url)
        return sorted(order, key=lambda index: index in self._resting)

    async def send(self, method: str, target: str, headers: Headers, body: Body) -> Answer:
        refused: UpstreamRefused | None = None
        for index in self._order():
            try:
                answer = await self.clients[index].send(method, target, headers, body)
            except UpstreamRefused as error:
                refused = error
                if index not in self._resting:
                    log.warning(
                        "replica refused a connection: passed over",
                        service=self.clients[index].base_url,
                        seconds=self.rest_seconds,
                    )
                self._resting[index] = time.monotonic() + self.rest_seconds
                continue
            self._resting.pop(index, None)
            return answer
        assert refused is not None  # noqa: S101  (there is at least one replica)
        raise refused

    async def get(self, path: str, *, timeout: float) -> tuple[int, bytes]:
        """The first replica's answer that is a 200, else the last answer or failure."""
        failure: UpstreamTimeout | UpstreamUnreachable | None = None
        answer: tuple[int, bytes] | None = None
        for client in self.clients:
            try:
                answer = await client.get(path, timeout=timeout)
            except (UpstreamTimeout, UpstreamUnreachable) as error:
                failure = error
                continue
            if answer[0] == 200:
                return answer
        if answer is not None:
            return answer
        assert failure is not None  # noqa: S101  (there is at least one replica)
        raise failure

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients))


class Upstreams:
    """The clients of the three services, owned by the gateway's lifespan. ``transports``
    replaces the network for some services."""

    def __init__(
        self,
        settings: GatewaySettings,
        transports: Mapping[Upstream, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        urls = settings.upstream_urls()
        self.health_timeout = settings.health_timeout
        self.clients: dict[Upstream, UpstreamClient] = {}
        for upstream in Upstream:
            transport = transports.get(upstream)
            clients: list[UpstreamClient] = [
                NetworkClient(upstream, url, settings)
                if transport is None
                else TransportClient(upstream, url, transport, settings.upstream_timeout)
                for url in urls[upstream.value]
            ]
            self.clients[upstream] = (
                clients[0]
                if len(clients) == 1
                else Replicas(clients, rest_seconds=settings.replica_rest_seconds)
            )

    def __getitem__(self, upstream: Upstream) -> UpstreamClient:
        return self.clients[upstream]

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))


async def service_readiness(upstreams: Upstreams) -> dict[str, str]:
    """Each service's ``/readyz`` answer, in a word: ok, not_ready, timeout or unreachable."""

    async def one(upstream: Upstream) -> str:
        try:
            status, _ = await upstreams[upstream].get("/readyz", timeout=upstreams.health_timeout)
        except UpstreamTimeout:
            return "timeout"
        except UpstreamUnreachable:
            return "unreachable"
        return "ok" if status == 200 else "not_ready"

    results = await asyncio.gather(*(one(u) for u in Upstream))
    return {u.value: r for u, r in zip(Upstream, results, strict=True)}
