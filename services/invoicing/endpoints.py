"""Invoicing HTTP: parse, call one service function, return."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from services.common.bounds import MAX_OFFSET
from services.common.db import SessionDep, SessionRoute
from services.common.identity import OfficerDep, PrincipalDep, SupplierDep
from services.invoicing import service
from services.invoicing.errors import InvoiceTooLarge, NotXml
from services.invoicing.repository import InvoiceFilter
from services.invoicing.schemas import (
    InvoicePage,
    InvoiceRead,
    InvoiceSummary,
    RoutingCodeCreate,
    RoutingCodeRead,
    RoutingCodeUpdate,
    StatusChangeCreate,
    StatusChangeRead,
    VerificationRead,
    WebhookRead,
    WebhookUpdate,
)
from services.invoicing.ubl.lifecycle import InvoiceStatus
from services.invoicing.ubl.render import NotRenderable, render_invoice_html

XML_MEDIA_TYPES = frozenset({"application/xml", "text/xml"})
XML_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"}
# The rendered invoice holds supplier-chosen text: no script, no external resource, no framing.
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; form-action 'none'"
)


async def current_runtime(request: Request) -> service.Runtime:  # async: no thread-pool hop for a lookup
    runtime: service.Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[service.Runtime, Depends(current_runtime)]


def is_xml_media_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media in XML_MEDIA_TYPES or (media.startswith("application/") and media.endswith("+xml"))


async def xml_body(request: Request) -> bytes:
    """The request body, refused before reading when it is not XML (415) or too large (413)."""
    runtime: service.Runtime = request.app.state.runtime
    limit = runtime.max_invoice_bytes
    if not is_xml_media_type(request.headers.get("content-type")):
        raise NotXml(
            "Send the UBL document as 'Content-Type: application/xml'; got "
            f"{request.headers.get('content-type') or 'no content type'}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InvoiceTooLarge(f"The document has {declared} bytes; at most {limit} are accepted", limit=limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise InvoiceTooLarge(
                f"The document is larger than {limit} bytes, the most accepted", limit=limit
            )
    data = bytes(body)
    start = data.lstrip(b" \t\r\n")
    # A byte order mark or "<" (possibly in UTF-16) opens any XML document; anything else is not one.
    if not start or not (
        start[:1] == b"<" or start[:2] in (b"\xff\xfe", b"\xfe\xff") or start[:3] == b"\xef\xbb\xbf"
    ):
        raise NotXml("The body is not an XML document (it must start with '<' or a byte order mark)")
    return data


XmlBody = Annotated[bytes, Depends(xml_body)]

# The body is read raw (``xml_body``), so FastAPI cannot describe it by itself.
XML_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The UBL 2.1 Invoice or CreditNote document",
        "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
    }
}
NO_WEBHOOK: dict[int | str, dict[str, Any]] = {404: {"description": "No webhook URL is registered"}}

# SessionRoute: a plain endpoint commits in its own worker thread, saving a thread-pool hop.
api = APIRouter(prefix="/v1/invoices", tags=["invoices"], route_class=SessionRoute)
inbox = APIRouter(prefix="/v1/inbox", tags=["invoices"], route_class=SessionRoute)
routing = APIRouter(prefix="/v1/routing-codes", tags=["routing codes"], route_class=SessionRoute)


def _filter(
    status: InvoiceStatus | None, issued_from: dt.date | None, issued_to: dt.date | None, number: str | None
) -> InvoiceFilter:
    return InvoiceFilter(status=status, issued_from=issued_from, issued_to=issued_to, number=number)


StatusQuery = Annotated[
    InvoiceStatus | None, Query(description="Only this Peppol status (AB, IP, UQ, CA, RE, AP, PD)")
]
FromQuery = Annotated[dt.date | None, Query(description="Issued on or after (BT-2)")]
ToQuery = Annotated[dt.date | None, Query(description="Issued on or before (BT-2)")]
NumberQuery = Annotated[str | None, Query(max_length=100, description="This invoice number (BT-1)")]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


@api.post(
    "",
    status_code=201,
    response_model=InvoiceRead,
    summary="Submit a UBL 2.1 invoice or credit note (body: the XML)",
    responses={
        409: {"description": "Duplicate (links the original) or Idempotency-Key reused"},
        413: {"description": "Too large"},
        415: {"description": "Not XML"},
        422: {"description": "Not accepted: the full validation report"},
    },
    openapi_extra=XML_REQUEST_BODY,
)
def submit_invoice(
    session: SessionDep,
    supplier: SupplierDep,
    runtime: RuntimeDep,
    body: XmlBody,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Response:
    submitted = service.submit_invoice(
        session, runtime=runtime, principal=supplier, body=body, idempotency_key=idempotency_key
    )
    headers = {"Location": f"/v1/invoices/{submitted.invoice.id}"}
    if not submitted.created:
        headers["Idempotent-Replayed"] = "true"
    # Serialised here, in the endpoint's worker thread: returned as a model, FastAPI would check it
    # against the response model in another thread-pool hop.
    answer = InvoiceRead.of(submitted.invoice).model_dump_json(by_alias=True)
    return Response(answer, status_code=201, headers=headers, media_type="application/json")


@api.get("", summary="The calling supplier's invoices, newest first")
def list_invoices(
    session: SessionDep,
    supplier: SupplierDep,
    status: StatusQuery = None,
    issued_from: FromQuery = None,
    issued_to: ToQuery = None,
    number: NumberQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> InvoicePage:
    items, total = service.list_supplier_invoices(
        session,
        principal=supplier,
        where=_filter(status, issued_from, issued_to, number),
        limit=limit,
        offset=offset,
    )
    return InvoicePage(items=[InvoiceSummary.of(i) for i in items], total=total, limit=limit, offset=offset)


@api.post(
    "/verify",
    summary="Check a sealed (or signed) invoice: who sealed it and whether anything changed",
    responses={413: {"description": "Too large"}, 415: {"description": "Not XML"}},
    openapi_extra=XML_REQUEST_BODY,
)
def verify(runtime: RuntimeDep, _caller: PrincipalDep, body: XmlBody) -> VerificationRead:
    result = service.verify_document(runtime=runtime, body=body)
    return VerificationRead.model_validate(service.verification_dict(result))


@api.get("/routing-codes", summary="The routing codes (BT-10) an invoice may name as buyer reference")
def supplier_routing_codes(session: SessionDep, _caller: PrincipalDep) -> list[RoutingCodeRead]:
    return [RoutingCodeRead.of(c) for c in service.list_routing_codes(session, include_inactive=False)]


@api.get("/webhook", summary="Where this supplier's invoice events are sent", responses=NO_WEBHOOK)
def get_webhook(session: SessionDep, supplier: SupplierDep) -> WebhookRead:
    return WebhookRead.of(service.get_webhook(session, principal=supplier))


@api.put("/webhook", summary="Register (or change) the URL that receives invoice.status_changed events")
def put_webhook(
    body: WebhookUpdate, session: SessionDep, supplier: SupplierDep, runtime: RuntimeDep
) -> WebhookRead:
    hook, secret = service.set_webhook(
        session, runtime=runtime, principal=supplier, url=body.url, rotate_secret=body.rotate_secret
    )
    return WebhookRead.of(hook, secret)


@api.delete("/webhook", status_code=204, summary="Stop sending events to this supplier", responses=NO_WEBHOOK)
def delete_webhook(session: SessionDep, supplier: SupplierDep) -> Response:
    service.delete_webhook(session, principal=supplier)
    return Response(status_code=204)


@api.get("/{invoice_id}", summary="One invoice, with its validation report and seal")
def get_invoice(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> InvoiceRead:
    return InvoiceRead.of(service.visible_invoice(session, principal=caller, invoice_id=invoice_id))


def _xml(data: bytes, filename: str) -> Response:
    headers = {**XML_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(content=data, media_type="application/xml", headers=headers)


@api.get("/{invoice_id}/original", summary="The exact bytes received", response_class=Response)
def get_original(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> Response:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id, with_documents=True)
    return _xml(invoice.original, f"{invoice.id}-original.xml")


@api.get("/{invoice_id}/sealed", summary="The sealed archive copy (XAdES-BES)", response_class=Response)
def get_sealed(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> Response:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id, with_documents=True)
    return _xml(invoice.sealed, f"{invoice.id}-sealed.xml")


@api.get("/{invoice_id}/report", summary="The validation report")
def get_report(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> JSONResponse:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id)
    return JSONResponse(invoice.report)


@api.get("/{invoice_id}/events", summary="The status history, oldest first")
def get_events(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> list[StatusChangeRead]:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id)
    return [StatusChangeRead.of(c) for c in service.history(session, invoice=invoice)]


@api.get("/{invoice_id}/html", summary="The invoice rendered for people", response_class=HTMLResponse)
def get_html(invoice_id: uuid.UUID, session: SessionDep, caller: PrincipalDep) -> HTMLResponse:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id, with_documents=True)
    try:
        page = render_invoice_html(invoice.original)
    except NotRenderable as error:  # stored invoices were parsed once; this is a safety net
        page = f"<!doctype html><title>Invoice</title><p>This invoice cannot be shown: {error}</p>"
    return HTMLResponse(page, headers={"Content-Security-Policy": HTML_CSP, **XML_HEADERS})


@api.get(
    "/{invoice_id}/responses/{number}",
    summary="The Invoice Response (UBL ApplicationResponse) of one status",
    response_class=Response,
)
def get_response(
    invoice_id: uuid.UUID, number: Annotated[int, Path(ge=1)], session: SessionDep, caller: PrincipalDep
) -> Response:
    invoice = service.visible_invoice(session, principal=caller, invoice_id=invoice_id)
    return _xml(
        service.response_document(session, invoice=invoice, number=number),
        f"{invoice.id}-response-{number}.xml",
    )


@api.post("/{invoice_id}/status", status_code=201, summary="Move an invoice along its lifecycle (officers)")
def change_status(
    invoice_id: uuid.UUID,
    body: StatusChangeCreate,
    session: SessionDep,
    officer: OfficerDep,
    runtime: RuntimeDep,
) -> StatusChangeRead:
    decision = service.StatusDecision(
        status=body.status,
        reasons=tuple(body.reasons),
        actions=tuple(body.actions),
        note=body.note,
        payment_reference=body.payment_reference,
    )
    change = service.change_status(
        session, runtime=runtime, principal=officer, invoice_id=invoice_id, decision=decision
    )
    return StatusChangeRead.of(change)


@inbox.get("", summary="Every invoice, newest first (officers)")
def list_inbox(
    session: SessionDep,
    _officer: OfficerDep,
    status: StatusQuery = None,
    issued_from: FromQuery = None,
    issued_to: ToQuery = None,
    number: NumberQuery = None,
    supplier_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> InvoicePage:
    where = InvoiceFilter(
        supplier_id=supplier_id, status=status, issued_from=issued_from, issued_to=issued_to, number=number
    )
    items, total = service.list_all_invoices(session, where=where, limit=limit, offset=offset)
    return InvoicePage(items=[InvoiceSummary.of(i) for i in items], total=total, limit=limit, offset=offset)


@routing.get("", summary="The routing codes (BT-10) suppliers may invoice")
def list_routing_codes(
    session: SessionDep, _caller: PrincipalDep, include_inactive: bool = False
) -> list[RoutingCodeRead]:
    codes = service.list_routing_codes(session, include_inactive=include_inactive)
    return [RoutingCodeRead.of(c) for c in codes]


@routing.post(
    "",
    status_code=201,
    summary="Register a routing code (officers)",
    responses={409: {"description": "The routing code exists already"}},
)
def add_routing_code(body: RoutingCodeCreate, session: SessionDep, officer: OfficerDep) -> RoutingCodeRead:
    return RoutingCodeRead.of(
        service.add_routing_code(session, principal=officer, code=body.code, description=body.description)
    )


@routing.patch("/{code}", summary="Deactivate, reactivate or describe a routing code (officers)")
def update_routing_code(
    code: str, body: RoutingCodeUpdate, session: SessionDep, _officer: OfficerDep
) -> RoutingCodeRead:
    return RoutingCodeRead.of(
        service.update_routing_code(session, code=code, active=body.active, description=body.description)
    )
