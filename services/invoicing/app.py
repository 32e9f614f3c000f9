"""The invoicing service: ``uvicorn --factory services.invoicing.app:create_app --port 8001``."""

from __future__ import annotations

import httpx
import structlog
from fastapi import FastAPI

from services.common.chassis import create_service_app
from services.common.health import add_readiness_check
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.invoicing.endpoints import api
from services.invoicing.models import OUTBOX_TABLES
from services.invoicing.settings import InvoicingSettings

NAME = "invoicing"
PORT = 8001

log = structlog.get_logger("tessera.invoicing")


def load_settings() -> InvoicingSettings:
    return InvoicingSettings()


def ubl_schemas_ready(app: FastAPI) -> bool:
    """Readiness: the UBL 2.1 schemas are installed and intact. Fails closed when the checker
    itself is missing from this build."""
    try:
        from services.common import ubl_schemas
    except ImportError as error:
        log.warning("UBL schema check unavailable", error=str(error))
        return False
    try:
        ubl_schemas.verify()
    except ubl_schemas.SchemasError as error:
        log.warning("UBL schemas not ready", error=str(error))
        return False
    return True


def create_app(
    settings: InvoicingSettings | None = None, *, relay_client: httpx.Client | None = None
) -> FastAPI:
    settings = settings or load_settings()
    app = create_service_app(
        name=NAME,
        title="Tessera invoicing",
        description="Suppliers' UBL 2.1 / EN 16931 e-invoices: submission, validation, listing",
        settings=settings,
        database_url=settings.resolved_database_url(),
        routers=[api],
        extra_lifespan=relay_lifespan(
            service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client
        ),
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    add_readiness_check(app, "ubl_schemas", ubl_schemas_ready)
    return app
