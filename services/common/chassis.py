"""What every Tessera service app has in common, assembled in one call from its ``create_app()``:
error handlers, request ids and logs, metrics, health and readiness, and the database whose
engine is built in ``lifespan`` (never at import time)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import APIRouter, FastAPI

from services.common import health, openapi
from services.common.db import Database
from services.common.errors import install_error_handlers
from services.common.logging import RequestIdMiddleware, configure_logging
from services.common.settings import CommonSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_service_app(
    *,
    name: str,
    title: str,
    description: str,
    settings: CommonSettings,
    database_url: str,
    routers: Sequence[APIRouter],
    extra_lifespan: Lifespan | None = None,
) -> FastAPI:
    """A FastAPI app for service ``name``. ``extra_lifespan`` runs inside the database lifespan,
    for a service's own start-up work (loading keys, starting its outbox relay...)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(service=name, level=settings.log_level, fmt=settings.log_format)
        app.state.database = Database(database_url)
        try:
            if extra_lifespan is None:
                yield
            else:
                async with extra_lifespan(app):
                    yield
        finally:
            app.state.database.dispose()

    app = FastAPI(title=title, description=description, version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.service_name = name
    install_error_handlers(app)
    app.add_middleware(health.MetricsMiddleware, service=name)
    app.add_middleware(RequestIdMiddleware)
    health.add_readiness_check(app, "database", lambda a: bool(a.state.database.ping()))
    app.include_router(health.router)
    for router in routers:
        app.include_router(router)
    openapi.install(app, identified=lambda path: path.startswith("/v1/"))
    return app
