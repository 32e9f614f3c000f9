"""Forwarding a request to the service that answers it, and asking the services if they are
ready.

One ``httpx.AsyncClient`` per service, built in ``lifespan`` with the service's base URL and
timeouts; tests pass their own transports (``httpx.ASGITransport`` around the real service
apps). The request body streams through when its length is announced and within the limit,
and is read up to the limit first when it comes chunked, so an oversized body is refused with
a 413 before anything reaches the service. Hop-by-hop headers (RFC 9110 section 7.6.1) are not
forwarded in either direction, nor are the caller's API key or any caller identity it sent:
the only ``X-Tessera-Principal`` a service sees is the one the gateway signed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse

from gateway.errors import BodyTooLarge, UpstreamTimeout, UpstreamUnreachable
from gateway.policy import SESSION_COOKIE, Upstream
from gateway.settings import GatewaySettings
from services.common.errors import BadRequest
from services.common.identity import PRINCIPAL_HEADER, Principal, encode_principal
from services.common.logging import REQUEST_ID_HEADER

# Logged by servers such as nginx for a request whose caller went away before the answer.
CLIENT_CLOSED = 499
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
# Bodies up to this size are read whole instead of streamed, in both directions: streaming costs
# a task and several awaits per request, worth it only for large uploads and downloads.
BUFFERED_BYTES = 1 << 20
# The gateway's server adds its own; passing the service's would duplicate them.
_NOT_RETURNED = frozenset({"date", "server"})


def _connection_listed(headers: Mapping[str, str]) -> set[str]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    return {name.strip().lower() for name in headers.get("connection", "").split(",") if name.strip()}


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing. The clients are shared by every caller: a cookie a service sets
    for one caller must go back to that caller only, never be kept and sent on behalf of the next
    one. (Keeping none also spares parsing every ``Set-Cookie`` into the jar.)"""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


# Clients per service. httpcore's pool looks over all its connections, and over them all again
# for each idle one, whenever a request starts or ends: a cost that grows with the square of the
# connections a busy gateway keeps open. Requests spread over a few clients keep each pool small.
POOL_SHARDS = 4


