"""Forwarding a request to the service that answers it.

Every request whose path the route table names (``policy.ROUTES``) is handled here, by
:class:`Proxy`, a plain ASGI handler that the gateway app (``app.GatewayApp``) calls before
FastAPI sees the request. FastAPI keeps the gateway's own endpoints (health, metrics, docs, the
key API) and answers every path no route names.

Why the proxy bypasses FastAPI: every forwarded request paid for FastAPI's routing, dependency
solving and middleware stack (about a third of the gateway's CPU in a profile under load), and
the gateway shares two cores with the services and their database. Without them, and with
aiohttp for the services (``upstream.py``), the gateway's CPU per forwarded request fell from
3.3 to 0.6 ms (``python -m benchmarks payments``, "gateway -> bare endpoint"). So this module
does in one pass what that stack did for these requests, with the same parts:

- the request id: the caller's ``X-Request-Id`` when usable, else a new one
  (``clean_request_id``), bound to log lines, sent to the service and echoed back;
- admission (``admission.Gatekeeper``: key, access, budget) and the ``RateLimit-*`` headers;
- errors rendered by the handlers the FastAPI app registered, so both paths answer alike;
- the request metrics and the ``request`` log line of ``services.common`` (proxied requests keep
  the route label ``/{path:path}``, the template of the catch-all route that used to forward them).

What reaches a service: the body streams through when its length is announced and larger than
``BUFFERED_BYTES`` (within the limit), is read whole when smaller, and is read up to the limit
first when it comes chunked, so an oversized body is refused with a 413 before anything reaches
the service. Hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded in either direction,
nor are the caller's API key, its session cookie or any caller identity it sent: the only
``X-Tessera-Principal`` a service sees is the one the gateway signed.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import FastAPI
from prometheus_client.metrics import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from gateway.admission import BUDGET_STATE, Credentials, Gatekeeper, client_address
from gateway.errors import BodyTooLarge
from gateway.policy import ANY_METHOD, SESSION_COOKIE, Route, find_route
from gateway.settings import GatewaySettings
from gateway.upstream import BUFFERED_BYTES, Answer, Body, Headers, RawHeaders, Upstreams
from services.common.errors import BadRequest
from services.common.health import LATENCY, REQUESTS
from services.common.identity import PRINCIPAL_HEADER, Principal, encode_principal
from services.common.logging import REQUEST_ID_HEADER, clean_request_id, log_request

# Logged by servers such as nginx for a request whose caller went away before the answer.
CLIENT_CLOSED = 499
# The metrics route label of every proxied request (see the module docstring).
METRICS_ROUTE = "/{path:path}"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Headers the gateway sets itself or must not pass on to a service.
_NOT_FORWARDED = frozenset(
    {
        "host",
        "content-length",
        "expect",
        "authorization",
        "x-api-key",
        PRINCIPAL_HEADER.lower(),
        REQUEST_ID_HEADER.lower(),
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
    }
)
# The gateway's server adds its own date and server; the request id is the gateway's to echo.
_NOT_RETURNED = frozenset({"date", "server", REQUEST_ID_HEADER.lower()})

# ASGI header names are lower-case bytes; these sets are compared with them as they come.
_DROPPED_IN = frozenset(name.encode() for name in HOP_BY_HOP | _NOT_FORWARDED)
_DROPPED_OUT = frozenset(name.encode() for name in HOP_BY_HOP | _NOT_RETURNED)
# Request headers the gateway reads: the first of each, as Starlette's ``headers.get`` would,
# except X-Forwarded-For, whose lines are joined.
_READ = frozenset(
    {
        b"authorization",
        b"x-api-key",
        b"connection",
        b"content-length",
        b"transfer-encoding",
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
    }
)
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def _tokens(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",") if name.strip()}


def _without_session(cookie_header: str) -> str:
    """The Cookie header less the session cookie, which holds an API key: the gateway has read it,
    and the services must never see it (they get the signed caller identity instead)."""
    kept = [
        part.strip()
        for part in cookie_header.split(";")
        if part.strip() and part.split("=", 1)[0].strip() != SESSION_COOKIE
    ]
    return "; ".join(kept)


@dataclass(slots=True)
class Incoming:
    """A request's headers, read in one pass: those to forward, and those the gateway reads."""

    forwarded: Headers = field(default_factory=list)
    read: dict[bytes, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)
    undecodable: str | None = None  # a header whose value is not UTF-8 (nor ASCII)

    @classmethod
    def of(cls, scope: Scope) -> Incoming:
        incoming = cls()
        forwarded, read = incoming.forwarded, incoming.read
        for name, raw in scope["headers"]:
            try:
                value = raw.decode()
            except UnicodeDecodeError:
                incoming.undecodable = incoming.undecodable or name.decode("latin-1")
                continue
            if name in _READ:
                if name not in read:
                    read[name] = value
                elif name == b"x-forwarded-for":
                    # One list over all its lines (RFC 9110 section 5.3): a balancer that adds a
                    # line of its own rather than appending to the caller's is still the last.
                    read[name] = f"{read[name]}, {value}"
            if name in _DROPPED_IN:
                continue
            if name == b"cookie":
                incoming.cookies.append(value)
                value = _without_session(value)
                if not value:
                    continue
            forwarded.append((name.decode("latin-1"), value))
        connection = read.get(b"connection")
        if connection is not None:
            # Headers named in Connection are hop-by-hop too.
            listed = _tokens(connection) - HOP_BY_HOP
            if listed:
                incoming.forwarded = [(n, v) for n, v in forwarded if n.lower() not in listed]
        return incoming

    @property
    def credentials(self) -> Credentials:
        read = self.read
        return Credentials(
            authorization=read.get(b"authorization"),
            api_key=read.get(b"x-api-key"),
            cookies=tuple(self.cookies),
        )


