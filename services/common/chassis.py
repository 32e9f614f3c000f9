"""What every Tessera service app has in common, assembled in one call from its ``create_app()``:
error handlers, request ids and logs, metrics, health and readiness, and the database whose
engine is built in ``lifespan`` (never at import time)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, FastAPI

from services.common import health, openapi
from services.common.db import Database
from services.common.errors import install_error_handlers
from services.common.logging import RequestIdMiddleware, configure_logging
from services.common.settings import CommonSettings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


# A request of a busy service allocates thousands of container objects and frees them when it
# ends (an invoice's validation, an ORM unit of work). With the default first threshold (700)
# the cyclic collector ran about once per request and walked them, and one request in a hundred
# paid a full collection over every object the process loaded at start-up (about 150,000): 1.1
# ms of CPU per invoice submission in all, measured. With 5,000 it runs about once in a hundred
# submissions, and what start-up loaded is frozen out of its reach: 0.1 ms. Cycles are still
# collected, only less often.
COLLECTOR_THRESHOLD = 5_000
_collector_settled = False


def settle_collector() -> None:
    """Tune Python's cyclic garbage collector for this process, once, after start-up."""
    global _collector_settled
    if _collector_settled:
        return
    _collector_settled = True
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(COLLECTOR_THRESHOLD, second, third)


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
        # Blocking work (every ``def`` endpoint, commits) runs in this pool. anyio's default of 40
        # threads only adds contention for the GIL: payment creation cost 4.73 ms of CPU with 40
        # and 4.55 with 8, a Stripe webhook 2.94 and 2.90 (one process, 16 connections, measured).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        # SessionRoute endpoints run in the event loop's default executor: the same bound.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix=f"{name}-worker")
        )
        app.state.database = Database(database_url)
        try:
            if extra_lifespan is None:
                settle_collector()
                yield
            else:
                async with extra_lifespan(app):
                    settle_collector()
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
