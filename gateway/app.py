"""The gateway app: the one public entry point in front of invoicing, payments and receipts.

A request whose path the route table names goes to the proxy (``proxy.Proxy``: admission, then
forwarding) without passing through FastAPI, which answers everything else: the gateway's own
endpoints (``endpoints.py``) and the 404s. ``proxy.py`` says why.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.admission import BUDGET_STATE, Gatekeeper
from gateway.endpoints import keys_router, not_exposed_router, operations_router
from gateway.openapi import KEY_SECURITY, CombinedOpenApi
from gateway.policy import ROUTES, Route, Upstream
from gateway.proxy import Proxy
from gateway.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from gateway.service import KeyCache
from gateway.settings import GatewaySettings
from gateway.upstream import Upstreams
from services.common import health
from services.common.db import Database
from services.common.errors import install_error_handlers
from services.common.logging import RequestIdMiddleware, configure_logging

DESCRIPTION = (
    "Tessera's public API: e-invoices from suppliers, payments and payment requests, e-receipts "
    "and reconciliation. Authenticate with an API key as 'Authorization: Bearer <key>'."
)


class GatewayApp(FastAPI):
    """FastAPI for the gateway's own endpoints, with the proxy in front: a request on a route of
    the route table goes to the proxy, which the lifespan builds, and never reaches FastAPI."""

    proxy: Proxy | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        proxy = self.proxy
        route = proxy.route_for(scope) if proxy is not None else None
        if route is None:
            await super().__call__(scope, receive, send)
        else:
            await proxy(scope, receive, send, route)  # type: ignore[misc]


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transports: Mapping[Upstream, httpx.AsyncBaseTransport] | None = None,
    rate_limiter: RateLimiter | None = None,
    routes: tuple[Route, ...] = ROUTES,
) -> GatewayApp:
    """The gateway. ``transports`` replaces the network for some services (tests route them to
    in-process apps); ``rate_limiter`` replaces the one chosen from the settings; ``routes``
    replaces the route table (to try a new route, such as a provider webhook, before adding it
    to ``policy.ROUTES``)."""
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: GatewayApp) -> AsyncIterator[None]:
        configure_logging(service="gateway", level=settings.log_level, fmt=settings.log_format)
        app.state.database = Database(settings.effective_database_url)
        app.state.upstreams = Upstreams(settings, transports)
        # A limiter passed in belongs to the caller, who closes it; one made here is closed here.
        own_limiter: RateLimiter | None = None
        if rate_limiter is None:
            own_limiter = (
                RedisRateLimiter.from_url(settings.redis_url) if settings.redis_url else MemoryRateLimiter()
            )
        app.state.rate_limiter = rate_limiter if rate_limiter is not None else own_limiter
        app.state.gatekeeper = Gatekeeper(
            settings,
            database=app.state.database,
            key_cache=app.state.key_cache,
            limiter=app.state.rate_limiter,
        )
        app.proxy = Proxy(
            app, settings, routes=routes, gatekeeper=app.state.gatekeeper, upstreams=app.state.upstreams
        )
        app.state.openapi = CombinedOpenApi(
            app.state.upstreams,
            lambda: gateway_document(app),
            ttl=settings.openapi_cache_seconds,
            routes=routes,
        )
        try:
            yield
        finally:
            app.proxy = None
            if own_limiter is not None:
                await own_limiter.close()
            await app.state.upstreams.aclose()
            app.state.database.dispose()

    app = GatewayApp(
        title="Tessera API",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.key_cache = KeyCache(settings.key_cache_seconds)
    app.state.routes = routes
    app.state.service_name = "gateway"
    install_error_handlers(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(health.MetricsMiddleware, service="gateway")
    app.add_middleware(RequestIdMiddleware)
    app.include_router(operations_router)
    app.include_router(keys_router)
    app.include_router(not_exposed_router)
    return app


class RateLimitHeaders:
    """Tell callers their budget (``RateLimit-Limit``, ``RateLimit-Remaining``) on every answer
    of the gateway's own endpoints that spent from it (admission leaves them in the request
    state; the proxy adds them itself). Plain ASGI, for the reason given on
    :class:`services.common.logging.RequestIdMiddleware`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_budget(message: Message) -> None:
            budget: dict[str, str] = scope.get("state", {}).get(BUDGET_STATE, {})
            if message["type"] == "http.response.start" and budget:
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in budget.items():
                    if name.lower().encode("latin-1") not in present:
                        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_budget)


def gateway_document(app: FastAPI) -> dict[str, Any]:
    """The gateway's own OpenAPI document, its key endpoints marked as needing a key."""
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    for path, item in document.get("paths", {}).items():
        if path.startswith("/v1/"):
            for operation in item.values():
                operation["security"] = KEY_SECURITY
    return document
