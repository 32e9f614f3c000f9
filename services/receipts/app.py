"""The receipts service: ``uvicorn --factory services.receipts.app:create_app --port 8003``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.chassis import create_service_app
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.receipts.endpoints import api, webhooks
from services.receipts.models import OUTBOX_TABLES
from services.receipts.settings import ReceiptsSettings

NAME = "receipts"
PORT = 8003


def load_settings() -> ReceiptsSettings:
    return ReceiptsSettings()


def create_app(
    settings: ReceiptsSettings | None = None, *, relay_client: httpx.Client | None = None
) -> FastAPI:
    settings = settings or load_settings()
    app = create_service_app(
        name=NAME,
        title="Tessera receipts",
        description="E-receipts for the payments citizens make, recorded from payment events",
        settings=settings,
        database_url=settings.resolved_database_url(),
        routers=[api, webhooks],
        extra_lifespan=relay_lifespan(
            service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client
        ),
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    return app
