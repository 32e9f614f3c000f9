"""The gateway's own HTTP surface: its key API and operations endpoints, and the catch-all
route that answers the paths no route names (400, 401, 403, 404 or 429, in that order of checks).
Requests for the services never come here: the proxy (``proxy.py``) takes them first.

Every endpoint that needs a key depends on :func:`admit`, the same admission check the proxy
makes (``admission.Gatekeeper``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from gateway import service
from gateway.admission import Caller, Credentials, Gatekeeper, client_address
from gateway.openapi import CombinedOpenApi
from gateway.policy import ANY_METHOD, find_route
from gateway.schemas import KeyCreate, KeyCreated, KeyRead
from gateway.settings import GatewaySettings
from gateway.upstream import service_readiness
from services.common import health
from services.common.db import Database, SessionDep
from services.common.errors import NotFound


async def admit(request: Request) -> Caller:
    """The caller, once admitted (see :mod:`gateway.admission`)."""
    settings: GatewaySettings = request.app.state.settings
    gatekeeper: Gatekeeper = request.app.state.gatekeeper
    path = request.url.path
    headers = request.headers
    peer = request.client.host if request.client else "unknown"
    return await gatekeeper.admit(
        method=request.method,
        path=path,
        route=find_route(path, request.app.state.routes),
        credentials=Credentials(
            authorization=headers.get("authorization"),
            api_key=headers.get("x-api-key"),
            cookies=tuple(headers.getlist("cookie")),
        ),
        address=client_address(
            peer,
            ", ".join(headers.getlist("x-forwarded-for")) or None,
            trust_forwarded=settings.trust_forwarded_headers,
        ),
        state=request.scope.setdefault("state", {}),
    )


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


not_exposed_router = APIRouter()


@not_exposed_router.api_route("/{path:path}", methods=sorted(ANY_METHOD), include_in_schema=False)
async def not_exposed(request: Request, _caller: CallerDep) -> None:
    """Every path no route names and no endpoint above answers: admission refuses it first (400
    for dot segments, 404 outside every access rule, 401, 403 or 429 under one), and an admitted
    caller learns that nothing is there."""
    raise NotFound(f"Nothing answers {request.method} {request.url.path} through the gateway")