class Upstreams:
    """The HTTP clients of the three services, owned by the gateway's lifespan."""

    def __init__(
        self,
        settings: GatewaySettings,
        transports: Mapping[Upstream, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        transports = transports or {}
        timeout = httpx.Timeout(settings.upstream_timeout, connect=settings.connect_timeout)
        self.timeout = settings.upstream_timeout
        self.health_timeout = settings.health_timeout
        urls = settings.upstream_urls()
        self.shards: dict[Upstream, tuple[httpx.AsyncClient, ...]] = {
            upstream: tuple(
                httpx.AsyncClient(
                    base_url=urls[upstream.value],
                    timeout=timeout,
                    transport=transports.get(upstream),
                    follow_redirects=False,
                    trust_env=False,
                    cookies=_no_cookies(),
                )
                for _ in range(POOL_SHARDS)
            )
            for upstream in Upstream
        }
        self._turn = itertools.count()

    def __getitem__(self, upstream: Upstream) -> httpx.AsyncClient:
        """One of the service's clients, in turn."""
        clients = self.shards[upstream]
        return clients[next(self._turn) % len(clients)]

    async def aclose(self) -> None:
        await asyncio.gather(*(c.aclose() for clients in self.shards.values() for c in clients))


def client_address(request: Request, *, trust_forwarded: bool) -> str:
    """The caller's address: the TCP peer, or behind a trusted load balancer the last
    X-Forwarded-For entry, the one that balancer appended (entries before it come from the
    client and can be anything)."""
    if trust_forwarded:
        last = request.headers.get("x-forwarded-for", "").split(",")[-1].strip()
        if last:
            return last
    return request.client.host if request.client else "unknown"


def _without_session(cookie_header: str) -> str:
    """The Cookie header less the session cookie, which holds an API key: the gateway has read it,
    and the services must never see it (they get the signed caller identity instead)."""
    kept = [
        part.strip()
        for part in cookie_header.split(";")
        if part.strip() and part.split("=", 1)[0].strip() != SESSION_COOKIE
    ]
    return "; ".join(kept)


def upstream_headers(
    request: Request, *, principal: Principal | None, secret: str, trust_forwarded: bool
) -> list[tuple[str, str]]:
    dropped = HOP_BY_HOP | _NOT_FORWARDED | _connection_listed(request.headers)
    headers = []
    for name, value in request.headers.items():
        lowered = name.lower()
        if lowered in dropped:
            continue
        if lowered == "cookie":
            value = _without_session(value)
            if not value:
                continue
        headers.append((name, value))
    peer = request.client.host if request.client else "unknown"
    incoming_for = request.headers.get("x-forwarded-for") if trust_forwarded else None
    forwarded_proto = request.headers.get("x-forwarded-proto") if trust_forwarded else None
    forwarded_host = request.headers.get("x-forwarded-host") if trust_forwarded else None
    headers.append(("X-Forwarded-For", f"{incoming_for}, {peer}" if incoming_for else peer))
    headers.append(("X-Forwarded-Proto", forwarded_proto or request.url.scheme))
    host = forwarded_host or request.headers.get("host")
    if host:
        headers.append(("X-Forwarded-Host", host))
    headers.append((REQUEST_ID_HEADER, str(request.state.request_id)))
    if principal is not None:
        headers.append((PRINCIPAL_HEADER, encode_principal(principal, secret)))
    return headers


@dataclass(frozen=True, slots=True)
class Body:
    content: bytes | AsyncIterator[bytes] | None
    length: int | None


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit:
            raise BodyTooLarge(f"The request body is larger than {limit} bytes")
        yield chunk


async def read_body(request: Request, *, limit: int) -> Body:
    """The body to forward, refusing one larger than ``limit`` bytes before sending anything."""
    declared = request.headers.get("content-length")
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
            return Body(content=None, length=0)
        if length <= BUFFERED_BYTES:
            # Small bodies (nearly all API calls) are read whole: cheaper than streaming them.
            return Body(content=await request.body(), length=length)
        return Body(content=_limited(request.stream(), limit), length=length)
    if "chunked" not in request.headers.get("transfer-encoding", "").lower():
        return Body(content=None, length=None)
    buffered = bytearray()
    async for chunk in request.stream():
        buffered.extend(chunk)
        if len(buffered) > limit:
            raise BodyTooLarge(
                f"The request body is larger than {limit} bytes, the most the gateway forwards", limit=limit
            )
    return Body(content=bytes(buffered), length=len(buffered))


def upstream_target(request: Request) -> str:
    """Path and query exactly as the caller sent them (still percent-encoded)."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


def public_location(location: str, upstream_url: httpx.URL) -> str:
    """A redirect a service built from its own address (Starlette's trailing-slash redirect uses
    the Host it was called with) would send the caller around the gateway to an internal
    address: it becomes a path on the gateway."""
    origin = f"{upstream_url.scheme}://{upstream_url.netloc.decode('ascii')}"
    if location == origin or location.startswith((origin + "/", origin + "?")):
        return location[len(origin) :] or "/"
    return location


async def forward(
    request: Request,
    *,
    upstreams: Upstreams,
    upstream: Upstream,
    principal: Principal | None,
    settings: GatewaySettings,
) -> Response:
    try:
        return await _forward(
            request, upstreams=upstreams, upstream=upstream, principal=principal, settings=settings
        )
    except ClientDisconnect:
        # The caller hung up while sending its body: nobody is left to answer, and the service
        # saw an unfinished request it does not act on.
        return Response(status_code=CLIENT_CLOSED)


async def _forward(
    request: Request,
    *,
    upstreams: Upstreams,
    upstream: Upstream,
    principal: Principal | None,
    settings: GatewaySettings,
) -> Response:
    body = await read_body(request, limit=settings.max_body_bytes)
    headers = upstream_headers(
        request,
        principal=principal,
        secret=settings.internal_secret_list[0],
        trust_forwarded=settings.trust_forwarded_headers,
    )
    if body.length is not None and body.content is not None:
        headers.append(("Content-Length", str(body.length)))
    client = upstreams[upstream]
    outgoing = client.build_request(
        request.method, upstream_target(request), headers=headers, content=body.content
    )
    try:
        answer = await client.send(outgoing, stream=True)
    except httpx.TimeoutException as error:
        raise UpstreamTimeout(
            f"The {upstream.value} service did not answer within {upstreams.timeout:g} s",
            service=upstream.value,
        ) from error
    except httpx.ConnectError as error:
        raise UpstreamUnreachable(
            f"The {upstream.value} service could not be reached (connection refused or failed)",
            service=upstream.value,
        ) from error
    except httpx.TransportError as error:
        raise UpstreamUnreachable(
            f"The {upstream.value} service broke off the exchange: {type(error).__name__}",
            service=upstream.value,
        ) from error
    dropped = HOP_BY_HOP | _NOT_RETURNED | _connection_listed(answer.headers)
    response: Response
    if _small(answer):
        # Raw bytes, as the service sent them (still compressed if it compressed them).
        try:
            content = b"".join([chunk async for chunk in answer.aiter_raw()])
        except httpx.TransportError as error:
            raise UpstreamUnreachable(
                f"The {upstream.value} service broke off its answer: {type(error).__name__}",
                service=upstream.value,
            ) from error
        finally:
            await answer.aclose()
        response = Response(content, status_code=answer.status_code)
    else:
        response = StreamingResponse(
            answer.aiter_raw(), status_code=answer.status_code, background=BackgroundTask(answer.aclose)
        )
    response.raw_headers = [
        (
            k.encode("latin-1"),
            (public_location(v, client.base_url) if k.lower() == "location" else v).encode("latin-1"),
        )
        for k, v in answer.headers.multi_items()
        if k.lower() not in dropped
    ]
    return response


def _small(answer: httpx.Response) -> bool:
    declared = answer.headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) <= BUFFERED_BYTES


async def service_readiness(upstreams: Upstreams) -> dict[str, str]:
    """Each service's ``/readyz`` answer, in a word: ok, not_ready, timeout or unreachable."""

    async def one(upstream: Upstream) -> str:
        try:
            answer = await upstreams[upstream].get("/readyz", timeout=upstreams.health_timeout)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError:
            return "unreachable"
        return "ok" if answer.status_code == 200 else "not_ready"

    results = await asyncio.gather(*(one(u) for u in Upstream))
    return {u.value: r for u, r in zip(Upstream, results, strict=True)}