def upstream_target(scope: Scope) -> str:
    """Path and query exactly as the caller sent them (still percent-encoded; bytes outside
    ASCII, which a conforming client never sends raw, are percent-encoded as they are)."""
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    if query:
        raw = raw + b"?" + query
    if not raw.isascii():
        raw = _NON_ASCII.sub(lambda m: b"%%%02X" % m.group()[0], raw)
    return raw.decode("ascii")


def public_location(location: str, origin: str) -> str:
    """A redirect a service built from its own address (Starlette's trailing-slash redirect uses
    the Host it was called with) would send the caller around the gateway to an internal
    address: it becomes a path on the gateway."""
    if location == origin or location.startswith((origin + "/", origin + "?")):
        return location[len(origin) :] or "/"
    return location


async def read_body(receive: Receive, incoming: Incoming, *, limit: int) -> tuple[Body, int | None]:
    """The body to forward and its length, refusing one larger than ``limit`` bytes before
    sending anything."""
    declared = incoming.read.get(b"content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError as error:
            raise BadRequest(f"Content-Length is not a number: {declared!r}") from error
        if length < 0:
            raise BadRequest(f"Content-Length is negative: {declared!r}")
        if length > limit:
            raise BodyTooLarge(
                f"The request body has {length} bytes; the gateway forwards at most {limit}", limit=limit
            )
        if length == 0:
            return None, 0
        if length <= BUFFERED_BYTES:
            # Small bodies (nearly all API calls) are read whole: cheaper than streaming them.
            return await _whole(receive), length
        return _limited(_chunks(receive), limit), length
    if "chunked" not in incoming.read.get(b"transfer-encoding", "").lower():
        return None, None
    buffered = bytearray()
    async for chunk in _chunks(receive):
        buffered.extend(chunk)
        if len(buffered) > limit:
            raise BodyTooLarge(
                f"The request body is larger than {limit} bytes, the most the gateway forwards", limit=limit
            )
    return bytes(buffered), len(buffered)


async def _whole(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes")
        yield chunk


class Signer:
    """``X-Tessera-Principal`` values. The header names the second it was made in, so a caller's
    value is made once per second and reused within it (signing costs more than the rest of
    the header work together)."""

    def __init__(self, secret: str, *, max_entries: int = 10_000) -> None:
        self._secret = secret
        self._max_entries = max_entries
        self._made: dict[Principal, tuple[int, str]] = {}

    def __call__(self, principal: Principal) -> str:
        now = int(time.time())
        made = self._made.get(principal)
        if made is not None and made[0] == now:
            return made[1]
        value = encode_principal(principal, self._secret, now=now)
        if len(self._made) >= self._max_entries:
            self._made.clear()
        self._made[principal] = (now, value)
        return value


ErrorHandler = Callable[[Request, Any], Response | Awaitable[Response]]


class Proxy:
    """The forwarding handler, built in the gateway's lifespan."""

    def __init__(
        self,
        app: FastAPI,
        settings: GatewaySettings,
        *,
        routes: tuple[Route, ...],
        gatekeeper: Gatekeeper,
        upstreams: Upstreams,
    ) -> None:
        self.app = app
        self.routes = routes
        self.gatekeeper = gatekeeper
        self.upstreams = upstreams
        self.max_body_bytes = settings.max_body_bytes
        self.trust_forwarded = settings.trust_forwarded_headers
        self.sign = Signer(settings.internal_secret_list[0])
        self.service = "gateway"
        self._metrics: dict[tuple[str, int], tuple[Histogram, Counter]] = {}

    def route_for(self, scope: Scope) -> Route | None:
        """The route of an HTTP request this handler forwards; ``None`` leaves it to FastAPI
        (including methods no route accepts, which FastAPI answers with a 405)."""
        if scope["type"] != "http" or scope["method"] not in ANY_METHOD:
            return None
        return find_route(scope["path"], self.routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        started = time.perf_counter()
        incoming = Incoming.of(scope)
        request_id = clean_request_id(incoming.read.get(b"x-request-id"))
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            status = await self._exchange(scope, receive, send, route, incoming, request_id)
            self._record(scope["method"], status, time.perf_counter() - started)
            log_request(scope["method"], scope["path"], status)
        finally:
            structlog.contextvars.reset_contextvars(**bound)

    async def _exchange(
        self, scope: Scope, receive: Receive, send: Send, route: Route, incoming: Incoming, request_id: str
    ) -> int:
        """Admit, forward and answer; the status sent."""
        state: dict[str, Any] = scope["state"]
        echo = (b"x-request-id", request_id.encode("latin-1"))
        client = self.upstreams[route.upstream]
        try:
            if incoming.undecodable is not None:
                raise BadRequest(f"The {incoming.undecodable} header is neither ASCII nor UTF-8")
            peer = scope["client"][0] if scope.get("client") else "unknown"
            caller = await self.gatekeeper.admit(
                method=scope["method"],
                path=scope["path"],
                route=route,
                credentials=incoming.credentials,
                address=client_address(
                    peer, incoming.read.get(b"x-forwarded-for"), trust_forwarded=self.trust_forwarded
                ),
                state=state,
            )
            body, length = await read_body(receive, incoming, limit=self.max_body_bytes)
            headers = self._upstream_headers(scope, incoming, peer, caller.principal, request_id)
            if length is not None and body is not None:
                headers.append(("Content-Length", str(length)))
            answer = await client.send(scope["method"], upstream_target(scope), headers, body)
        except ClientDisconnect:
            # The caller hung up while sending its body: nobody is left to answer, and the service
            # saw an unfinished request it does not act on (or none at all).
            await self._start(send, CLIENT_CLOSED, [(b"content-length", b"0")], state, echo)
            await send({"type": "http.response.body", "body": b""})
            return CLIENT_CLOSED
        except Exception as error:
            handler = self._error_handler(error)
            if handler is None:
                raise
            response = handler(Request(scope, receive), error)
            if inspect.isawaitable(response):
                response = await response
            rendered = [(k, v) for k, v in response.raw_headers if k != echo[0]]
            await self._start(send, response.status_code, rendered, state, echo)
            await send({"type": "http.response.body", "body": response.body})
            return response.status_code
        await self._start(send, answer.status, self._returned_headers(answer, answer.origin), state, echo)
        if answer.body is not None:
            await send({"type": "http.response.body", "body": answer.body})
        else:
            await _stream_back(receive, send, answer)
        return answer.status

    def _upstream_headers(
        self, scope: Scope, incoming: Incoming, peer: str, principal: Principal | None, request_id: str
    ) -> Headers:
        headers = incoming.forwarded
        read = incoming.read
        trusted = self.trust_forwarded
        incoming_for = read.get(b"x-forwarded-for") if trusted else None
        headers.append(("X-Forwarded-For", f"{incoming_for}, {peer}" if incoming_for else peer))
        headers.append(
            (
                "X-Forwarded-Proto",
                (read.get(b"x-forwarded-proto") if trusted else None) or scope.get("scheme", "http"),
            )
        )
        host = (read.get(b"x-forwarded-host") if trusted else None) or read.get(b"host")
        if host:
            headers.append(("X-Forwarded-Host", host))
        headers.append((REQUEST_ID_HEADER, request_id))
        if principal is not None:
            headers.append((PRINCIPAL_HEADER, self.sign(principal)))
        return headers

    @staticmethod
    def _returned_headers(answer: Answer, origin: str) -> RawHeaders:
        dropped = _DROPPED_OUT
        listed = [value for name, value in answer.headers if name.lower() == b"connection"]
        if listed:
            dropped = dropped | {n.encode() for v in listed for n in _tokens(v.decode("latin-1"))}
        returned: RawHeaders = []
        for name, value in answer.headers:
            lowered = name.lower()
            if lowered in dropped:
                continue
            if lowered == b"location":
                value = public_location(value.decode("latin-1"), origin).encode("latin-1")
            returned.append((lowered, value))
        return returned

    @staticmethod
    async def _start(
        send: Send, status: int, headers: RawHeaders, state: dict[str, Any], echo: tuple[bytes, bytes]
    ) -> None:
        """The answer's start: its headers, the budget the request spent (unless the answer
        states its own), and the request id."""
        budget: dict[str, str] | None = state.get(BUDGET_STATE)
        if budget:
            present = {name for name, _ in headers}
            for name, value in budget.items():
                lowered = name.lower().encode("latin-1")
                if lowered not in present:
                    headers.append((lowered, value.encode("latin-1")))
        headers.append(echo)
        await send({"type": "http.response.start", "status": status, "headers": headers})

    def _error_handler(self, error: Exception) -> ErrorHandler | None:
        """The handler the FastAPI app registered for ``error`` (looked up along its classes, as
        Starlette does), or ``None`` for an error nothing handles, which propagates."""
        handlers = self.app.exception_handlers
        for cls in type(error).__mro__:
            handler = handlers.get(cls)
            if handler is not None:
                return handler
        return None

    def _record(self, method: str, status: int, seconds: float) -> None:
        children = self._metrics.get((method, status))
        if children is None:
            children = (
                LATENCY.labels(self.service, method, METRICS_ROUTE),
                REQUESTS.labels(self.service, method, METRICS_ROUTE, str(status)),
            )
            self._metrics[(method, status)] = children
        children[0].observe(seconds)
        children[1].inc()


async def _stream_back(receive: Receive, send: Send, answer: Answer) -> None:
    """A large or unannounced answer, passed on as it arrives until it ends or the caller goes
    away (uvicorn accepts writes to a closed connection silently, so the caller's disconnect is
    watched for, as Starlette's ``StreamingResponse`` does)."""
    assert answer.stream is not None
    stream = answer.stream

    async def pump() -> None:
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def watch() -> None:
        message: Message = await receive()
        while message["type"] != "http.disconnect":
            message = await receive()

    pumping, watching = asyncio.ensure_future(pump()), asyncio.ensure_future(watch())
    try:
        await asyncio.wait((pumping, watching), return_when=asyncio.FIRST_COMPLETED)
    finally:
        pumping.cancel()
        watching.cancel()
        await asyncio.gather(pumping, watching, return_exceptions=True)
        await answer.close()
    if not pumping.cancelled() and pumping.exception() is not None:
        raise pumping.exception()  # type: ignore[misc]
