"""The receipts service: ``uvicorn --factory services.receipts.app:create_app --port 8003``."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from services.common.chassis import create_service_app
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.common.settings import MunicipalitySettings
from services.receipts import service
from services.receipts.document import Issuer
from services.receipts.endpoints import api, pages, reconciliation_api, webhooks
from services.receipts.models import OUTBOX_TABLES
from services.receipts.settings import ReceiptsSettings
from services.receipts.signing import ReceiptSigner, ReceiptVerifier, SigningKeyError

NAME = "receipts"
PORT = 8003
log = logging.getLogger(__name__)


def load_settings() -> ReceiptsSettings:
    return ReceiptsSettings()


def build_issuing(
    settings: ReceiptsSettings, municipality: MunicipalitySettings | None = None
) -> service.Issuing:
    """The signer and the issuer's details, loaded once at start-up."""
    municipality = municipality or MunicipalitySettings()
    signer = (
        ReceiptSigner.from_file(settings.signing_key_file)
        if settings.signing_key_file is not None
        else ReceiptSigner.development(settings.data_dir)
    )
    try:
        former = [path.read_bytes() for path in settings.previous_public_key_files]
    except OSError as error:
        raise SigningKeyError(f"cannot read a previous public key: {error}") from None
    keys = dict(ReceiptVerifier.from_public_pems(former).keys)
    keys[signer.key_id] = signer.public_key
    return service.Issuing(
        signer=signer,
        verifier=ReceiptVerifier(keys),
        issuer=Issuer(municipality.name, municipality.vat_id, settings.office),
        series_code=settings.series_code,
        time_zone=settings.time_zone,
        vat_note=settings.vat_note,
        default_language=settings.default_language,
        base_url=settings.public_base_url,
    )


class PdfWorker:
    """Renders pending receipt PDFs in a background thread; failures wait and are retried."""

    def __init__(self, app: FastAPI, settings: ReceiptsSettings, renderer: service.Renderer) -> None:
        self._app = app
        self._settings = settings
        self._renderer = renderer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="receipts-pdf", daemon=True)

    def run_once(self) -> int:
        return service.render_due_pdfs(
            self._app.state.database.sessionmaker,
            renderer=self._renderer,
            backoff=timedelta(seconds=self._settings.pdf_backoff_seconds),
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:  # a database outage must not end the worker; it tries again later
                log.exception("receipt PDF round failed")
                busy = False
            if not busy:
                self._stop.wait(self._settings.pdf_interval_seconds)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def pdf_renderer(issuing: service.Issuing) -> service.Renderer:
    from services.receipts.render import render_pdf

    return lambda sealed: render_pdf(sealed, base_url=issuing.base_url, time_zone=issuing.time_zone)


def create_app(
    settings: ReceiptsSettings | None = None, *, relay_client: httpx.Client | None = None
) -> FastAPI:
    settings = settings or load_settings()
    relay = relay_lifespan(service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.issuing = build_issuing(settings)
        worker = PdfWorker(app, settings, pdf_renderer(app.state.issuing))
        app.state.pdf_worker = worker
        if settings.pdf_worker_enabled:
            worker.start()
        try:
            async with relay(app):
                yield
        finally:
            if settings.pdf_worker_enabled:
                worker.stop()

    app = create_service_app(
        name=NAME,
        title="Tessera receipts",
        description="Sealed e-receipts for the payments citizens make, their public verification, "
        "and the reconciliation of receipts, payouts and bank statements",
        settings=settings,
        database_url=settings.resolved_database_url(),
        routers=[api, reconciliation_api, pages, webhooks],
        extra_lifespan=lifespan,
    )
    app.state.outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(settings.subscribers))
    return app
