"""The invoicing service: ``uvicorn --factory services.invoicing.app:create_app --port 8001``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import structlog
from fastapi import FastAPI
from sqlalchemy.exc import SQLAlchemyError

from services.common.chassis import create_service_app
from services.common.health import add_readiness_check
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.common.settings import Environment, MunicipalitySettings
from services.invoicing import service
from services.invoicing.endpoints import api, inbox, routing
from services.invoicing.models import OUTBOX_TABLES
from services.invoicing.pages import pages
from services.invoicing.settings import InvoicingSettings
from services.invoicing.ubl.seal import Sealer
from services.invoicing.webhooks import Registration, SupplierSigning

NAME = "invoicing"
PORT = 8001

log = structlog.get_logger("tessera.invoicing")


def load_settings() -> InvoicingSettings:
    return InvoicingSettings()


def load_sealer(settings: InvoicingSettings) -> Sealer:
    """The municipality's seal (PKCS#12 or PEM), or the development seal when none is configured.
    Loaded once: parsing and checking a PEM key costs tens of milliseconds."""
    password = settings.seal_password.encode() or None
    if settings.seal_pkcs12_path is not None:
        return Sealer.from_pkcs12(settings.seal_pkcs12_path, password)
    if settings.seal_key_path is not None and settings.seal_certificate_path is not None:
        return Sealer.from_pem_files(settings.seal_key_path, settings.seal_certificate_path, password)
    return Sealer.development(settings.data_dir)


def supplier_signing_client(app: FastAPI, settings: InvoicingSettings) -> httpx.Client:
    """The relay's HTTP client: suppliers' deliveries signed with their own secrets."""

    def registration_of(supplier_id: str) -> Registration | None:
        with app.state.database.sessionmaker() as session:
            return service.webhook_registration(session, supplier_id=supplier_id)

    internal = {entry.url for entry in Subscriptions.parse(settings.subscribers).entries}
    transport = SupplierSigning(httpx.HTTPTransport(), registration_of, internal)
    return httpx.Client(timeout=settings.relay_timeout_seconds, follow_redirects=False, transport=transport)


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
    settings: InvoicingSettings | None = None,
    *,
    municipality: MunicipalitySettings | None = None,
    relay_client: httpx.Client | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    town = municipality or MunicipalitySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = service.Runtime(
            sealer=load_sealer(settings),
            municipality=town,
            outbox=app.state.outbox,
            max_invoice_bytes=settings.max_invoice_bytes,
            max_attachments_bytes=settings.max_attachments_bytes,
            public_webhooks_only=settings.environment is Environment.PRODUCTION,
        )
        try:
            with app.state.database.sessionmaker() as session:
                service.seed_routing_codes(session, codes=town.routing_code_list)
                session.commit()
        except SQLAlchemyError as error:  # not migrated yet: readiness reports the database
            log.warning("routing codes not seeded", error=str(error))
        client = relay_client or supplier_signing_client(app, settings)
        try:
            async with relay_lifespan(service=NAME, settings=settings, tables=OUTBOX_TABLES, client=client)(
                app
            ):
                yield
        finally:
            if relay_client is None:
                client.close()

    app = create_service_app(
        name=NAME,
        title="Tessera invoicing",
        description="Suppliers' UBL 2.1 / EN 16931 e-invoices: submission, validation, sealing, lifecycle",
        settings=settings,
        database_url=settings.resolved_database_url(),
        routers=[api, inbox, routing, pages],
        extra_lifespan=lifespan,
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    add_readiness_check(app, "ubl_schemas", ubl_schemas_ready)
    return app
