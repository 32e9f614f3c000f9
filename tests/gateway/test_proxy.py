"""Forwarding: what reaches a service and what comes back. The upstream here is a small echo
app that reports exactly what it received, reached both ways the gateway can reach a service:
in process through ``httpx.ASGITransport`` (as the other gateway tests do) and over a real
socket with the client the gateway uses in production (``upstream.NetworkClient``). The gateway
against the real service apps is in test_suite.py."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message, Scope

from gateway.app import create_app
from gateway.policy import ROUTES, Auth, Upstream
from gateway.policy import Route as PolicyRoute
from gateway.proxy import CLIENT_CLOSED, Incoming, upstream_target
from gateway.ratelimit import MemoryRateLimiter
from gateway.upstream import BUFFERED_BYTES
from services.common.identity import PRINCIPAL_HEADER, Role, decode_principal
from tests.conftest import INTERNAL_SECRET
from tests.gateway.conftest import gateway_client, make_key, running, settings_for
from tests.servers import Served

pytestmark = pytest.mark.anyio


async def echoing(request: Request) -> Response:
    body = await request.body()
    response = JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode(),
            "query": request.url.query,
            "headers": [[k, v] for k, v in request.headers.items()],
            "body_length": len(body),
            "peer_port": request.client.port if request.client else None,
        },
        headers={"Connection": "keep-alive, X-Internal", "X-Internal": "1", "X-Service": "echo"},
    )
    response.set_cookie("a", "1")
    response.set_cookie("b", "2")
    return response


async def slow(request: Request) -> Response:
    await asyncio.sleep(2)
    return Response("late")


async def big(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(64):
            yield bytes([i]) * 32768

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def compressed(request: Request) -> Response:
    return Response(
        gzip.compress(b'{"small": true}'), media_type="application/json", headers={"Content-Encoding": "gzip"}
    )


def echo_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/pay/big", big),
            Route("/pay/compressed", compressed),
            Route("/pay/slow/{rest:path}", slow),
            Route("/{rest:path}", echoing, methods=["GET", "POST", "PUT", "DELETE"]),
        ]
    )


def headers_of(answer: httpx.Response) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for name, value in answer.json()["headers"]:
        seen.setdefault(name, []).append(value)
    return seen


Transports = dict[Upstream, httpx.AsyncBaseTransport] | None
UPSTREAM_MODES = ("in process", "network")


@contextmanager
def reached(app: Any, mode: str) -> Iterator[tuple[Transports, dict[str, str]]]:
    """``app`` as every service, reached ``mode``: the transports and the service URL settings
    to build the gateway with."""
    if mode == "in process":
        yield {u: httpx.ASGITransport(app=app) for u in Upstream}, {}
    else:
        with Served(app) as served:
            yield None, {f"{u.value}_url": served.url for u in Upstream}


@pytest.fixture(scope="module")
def echo_server() -> Iterator[str]:
    with Served(echo_app()) as served:
        yield served.url


@pytest.fixture(params=UPSTREAM_MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def echo_service(mode: str, echo_server: str) -> tuple[Transports, dict[str, str]]:
    """The echo service, reached one way or the other (each test using it runs both)."""
    if mode == "in process":
        return {u: httpx.ASGITransport(app=echo_app()) for u in Upstream}, {}
    return None, {f"{u.value}_url": echo_server for u in Upstream}


@pytest.fixture
async def client(
    database_url: str, echo_service: tuple[Transports, dict[str, str]]
) -> AsyncIterator[httpx.AsyncClient]:
    transports, urls = echo_service
    settings = settings_for(database_url, max_body_bytes=1000, **urls)
    async with gateway_client(settings, transports=transports) as http:
        yield http


async def test_key_and_forged_identity_are_stripped_and_the_caller_is_signed(
    client: httpx.AsyncClient, database_url: str
) -> None:
    key_id, key = make_key(database_url, Role.SUPPLIER, supplier_id="BE0123456789", name="Acme")
    answer = await client.get(
        "/v1/invoices/1",
        headers={
            "Authorization": f"Bearer {key}",
            "X-Api-Key": key,
            PRINCIPAL_HEADER: "t=1,p=forged,v1=00",
        },
    )
    assert answer.status_code == 200
    seen = headers_of(answer)
    assert "authorization" not in seen and "x-api-key" not in seen
    assert len(seen[PRINCIPAL_HEADER.lower()]) == 1
    principal = decode_principal(seen[PRINCIPAL_HEADER.lower()][0], [INTERNAL_SECRET])
    assert (principal.key_id, principal.role, principal.supplier_id, principal.name) == (
        key_id,
        Role.SUPPLIER,
        "BE0123456789",
        "Acme",
    )


async def test_public_pages_get_no_identity_even_when_one_is_sent(client: httpx.AsyncClient) -> None:
    answer = await client.get("/pay/tok_1", headers={PRINCIPAL_HEADER: "t=1,p=x,v1=y"})
    assert answer.status_code == 200
    assert PRINCIPAL_HEADER.lower() not in headers_of(answer)


async def test_path_query_and_method_reach_the_service_unchanged(client: httpx.AsyncClient) -> None:
    answer = await client.delete("/verify/R%2F2026%201?x=1&y=%C3%A9")
    data = answer.json()
    assert (data["method"], data["raw_path"], data["query"]) == (
        "DELETE",
        "/verify/R%2F2026%201",
        "x=1&y=%C3%A9",
    )


async def test_hop_by_hop_headers_are_not_forwarded_either_way(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/pay/x",
        headers={
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "TE": "trailers",
            "X-Custom": "kept",
        },
    )
    seen = headers_of(answer)
    assert "x-secret-hop" not in seen and "te" not in seen
    assert seen["x-custom"] == ["kept"]
    assert "x-internal" not in answer.headers
    assert answer.headers["x-service"] == "echo"
    assert answer.headers.get_list("set-cookie") == ["a=1; Path=/; SameSite=lax", "b=2; Path=/; SameSite=lax"]


async def test_request_id_passes_through_or_is_made(client: httpx.AsyncClient) -> None:
    answer = await client.get("/pay/x", headers={"X-Request-Id": "req-42"})
    assert headers_of(answer)["x-request-id"] == ["req-42"]
    assert answer.headers["x-request-id"] == "req-42"
    made = await client.get("/pay/x")
    assert headers_of(made)["x-request-id"] == [made.headers["x-request-id"]]
    assert len(made.headers["x-request-id"]) == 32


async def test_forwarded_headers_name_the_peer_not_what_the_client_claims(client: httpx.AsyncClient) -> None:
    answer = await client.get("/pay/x", headers={"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Proto": "ftp"})
    seen = headers_of(answer)
    assert seen["x-forwarded-for"] == ["203.0.113.7"]
    assert seen["x-forwarded-proto"] == ["http"]
    assert seen["x-forwarded-host"] == ["gateway.test"]


async def test_trusted_load_balancer_headers_are_kept(
    database_url: str, echo_service: tuple[Transports, dict[str, str]]
) -> None:
    transports, urls = echo_service
    settings = settings_for(database_url, trust_forwarded_headers=True, **urls)
    async with gateway_client(settings, transports=transports) as http:
        answer = await http.get(
            "/pay/x", headers={"X-Forwarded-For": "192.0.2.9", "X-Forwarded-Proto": "https"}
        )
    seen = headers_of(answer)
    assert seen["x-forwarded-for"] == ["192.0.2.9, 203.0.113.7"]
    assert seen["x-forwarded-proto"] == ["https"]


async def test_body_within_the_limit_is_forwarded(client: httpx.AsyncClient) -> None:
    answer = await client.post("/pay/x", content=b"x" * 1000)
    assert answer.json()["body_length"] == 1000


async def test_oversized_body_gets_413_before_forwarding(client: httpx.AsyncClient) -> None:
    answer = await client.post("/pay/x", content=b"x" * 1001)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "body_too_large"


async def test_oversized_chunked_body_gets_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(11):
            yield b"y" * 100

    async def few() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"z" * 100

    answer = await client.post("/pay/x", content=chunks())
    assert answer.status_code == 413
    small = await client.post("/pay/x", content=few())
    assert small.json()["body_length"] == 300


async def test_bad_content_length_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await client.post("/pay/x", content=b"abc", headers={"Content-Length": "three"})
    assert answer.status_code == 400


async def test_dot_segments_are_refused(client: httpx.AsyncClient) -> None:
    answer = await client.get("/v1/invoices/%2e%2e/payments")
    assert answer.status_code == 400
    assert answer.json()["code"] == "unsafe_path"


async def test_unexposed_paths_are_404(client: httpx.AsyncClient) -> None:
    for path in ("/webhooks/events", "/v1/nothing", "/"):
        answer = await client.post(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_slow_service_gets_504_naming_it(database_url: str, echo_server: str) -> None:
    settings = settings_for(database_url, payments_url=echo_server, upstream_timeout=0.3)
    async with gateway_client(settings) as http:
        fine = await http.get("/pay/quick")
        started = time.monotonic()
        late = await http.get("/pay/slow/x")
        waited = time.monotonic() - started
    assert fine.status_code == 200
    assert late.status_code == 504
    problem = late.json()
    assert (problem["code"], problem["service"]) == ("upstream_timeout", "payments")
    assert "payments" in problem["detail"]
    assert waited < 3


async def test_refused_connection_gets_502_naming_the_service(database_url: str, free_port: int) -> None:
    settings = settings_for(database_url, receipts_url=f"http://127.0.0.1:{free_port}")
    async with gateway_client(settings) as http:
        answer = await http.get("/verify/R-1")
    assert answer.status_code == 502
    problem = answer.json()
    assert (problem["code"], problem["service"]) == ("upstream_unreachable", "receipts")
    assert "receipts" in problem["detail"]


async def test_anonymous_callers_are_limited_per_address(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=echo_app()) for u in Upstream}
    settings = settings_for(database_url, rate_limit_anonymous=2)
    async with gateway_client(settings, transports=transports, rate_limiter=MemoryRateLimiter()) as http:
        codes = [(await http.get("/pay/x")).status_code for _ in range(3)]
        refused = await http.get("/verify/y")
    assert codes == [200, 200, 429]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert json.loads(refused.text)["code"] == "rate_limited"


async def test_a_provider_webhook_route_forwards_without_key_or_identity(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=echo_app()) for u in Upstream}
    routes = (*ROUTES, PolicyRoute("/webhooks/stripe", Upstream.PAYMENTS, Auth.PROVIDER_SIGNATURE))
    async with gateway_client(settings_for(database_url), transports=transports, routes=routes) as http:
        answer = await http.post(
            "/webhooks/stripe",
            content=b'{"id": "evt_1"}',
            headers={"Stripe-Signature": "t=1,v1=abc", PRINCIPAL_HEADER: "t=1,p=x,v1=y"},
        )
        other = await http.post("/webhooks/events", content=b"{}")
    assert answer.status_code == 200
    seen = headers_of(answer)
    assert seen["stripe-signature"] == ["t=1,v1=abc"]
    assert PRINCIPAL_HEADER.lower() not in seen
    assert answer.json()["body_length"] == 15
    assert other.status_code == 404


async def test_large_responses_stream_back_unchanged(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/pay/big") as answer:
        received = b"".join([chunk async for chunk in answer.aiter_bytes()])
    assert answer.status_code == 200
    assert received == b"".join(bytes([i]) * 32768 for i in range(64))


async def test_cookies_a_service_sets_go_to_that_caller_only(client: httpx.AsyncClient) -> None:
    first = await client.get("/pay/x")
    client.cookies.clear()  # the next caller is someone else, with no cookies
    second = await client.get("/pay/x")
    assert sorted(first.headers.get_list("set-cookie"))[0].startswith("a=1")
    assert "cookie" not in headers_of(second)
    third = await client.get("/pay/x", headers={"Cookie": "mine=1"})
    assert headers_of(third)["cookie"] == ["mine=1"]


async def test_small_answers_come_back_as_the_service_sent_them(client: httpx.AsyncClient) -> None:
    answer = await client.get("/pay/compressed")
    assert answer.headers["content-encoding"] == "gzip"
    assert int(answer.headers["content-length"]) == len(gzip.compress(b'{"small": true}'))
    assert answer.json() == {"small": True}


async def test_bodies_larger_than_the_buffer_stream_through(
    database_url: str, echo_service: tuple[Transports, dict[str, str]]
) -> None:
    transports, urls = echo_service
    size = BUFFERED_BYTES * 2 + 3
    settings = settings_for(database_url, max_body_bytes=size, **urls)
    async with gateway_client(settings, transports=transports) as http:
        answer = await http.post("/pay/upload", content=b"x" * size)
    assert answer.status_code == 200
    assert answer.json()["body_length"] == size


def counting_app(received: list[int]) -> Starlette:
    """A service that records the length of every body it read whole."""

    async def counting(request: Request) -> Response:
        received.append(len(await request.body()))
        return Response("ok")

    return Starlette(routes=[Route("/{rest:path}", counting, methods=["POST"])])


async def call_directly(app: Any, declared: int, sent: list[bytes]) -> list[Message]:
    """A POST to /pay/x announcing ``declared`` bytes whose caller sends ``sent`` and hangs up."""
    messages: Iterator[Message] = iter(
        [
            *({"type": "http.request", "body": chunk, "more_body": True} for chunk in sent),
            {"type": "http.disconnect"},
        ]
    )
    answers: list[Message] = []

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        answers.append(message)

    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/pay/x",
        "raw_path": b"/pay/x",
        "query_string": b"",
        "headers": [(b"host", b"gateway.test"), (b"content-length", str(declared).encode())],
        "client": ("203.0.113.7", 50000),
        "server": ("gateway.test", 80),
    }
    await app(scope, receive, send)
    return answers


async def test_a_caller_hanging_up_mid_body_gets_no_error_logged_and_nothing_forwarded(
    database_url: str,
) -> None:
    received: list[int] = []
    transports = {u: httpx.ASGITransport(app=counting_app(received)) for u in Upstream}
    app = create_app(settings_for(database_url), transports=transports)
    async with running(app):
        sent = await call_directly(app, 20, [b"12345"])
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == CLIENT_CLOSED
    assert received == []


async def test_a_caller_hanging_up_mid_way_through_a_streamed_body_gets_499(
    database_url: str, mode: str
) -> None:
    received: list[int] = []
    with reached(counting_app(received), mode) as (transports, urls):
        app = create_app(settings_for(database_url, **urls), transports=transports)
        async with running(app):
            sent = await call_directly(app, BUFFERED_BYTES * 3, [b"x" * 65536] * 20)
    assert sent[0]["status"] == CLIENT_CLOSED
    assert received == []


async def test_rate_limit_address_behind_a_trusted_balancer_is_the_one_it_appended(database_url: str) -> None:
    transports = {u: httpx.ASGITransport(app=echo_app()) for u in Upstream}
    settings = settings_for(database_url, trust_forwarded_headers=True, rate_limit_anonymous=1)
    async with gateway_client(settings, transports=transports, rate_limiter=MemoryRateLimiter()) as http:
        first = await http.get("/pay/x", headers={"X-Forwarded-For": "1.1.1.1, 192.0.2.9"})
        # Changing the client-written part does not buy a new budget; another real address has its own.
        spoofed = await http.get("/pay/x", headers={"X-Forwarded-For": "2.2.2.2, 192.0.2.9"})
        other = await http.get("/pay/x", headers={"X-Forwarded-For": "192.0.2.10"})
    assert [first.status_code, spoofed.status_code, other.status_code] == [200, 429, 200]


async def test_a_balancer_adding_its_own_forwarded_for_line_is_still_the_one_trusted(
    database_url: str, echo_service: tuple[Transports, dict[str, str]]
) -> None:
    transports, urls = echo_service
    settings = settings_for(database_url, trust_forwarded_headers=True, rate_limit_anonymous=1, **urls)
    async with gateway_client(settings, transports=transports, rate_limiter=MemoryRateLimiter()) as http:
        # The caller's own line first, then the balancer's (as HAProxy's "option forwardfor" adds it).
        lines = [("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "192.0.2.9")]
        first = await http.get("/pay/x", headers=lines)
        spoofed = await http.get("/pay/x", headers=[("X-Forwarded-For", "2.2.2.2"), lines[1]])
    assert headers_of(first)["x-forwarded-for"] == ["1.1.1.1, 192.0.2.9, 203.0.113.7"]
    assert spoofed.status_code == 429


def test_the_session_cookie_never_reaches_a_service() -> None:
    scope = {
        "type": "http",
        "headers": [(b"cookie", b"tessera_session=tsk_abc_secret; theme=dark"), (b"host", b"gw")],
    }
    incoming = Incoming.of(scope)
    assert dict(incoming.forwarded)["cookie"] == "theme=dark"
    assert incoming.credentials.key(session_cookie=True) == "tsk_abc_secret"
    only_session = Incoming.of({"type": "http", "headers": [(b"cookie", b"tessera_session=tsk_abc_secret")]})
    assert "cookie" not in [name for name, _ in only_session.forwarded]


async def test_a_service_redirect_to_its_own_address_becomes_a_gateway_path(
    database_url: str, mode: str
) -> None:
    async def target(request: Request) -> Response:
        return Response("here")

    # Starlette answers /pay/slash with a redirect to http://<the Host it was called with>/pay/slash/.
    app = Starlette(routes=[Route("/pay/slash/", target)])
    with reached(app, mode) as (transports, urls):
        async with gateway_client(settings_for(database_url, **urls), transports=transports) as http:
            answer = await http.get("/pay/slash?a=1")
    assert answer.status_code == 307
    assert answer.headers["location"] == "/pay/slash/?a=1"


async def test_methods_no_route_takes_are_405_from_the_gateway(client: httpx.AsyncClient) -> None:
    answer = await client.request("TRACE", "/pay/x")
    assert answer.status_code == 405
    assert answer.json()["code"] == "method_not_allowed"


async def test_a_header_value_that_is_not_utf8_is_a_400(client: httpx.AsyncClient) -> None:
    answer = await client.get("/pay/x", headers={"X-Note": b"caf\xe9"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert "X-Note".lower() in answer.json()["detail"]
    utf8 = await client.get("/pay/x", headers={"X-Note": "café".encode()})
    assert headers_of(utf8)["x-note"] == ["café".encode().decode("latin-1")]


def test_raw_bytes_outside_ascii_in_the_target_are_percent_encoded() -> None:
    scope = {"path": "/pay/café", "raw_path": "/pay/café".encode(), "query_string": b"q=%C3%A9"}
    assert upstream_target(scope) == "/pay/caf%C3%A9?q=%C3%A9"


async def test_connections_to_a_service_are_kept_and_reused(database_url: str, echo_server: str) -> None:
    settings = settings_for(database_url, payments_url=echo_server)
    async with gateway_client(settings) as http:
        ports = {(await http.get("/pay/x")).json()["peer_port"] for _ in range(5)}
    assert len(ports) == 1


async def test_proxied_requests_are_counted_and_logged_with_their_request_id(
    database_url: str, echo_service: tuple[Transports, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    transports, urls = echo_service
    settings = settings_for(database_url, log_level="INFO", log_format="json", **urls)
    async with gateway_client(settings, transports=transports) as http:
        answer = await http.put("/pay/logged", headers={"X-Request-Id": "req-logged-1"})
        metrics = await http.get("/metrics")
    assert answer.status_code == 200
    assert (
        'tessera_http_requests_total{method="PUT",route="/{path:path}",service="gateway",status="200"}'
        in (metrics.text)
    )
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("event") == "request" and line.get("path") == "/pay/logged"]
    assert len(logged) == 1
    assert {k: logged[0][k] for k in ("method", "status", "request_id", "service")} == {
        "method": "PUT",
        "status": 200,
        "request_id": "req-logged-1",
        "service": "gateway",
    }


async def test_the_service_gets_the_callers_headers_and_the_gateways_own_nothing_more(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/pay/x",
        content=b'{"a": 1}',
        headers={"Content-Type": "application/json", "Accept": "text/html", "User-Agent": "tester/1"},
    )
    seen = headers_of(answer)
    assert sorted(seen) == [
        "accept",
        "accept-encoding",
        "content-length",
        "content-type",
        "host",
        "user-agent",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-request-id",
    ]
    assert (seen["content-length"], seen["accept"], seen["user-agent"]) == (
        ["8"],
        ["text/html"],
        ["tester/1"],
    )


def replica_app(name: str, *, ready: bool = True) -> Starlette:
    """A stand-in service replica that says which one it is."""

    async def which(request: Request) -> Response:
        return JSONResponse({"replica": name})

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ok" if ready else "unavailable"}, status_code=200 if ready else 503)

    return Starlette(
        routes=[Route("/readyz", readyz), Route("/verify/{rest:path}", which, methods=["GET", "POST"])]
    )


async def test_requests_are_dealt_out_to_the_replicas_of_a_service_in_turn(database_url: str) -> None:
    with Served(replica_app("a")) as first, Served(replica_app("b")) as second:
        settings = settings_for(database_url, receipts_url=f"{first.url}, {second.url}/")
        async with gateway_client(settings) as http:
            answered = [(await http.get(f"/verify/R-{n}")).json()["replica"] for n in range(6)]
            health = (await http.get("/healthz")).json()
    assert answered == ["a", "b", "a", "b", "a", "b"]
    assert health["services"]["receipts"] == "ok"


async def test_a_service_is_ready_while_any_of_its_replicas_is(database_url: str, free_port: int) -> None:
    with Served(replica_app("a", ready=False)) as unready:
        down = f"http://127.0.0.1:{free_port}"
        settings = settings_for(database_url, receipts_url=f"{down},{unready.url}")
        async with gateway_client(settings) as http:
            assert (await http.get("/healthz")).json()["services"]["receipts"] == "not_ready"
            answers = [(await http.get("/verify/R-1")).status_code for _ in range(2)]
        assert answers == [200, 200]  # the replica that is down is passed over
    with Served(replica_app("a")) as ready:
        settings = settings_for(database_url, receipts_url=f"{down},{ready.url}")
        async with gateway_client(settings) as http:
            assert (await http.get("/healthz")).json()["services"]["receipts"] == "ok"


async def test_a_replica_that_refuses_connections_is_passed_over_then_tried_again(
    database_url: str, free_port: int
) -> None:
    down = f"http://127.0.0.1:{free_port}"
    with Served(replica_app("b")) as live:
        settings = settings_for(database_url, receipts_url=f"{down},{live.url}", replica_rest_seconds=3)
        async with gateway_client(settings) as http:
            # Nothing reached the refusing replica, so even a POST goes to the other one.
            first = await http.post("/verify/R-1")
            refused_at = time.monotonic()
            answers = [first, await http.get("/verify/R-2"), await http.get("/verify/R-3")]
            assert [(a.status_code, a.json()["replica"]) for a in answers] == [(200, "b")] * 3
            with Served(replica_app("a"), port=free_port):
                # Back, but still resting: the live replica keeps every request.
                assert {(await http.get(f"/verify/R-{n}")).json()["replica"] for n in range(4)} == {"b"}
                assert time.monotonic() - refused_at < 3  # (the check above ran within the rest)
                await asyncio.sleep(refused_at + 3.1 - time.monotonic())
                # Rested: it takes its turn again.
                assert {(await http.get(f"/verify/R-{n}")).json()["replica"] for n in range(4)} == {"a", "b"}


async def test_every_replica_refusing_is_a_502_naming_the_service(database_url: str, free_port: int) -> None:
    down = f"http://127.0.0.1:{free_port}"
    settings = settings_for(database_url, receipts_url=f"{down},{down}")
    async with gateway_client(settings) as http:
        for _ in range(3):
            answer = await http.get("/verify/R-1")
            assert answer.status_code == 502
            assert answer.json()["code"] == "upstream_unreachable"
            assert "receipts" in answer.json()["detail"]


async def test_a_service_that_stops_reading_a_streamed_upload_is_a_504_after_the_timeout(
    database_url: str,
) -> None:
    # A "service" that accepts connections and never reads from them.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.setblocking(False)
    accepted: list[socket.socket] = []

    async def accept() -> None:
        while True:
            connection, _ = await asyncio.get_running_loop().sock_accept(listener)
            accepted.append(connection)

    acceptor = asyncio.create_task(accept())
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    size = 16 * BUFFERED_BYTES  # far more than the socket buffers take
    settings = settings_for(database_url, payments_url=url, upstream_timeout=0.5, max_body_bytes=size)
    try:
        async with gateway_client(settings) as http:
            started = time.monotonic()
            answer = await asyncio.wait_for(http.post("/pay/upload", content=b"x" * size), 20)
            waited = time.monotonic() - started
    finally:
        acceptor.cancel()
        for connection in (*accepted, listener):
            connection.close()
    assert answer.status_code == 504 and answer.json()["code"] == "upstream_timeout"
    assert waited < 5


async def test_a_slow_caller_is_not_the_services_timeout(database_url: str, echo_server: str) -> None:
    chunk, pause = b"x" * BUFFERED_BYTES, 0.4

    async def slowly() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield chunk
            await asyncio.sleep(pause)  # longer than the service's timeout, between chunks

    settings = settings_for(
        database_url, payments_url=echo_server, upstream_timeout=0.3, max_body_bytes=3 * len(chunk)
    )
    async with gateway_client(settings) as http:
        answer = await http.post(
            "/pay/upload", content=slowly(), headers={"Content-Length": str(3 * len(chunk))}
        )
    assert answer.status_code == 200
    assert answer.json()["body_length"] == 3 * len(chunk)
