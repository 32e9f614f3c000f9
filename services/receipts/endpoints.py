"""Receipts HTTP: the officers' receipts and reconciliation API under /v1, the public verification
page, the officers' dashboard page, and the signed event receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, StreamingResponse

from services.common.bounds import MAX_OFFSET
from services.common.db import Database, SessionDep, SessionRoute
from services.common.identity import OfficerDep
from services.common.languages import choose_language
from services.common.webhooks import SIGNATURE_HEADER, RawBodyDep, receive
from services.receipts import pages as page_views
from services.receipts import reconciliation, service
from services.receipts.errors import StatementTooLarge
from services.receipts.models import INBOX_TABLE, EventOutcome
from services.receipts.schemas import (
    ChainCheck,
    DailyCloseCreate,
    DailyCloseRead,
    EventAck,
    ItemPage,
    PayoutImport,
    PayoutImportResult,
    ReceiptPage,
    ReceiptRead,
    RunCreate,
    RunRead,
    SeriesRead,
    StatementImportResult,
)
from services.receipts.statements import MAX_STATEMENT_BYTES

api = APIRouter(prefix="/v1/receipts", tags=["receipts"], route_class=SessionRoute)
reconciliation_api = APIRouter(prefix="/v1/reconciliation", tags=["reconciliation"], route_class=SessionRoute)
pages = APIRouter(tags=["pages"], include_in_schema=False, route_class=SessionRoute)
webhooks = APIRouter(tags=["events"], route_class=SessionRoute)

PDF_RETRY_AFTER_SECONDS = 5


async def _issuing(request: Request) -> service.Issuing:  # async: no thread-pool hop
    issuing: service.Issuing = request.app.state.issuing
    return issuing


IssuingDep = Annotated[service.Issuing, Depends(_issuing)]


def _window(request: Request) -> int:
    days: int = request.app.state.settings.reconciliation_window_days
    return days


async def _statement_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_STATEMENT_BYTES:
        raise StatementTooLarge(f"Bank statements are limited to {MAX_STATEMENT_BYTES:,} bytes")
    body = await request.body()
    if len(body) > MAX_STATEMENT_BYTES:
        raise StatementTooLarge(f"Bank statements are limited to {MAX_STATEMENT_BYTES:,} bytes")
    return body


# ---- receipts --------------------------------------------------------------------------------


@api.get("", summary="Receipts, newest first")
def list_receipts(
    session: SessionDep,
    caller: OfficerDep,
    issuing: IssuingDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    payment_id: Annotated[uuid.UUID | None, Query(description="Only this payment's receipts")] = None,
    series: Annotated[str | None, Query(max_length=32, description="Only this series")] = None,
) -> ReceiptPage:
    items, total = service.list_receipts(
        session,
        limit=limit,
        offset=offset,
        base_url=issuing.base_url,
        payment_id=payment_id,
        series_key=series,
    )
    return ReceiptPage(items=items, total=total, limit=limit, offset=offset)


@api.get("/series", summary="Numbering series and where each stands")
def list_series(session: SessionDep, caller: OfficerDep) -> list[SeriesRead]:
    return service.list_series(session)


@api.get(
    "/series/{series_key}/verification", summary="Check a whole series: hashes, signatures, chain, closes"
)
def verify_series(
    series_key: str, session: SessionDep, caller: OfficerDep, issuing: IssuingDep
) -> ChainCheck:
    return service.check_series(session, series_key=series_key, verifier=issuing.verifier)


@api.get("/{receipt_id}", summary="One receipt with its record, hash and signature")
def get_receipt(
    receipt_id: uuid.UUID, session: SessionDep, caller: OfficerDep, issuing: IssuingDep
) -> ReceiptRead:
    return service.receipt_read(session, receipt_id=receipt_id, base_url=issuing.base_url)


@api.get("/{receipt_id}/pdf", summary="The archival PDF/A-3b rendering (503 while it is being rendered)")
def get_receipt_pdf(receipt_id: uuid.UUID, session: SessionDep, caller: OfficerDep) -> Response:
    pdf, name = service.receipt_pdf(session, receipt_id=receipt_id, retry_after=PDF_RETRY_AFTER_SECONDS)
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@api.get("/{receipt_id}/html", summary="The receipt as a web page", response_class=HTMLResponse)
def get_receipt_html(
    receipt_id: uuid.UUID, session: SessionDep, caller: OfficerDep, issuing: IssuingDep
) -> HTMLResponse:
    return page_views.html_response(service.receipt_html(session, receipt_id=receipt_id, issuing=issuing))


# ---- reconciliation --------------------------------------------------------------------------


@reconciliation_api.post("/statements", status_code=201, summary="Upload a camt.053 or MT940 bank statement")
def upload_statement(
    body: Annotated[bytes, Depends(_statement_body)],
    session: SessionDep,
    caller: OfficerDep,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> StatementImportResult:
    """The raw file as the request body. All or nothing: a file with any error is refused with a
    per-line report (``errors``); entries already known from an earlier upload are not added again."""
    return reconciliation.import_statement(session, data=body, filename=filename, imported_by=caller.name)


@reconciliation_api.post(
    "/payouts", status_code=201, summary="Import provider payouts and balance transactions"
)
def import_payouts(data: PayoutImport, session: SessionDep, caller: OfficerDep) -> PayoutImportResult:
    return reconciliation.import_payouts(session, payouts=data.payouts)


@reconciliation_api.post("/runs", status_code=201, summary="Reconcile receipts, payouts and bank entries")
def create_run(data: RunCreate, request: Request, session: SessionDep, caller: OfficerDep) -> RunRead:
    scope = reconciliation.scope_of(
        as_of=data.as_of,
        date_from=data.date_from,
        date_to=data.date_to,
        window_days=data.window_days if data.window_days is not None else _window(request),
    )
    return RunRead.model_validate(
        reconciliation.run(session, scope=scope, created_by=caller.name), from_attributes=True
    )


@reconciliation_api.get("/runs/{run_id}", summary="One run: its inputs and totals per outcome")
def get_run(run_id: uuid.UUID, session: SessionDep, caller: OfficerDep) -> RunRead:
    return RunRead.model_validate(reconciliation.get_run(session, run_id=run_id), from_attributes=True)


@reconciliation_api.get("/runs/{run_id}/items", summary="A run's items, optionally of some outcomes")
def get_run_items(
    run_id: uuid.UUID,
    session: SessionDep,
    caller: OfficerDep,
    outcome: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ItemPage:
    items, total = reconciliation.run_items(
        session, run_id=run_id, outcomes=outcome, limit=limit, offset=offset
    )
    return ItemPage(items=items, total=total, limit=limit, offset=offset)


@reconciliation_api.get("/runs/{run_id}/export.csv", summary="A run's items as CSV")
def export_run(
    run_id: uuid.UUID, request: Request, session: SessionDep, caller: OfficerDep
) -> StreamingResponse:
    reconciliation.get_run(session, run_id=run_id)  # a 404 before any byte is sent
    database: Database = request.app.state.database

    def chunks() -> Iterator[str]:
        # Its own session: the request's is closed once this function returns, before streaming.
        with database.sessionmaker() as reader:
            yield from reconciliation.export_csv(reader, run_id=run_id)

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{run_id}.csv"'},
    )


@reconciliation_api.post(
    "/closes",
    status_code=201,
    summary="Close a day: what each series issued, fixed",
    responses={404: {"description": "No receipt was issued that day"}},
)
def close_day(
    data: DailyCloseCreate, session: SessionDep, caller: OfficerDep, issuing: IssuingDep
) -> list[DailyCloseRead]:
    closes = service.close_day(session, day=data.day, issuing=issuing, closed_by=caller.name)
    return [DailyCloseRead.model_validate(c) for c in closes]


@reconciliation_api.get("/closes", summary="Daily closes, newest first")
def list_closes(
    session: SessionDep, caller: OfficerDep, limit: Annotated[int, Query(ge=1, le=366)] = 31
) -> list[DailyCloseRead]:
    return [DailyCloseRead.model_validate(c) for c in service.list_closes(session, limit=limit)]


@reconciliation_api.get(
    "/dashboard",
    summary="The officers' reconciliation page",
    response_class=HTMLResponse,
    responses={404: {"description": "No reconciliation run with the id given in ?run="}},
)
def dashboard(
    request: Request,
    session: SessionDep,
    caller: OfficerDep,
    issuing: IssuingDep,
    run: Annotated[uuid.UUID | None, Query()] = None,
    currency: Annotated[str | None, Query(min_length=3, max_length=3)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """The page with an API key in the header; browsers open it at ``/reconciliation``."""
    language = choose_language(
        switch=lang, accept_language=request.headers.get("accept-language"), fallback=issuing.default_language
    )
    page = page_views.dashboard(session, run_id=run, currency=currency, language=language)
    return page_views.html_response(page)


# The same page for officers in a browser: the gateway's SESSION route admits the login cookie of
# the officer pages here (and only on pages; the /v1 API above never reads a cookie).
pages.add_api_route("/reconciliation", dashboard, methods=["GET"], response_class=HTMLResponse)


# ---- public pages ----------------------------------------------------------------------------


@pages.get("/verify/{receipt_id}", response_class=HTMLResponse)
def verify_page(
    receipt_id: uuid.UUID,
    session: SessionDep,
    issuing: IssuingDep,
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> HTMLResponse:
    """No login: reached from the QR code on a receipt; in the receipt's language or ``?lang=``."""
    return page_views.verification(session, receipt_id=receipt_id, issuing=issuing, language=lang)


# ---- events ----------------------------------------------------------------------------------


@webhooks.post("/webhooks/events", summary="Signed events from the other Tessera services")
def receive_event(request: Request, body: RawBodyDep, session: SessionDep, issuing: IssuingDep) -> EventAck:
    """Verify the ``Tessera-Signature`` over the raw body, drop duplicates, apply the event."""
    secrets: list[str] = request.app.state.settings.webhook_secret_list
    signature = request.headers.get(SIGNATURE_HEADER)
    received = receive(session, INBOX_TABLE, body=body, signature=signature, secrets=secrets)
    if not received.new:
        return EventAck(event_id=received.event.id, outcome=EventOutcome.DUPLICATE)
    outcome = service.handle_event(
        session, event_type=received.event.type, data=received.event.data, issuing=issuing
    )
    return EventAck(event_id=received.event.id, outcome=outcome)
