"""The payments service: ``uvicorn --factory services.payments.app:create_app --port 8002``."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import structlog
from fastapi import FastAPI

from services.common.chassis import Lifespan, create_service_app
from services.common.db import Database, utcnow
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.payments import service
from services.payments.endpoints import api, provider_webhooks, requests_api
from services.payments.models import OUTBOX_TABLES
from services.payments.pages import pages
from services.payments.providers import PaymentProvider, SandboxProvider
from services.payments.settings import PaymentsSettings

NAME = "payments"
PORT = 8002
log = structlog.get_logger(__name__)


def load_settings() -> PaymentsSettings:
    return PaymentsSettings()


def build_provider(settings: PaymentsSettings) -> PaymentProvider:
    if settings.provider == "stripe":
        from services.payments.stripe_provider import StripeProvider

        return StripeProvider.build(
            secret_key=settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            public_url=settings.public_url,
            publishable_key=settings.stripe_publishable_key,
            js_url=settings.stripe_js_url,
            webhook_secrets=settings.stripe_webhook_secret_list,
        )
    return SandboxProvider(settings.public_url)


def run_sweep(app: FastAPI, now: datetime) -> service.SweepResult:
    """One pass of the expiry sweep in its own transaction."""
    settings: PaymentsSettings = app.state.settings
    database: Database = app.state.database
    with database.sessionmaker() as session:
        result = service.sweep(
            session,
            provider=app.state.provider,
            outbox=app.state.outbox,
            now=now,
            expiry=timedelta(minutes=settings.expiry_minutes),
        )
        session.commit()
    return result


def sweep_lifespan(settings: PaymentsSettings, clock: Callable[[], datetime]) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def loop() -> None:
            while True:
                await asyncio.sleep(settings.sweep_interval_seconds)
                try:
                    result = await asyncio.to_thread(run_sweep, app, clock())
                except Exception:  # noqa: BLE001  (a failed pass is logged; the next one retries)
                    log.exception("payments sweep failed")
                    continue
                if result.expired or result.settled or result.requests_expired:
                    log.info("payments sweep", **dataclasses.asdict(result))

        task = asyncio.create_task(loop()) if settings.sweep_enabled else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    return lifespan


def _both(first: Lifespan, second: Lifespan) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with first(app), second(app):
            yield

    return lifespan


def create_app(
    settings: PaymentsSettings | None = None,
    *,
    relay_client: httpx.Client | None = None,
    provider: PaymentProvider | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> FastAPI:
    """``relay_client`` replaces the relay's HTTP client (tests route it to an in-process app);
    ``provider`` and ``clock`` replace the configured provider and the sweep's clock."""
    settings = settings or load_settings()
    app = create_service_app(
        name=NAME,
        title="Tessera payments",
        description="What citizens owe (payment requests with RF references) and online payments of it, "
        "through a provider (the built-in sandbox by default, or Stripe)",
        settings=settings,
        database_url=settings.resolved_database_url(),
        # Routes are matched in order, one by one: the busiest (providers' webhooks) come first.
        routers=[provider_webhooks, api, requests_api, pages],
        extra_lifespan=_both(
            relay_lifespan(service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client),
            sweep_lifespan(settings, clock),
        ),
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    app.state.provider = provider or build_provider(settings)
    app.state.limits = service.Limits(max_amount=settings.max_amount_by_currency)
    app.state.clock = clock
    return app
