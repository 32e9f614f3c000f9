"""The payments service: ``uvicorn --factory services.payments.app:create_app --port 8002``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.chassis import create_service_app
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.payments.endpoints import api, hosted
from services.payments.models import OUTBOX_TABLES
from services.payments.providers import SandboxProvider
from services.payments.settings import PaymentsSettings

NAME = "payments"
PORT = 8002


def load_settings() -> PaymentsSettings:
    return PaymentsSettings()


def create_app(
    settings: PaymentsSettings | None = None, *, relay_client: httpx.Client | None = None
) -> FastAPI:
    """``relay_client`` replaces the relay's HTTP client (tests route it to an in-process app)."""
    settings = settings or load_settings()
    app = create_service_app(
        name=NAME,
        title="Tessera payments",
        description="Online payments of municipal fees, through a provider (the built-in sandbox by default)",
        settings=settings,
        database_url=settings.resolved_database_url(),
        routers=[api, hosted],
        extra_lifespan=relay_lifespan(
            service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client
        ),
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    app.state.provider = SandboxProvider(settings.public_url)
    return app
