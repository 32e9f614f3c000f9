"""The receipts service: ``uvicorn --factory services.receipts.app:create_app --port 8003``."""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from fastapi import FastAPI

from services.common.chassis import create_service_app
from services.common.outbox import Outbox, Subscriptions
from services.common.relay import relay_lifespan
from services.common.settings import MunicipalitySettings
from services.receipts import service
from services.receipts.chain import SealedReceipt
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


def _start_child(niceness: int, parent: int) -> None:
    """In the PDF child, before any PDF: a lower CPU priority, and an end when the web process
    ends. A web process killed outright (SIGKILL, the OOM killer) never shuts its pool down, and
    the child would otherwise wait for work for ever, holding its memory."""
    os.nice(niceness)
    threading.Thread(target=_end_with_parent, args=(parent,), name="parent-watch", daemon=True).start()


def _end_with_parent(parent: int, interval: float = 1.0) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


class PdfProcess:
    """A renderer that draws each PDF in a child process, one at a time.

    Rendering is CPU-bound Python (about 0.2 s of CPU a receipt, half of it fpdf2 reading and
    subsetting the fonts). In a thread of the web process it held the GIL against the requests:
    while the worker had PDFs to draw, each event took 72 ms instead of 15 (measured on
    PostgreSQL, one event at a time), so receipts fell behind the payments relay exactly when
    there was most to do. The child runs at a lower CPU priority (``niceness``), so requests come
    first and PDFs wait (they are answered 503 with Retry-After meanwhile). It is replaced after
    ``renders_per_process`` PDFs, which bounds whatever its font work leaves in memory, and
    whenever it died.
    """

    def __init__(
        self,
        render: service.Renderer,
        *,
        renders_per_process: int = 200,
        niceness: int = 10,
    ) -> None:
        self._render = render  # picklable: a module-level function or a partial of one
        self._renders_per_process = renders_per_process
        self._niceness = niceness
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, sealed: SealedReceipt) -> bytes:
        if self._pool is None:  # started at the first PDF, not at import or in tests that render none
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                # Not fork: the web process has threads (a fork copies their locks mid-use).
                mp_context=multiprocessing.get_context("spawn"),
                max_tasks_per_child=self._renders_per_process,
                initializer=_start_child,
                initargs=(self._niceness, os.getpid()),
            )
        try:
            return self._pool.submit(self._render, sealed).result()
        except BrokenProcessPool:
            # The child died (killed, out of memory): this PDF fails and is retried later, by a new one.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def pdf_renderer(issuing: service.Issuing) -> PdfProcess:
    from services.receipts.render import render_pdf

    return PdfProcess(functools.partial(render_pdf, base_url=issuing.base_url, time_zone=issuing.time_zone))


def create_app(
    settings: ReceiptsSettings | None = None, *, relay_client: httpx.Client | None = None
) -> FastAPI:
    settings = settings or load_settings()
    relay = relay_lifespan(service=NAME, settings=settings, tables=OUTBOX_TABLES, client=relay_client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.issuing = build_issuing(settings)
        renderer = pdf_renderer(app.state.issuing)
        worker = PdfWorker(app, settings, renderer)
        app.state.pdf_worker = worker
        if settings.pdf_worker_enabled:
            worker.start()
        try:
            async with relay(app):
                yield
        finally:
            if settings.pdf_worker_enabled:
                worker.stop()
            renderer.close()

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
