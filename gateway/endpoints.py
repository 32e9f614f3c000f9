"""The gateway's HTTP surface: its own key API and operations endpoints, and the catch-all
route that forwards everything ``policy.ROUTES`` names to the services.

Every request goes through one dependency, :func:`admit` (route lookup, API key, access policy,
rate limit). Authentication opens its own short session so that no database connection is held
while a request waits on a service; a key checked in the last ``key_cache_seconds`` is taken
from the process's :class:`~gateway.service.KeyCache` without asking the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import service
from gateway.errors import MissingApiKey, RateLimited, RoleNotAllowed, UnsafePath
from gateway.openapi import CombinedOpenApi
from gateway.policy import ANY_METHOD, SESSION_COOKIE, Auth, Route, allowed_roles, find_route, unsafe_path
from gateway.proxy import Upstreams, client_address, forward, service_readiness
from gateway.ratelimit import Limit, RateLimiter
from gateway.schemas import KeyCreate, KeyCreated, KeyRead
from gateway.settings import GatewaySettings
from services.common import health
from services.common.db import Database, SessionDep
from services.common.errors import NotFound, Unauthorized
from services.common.identity import Principal, Role


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal | None
    route: Route | None  # None for the gateway's own endpoints
    address: str


def presented_key(request: Request, *, session_cookie: bool = False) -> str | None:
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    api_key = request.headers.get("x-api-key")
    if not (api_key and api_key.strip()) and session_cookie:
        api_key = request.cookies.get(SESSION_COOKIE)
    return api_key.strip() if api_key and api_key.strip() else None


def _authenticate(database: Database, presented: str) -> Principal:
    with database.sessionmaker() as session:
        principal = service.authenticate(session, presented=presented)
        session.commit()
    return principal


async def _charge(request: Request, bucket: str, role: Role | None) -> None:
    settings: GatewaySettings = request.app.state.settings
    limiter: RateLimiter = request.app.state.rate_limiter
    limit = Limit(settings.role_limit(role), settings.rate_limit_window_seconds)
    decision = await limiter.hit(bucket, limit)
    budget = {"RateLimit-Limit": str(limit.requests), "RateLimit-Remaining": str(decision.remaining)}
    if not decision.allowed:
        raise RateLimited(
            f"Too many requests; retry in {decision.retry_after_header} s",
            headers={"Retry-After": decision.retry_after_header, **budget},
        )
    request.state.rate_limit_headers = budget


async def admit(request: Request) -> Caller:
    """Who calls, whether the access policy lets them, and whether they are within budget:
    404 for paths the gateway does not expose, 401 without a valid key where one is needed,
    403 when the key's role is not allowed, 429 over budget. Callers without a valid key
    (public pages, wrong or missing keys) spend their address's budget, keys their own."""
    settings: GatewaySettings = request.app.state.settings
    path = request.url.path
    if unsafe_path(path):
        raise UnsafePath("Paths with '.', '..' segments or backslashes are not forwarded")
    route = find_route(path, request.app.state.routes)
    roles = allowed_roles(request.method, path)
    if route is None and not roles:
        raise NotFound(f"Nothing answers {path} through the gateway")
    address = client_address(request, trust_forwarded=settings.trust_forwarded_headers)
    if route is not None and route.auth not in (Auth.API_KEY, Auth.SESSION):
        await _charge(request, f"ip:{address}", None)
        return Caller(principal=None, route=route, address=address)
    try:
        presented = presented_key(request, session_cookie=route is not None and route.auth is Auth.SESSION)
        if presented is None:
            raise MissingApiKey(
                "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
                headers={"WWW-Authenticate": 'Bearer realm="tessera"'},
            )
        cache: service.KeyCache = request.app.state.key_cache
        principal = cache.get(presented)
        if principal is None:
            principal = await run_in_threadpool(_authenticate, request.app.state.database, presented)
            cache.put(presented, principal)
    except Unauthorized:
        await _charge(request, f"ip:{address}", None)
        raise
    await _charge(request, f"key:{principal.key_id}", principal.role)
    if principal.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles)) or "none"
        raise RoleNotAllowed(
            f"A {principal.role.value} key may not {request.method} {path}; allowed roles: {allowed}"
        )
    return Caller(principal=principal, route=route, address=address)


CallerDep = Annotated[Caller, Depends(admit)]

keys_router = APIRouter(prefix="/v1/keys", tags=["keys"])


@keys_router.post("", status_code=201, response_model=KeyCreated, summary="Create an API key (shown once)")
def create_key(body: KeyCreate, session: SessionDep, _caller: CallerDep) -> KeyCreated:
    key, plaintext = service.create_key(session, name=body.name, role=body.role, supplier_id=body.supplier_id)
    return KeyCreated.model_validate({**KeyRead.model_validate(key).model_dump(), "key": plaintext})


@keys_router.get("", response_model=list[KeyRead], summary="List API keys (never their secrets)")
def list_keys(session: SessionDep, _caller: CallerDep, include_revoked: bool = True) -> list[KeyRead]:
    return [KeyRead.model_validate(k) for k in service.list_keys(session, include_revoked=include_revoked)]


@keys_router.post("/{key_id}/revoke", response_model=KeyRead, summary="Revoke an API key")
def revoke_key(key_id: uuid.UUID, session: SessionDep, request: Request, _caller: CallerDep) -> KeyRead:
    revoked = KeyRead.model_validate(service.revoke_key(session, key_id=key_id))
    request.app.state.key_cache.forget(key_id)
    return revoked


operations_router = APIRouter(tags=["operations"])


@operations_router.get("/healthz", summary="Each service's readiness, as seen from the gateway")
async def healthz(request: Request) -> JSONResponse:
    services = await service_readiness(request.app.state.upstreams)
    failing = sorted(name for name, state in services.items() if state != "ok")
    body: dict[str, Any] = {"status": "degraded" if failing else "ok", "services": services}
    if failing:
        body["detail"] = "Not ready: " + ", ".join(failing)
    return JSONResponse(body, status_code=503 if failing else 200)


@operations_router.get("/readyz", summary="Readiness of the gateway itself (database, rate limiter)")
async def readyz(request: Request) -> JSONResponse:
    database: Database = request.app.state.database
    checks = {"database": "ok" if await run_in_threadpool(database.ping) else "failing"}
    ping = getattr(request.app.state.rate_limiter, "ping", None)
    if ping is not None:
        checks["rate_limiter"] = "ok" if await ping() else "failing"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


operations_router.add_api_route("/metrics", health.metrics, methods=["GET"], include_in_schema=False)


@operations_router.get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request) -> JSONResponse:
    combined: CombinedOpenApi = request.app.state.openapi
    return JSONResponse(await combined.document())


@operations_router.get("/docs", include_in_schema=False)
def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Tessera API")


proxy_router = APIRouter()


@proxy_router.api_route("/{path:path}", methods=sorted(ANY_METHOD), include_in_schema=False)
async def proxy(request: Request, caller: CallerDep) -> Response:
    if caller.route is None:
        raise NotFound(f"Nothing answers {request.method} {request.url.path} through the gateway")
    upstreams: Upstreams = request.app.state.upstreams
    return await forward(
        request,
        upstreams=upstreams,
        upstream=caller.route.upstream,
        principal=caller.principal,
        settings=request.app.state.settings,
    )
