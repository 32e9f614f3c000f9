"""Server-rendered pages for people: the supplier portal (upload an invoice, read its validation
report, follow its status) and the officers' inbox (list, filter, open, decide).

Authentication: the gateway's API keys. ``/invoicing/login`` (a public route) takes the key in
a form and keeps it in the ``tessera_session`` cookie (HttpOnly, Secure, SameSite=Strict,
Path=/, so the same login opens the receipts service's reconciliation page); every other page
is a gateway ``SESSION`` route, where the gateway reads the key from that cookie, checks it
(revoked keys are refused) and forwards the caller's signed identity like for the API. So the
pages hold no secret of their own and a revoked key ends its sessions at once.

Forgery: the cookie is SameSite=Strict, and every form also carries a token bound to the key
(an HMAC with the internal secret) or, on the login form, a random double-submit token.
Templates are autoescaped; pages allow no script at all (Content-Security-Policy).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.common.db import SessionDep
from services.common.errors import BadRequest, Forbidden, NotFound, TesseraError
from services.common.identity import OfficerDep, Principal, PrincipalDep, Role, SupplierDep
from services.invoicing import service
from services.invoicing.endpoints import HTML_CSP, RuntimeDep
from services.invoicing.errors import InvoiceInvalid, InvoiceTooLarge
from services.invoicing.models import Invoice
from services.invoicing.repository import InvoiceFilter
from services.invoicing.schemas import STATUS_NAMES
from services.invoicing.ubl.lifecycle import (
    REASON_NAMES,
    TRANSITIONS,
    InvoiceStatus,
    StatusAction,
    StatusReason,
)
from services.invoicing.ubl.render import NotRenderable, render_invoice_html

SESSION_COOKIE = "tessera_session"  # the name gateway.policy.SESSION_COOKIE reads
LOGIN_COOKIE = "tessera_login"
COOKIE_PATH = "/invoicing"
# The session is the login of every officer page behind the gateway (/invoicing, /reconciliation);
# the gateway reads it on SESSION routes only, so the API never accepts it.
SESSION_COOKIE_PATH = "/"
SESSION_SECONDS = 8 * 3600
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_TERM = re.compile(r"\b(?:BT|BG)-\d+(?:-\d+)?\b")
_PAGE_SIZE = 50

pages = APIRouter(prefix="/invoicing", include_in_schema=False)


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("services.invoicing", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(template: str, *, code: int = 200, **context: Any) -> HTMLResponse:
    html = (
        _templates().get_template(template).render(status_names=STATUS_NAMES, page_size=_PAGE_SIZE, **context)
    )
    return HTMLResponse(html, status_code=code, headers=PAGE_HEADERS)


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})


def csrf_token(request: Request, principal: Principal) -> str:
    secret: str = request.app.state.settings.internal_secret_list[0]
    return hmac.new(secret.encode(), f"pages:{principal.key_id}".encode(), hashlib.sha256).hexdigest()


def _check_csrf(request: Request, principal: Principal, presented: object) -> None:
    if not isinstance(presented, str) or not hmac.compare_digest(presented, csrf_token(request, principal)):
        raise Forbidden(
            "The form is missing its security token or it does not match; reload the page and retry"
        )


async def _form(request: Request) -> dict[str, Any]:
    runtime: service.Runtime = request.app.state.runtime
    async with request.form(max_files=1, max_fields=20, max_part_size=64 * 1024) as form:
        values: dict[str, Any] = {}
        for name, value in form.multi_items():
            if isinstance(value, str):
                values[name] = value
            else:
                data = await value.read(runtime.max_invoice_bytes + 1)
                if len(data) > runtime.max_invoice_bytes:
                    raise InvoiceTooLarge(
                        f"The file is larger than {runtime.max_invoice_bytes} bytes, the most accepted"
                    )
                values[name] = data
        return values


FormDep = Annotated[dict[str, Any], Depends(_form)]


# Validation report for people ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShownFinding:
    rule: str
    severity: str
    message: str
    location: str
    line: int | None
    terms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FindingGroup:
    title: str
    findings: tuple[ShownFinding, ...]


_GROUPS = (
    ("TESSERA", "The municipality's checks (public buyer)"),
    ("XML", "Readable XML"),
    ("DOCTYPE", "Document type"),
    ("XSD", "Structure (UBL 2.1 schema)"),
    ("BR-CL", "Code lists"),
    ("BR-CO", "Calculations and conditions"),
    ("BR-DEC", "Decimals"),
    ("UBL-", "UBL syntax rules"),
    ("BR-", "EN 16931 business rules"),
)


def _group_title(rule: str) -> str:
    if re.match(r"^BR-[A-Z]+-\d", rule) and not rule.startswith(("BR-CL", "BR-CO", "BR-DEC")):
        return "VAT category rules"
    return next((title for prefix, title in _GROUPS if rule.startswith(prefix)), "Other")


def _terms(finding: dict[str, Any]) -> tuple[str, ...]:
    found = dict.fromkeys(_TERM.findall(str(finding.get("message", ""))))
    return tuple(found)


def group_findings(findings: Iterable[dict[str, Any]]) -> list[FindingGroup]:
    """Findings grouped by family (fatal first within each), groups in the order people fix them."""
    grouped: dict[str, list[ShownFinding]] = {}
    for f in findings:
        shown = ShownFinding(
            rule=str(f["rule"]),
            severity=str(f["severity"]),
            message=str(f["message"]),
            location=str(f.get("location") or "/"),
            line=f.get("line"),
            terms=_terms(f),
        )
        grouped.setdefault(_group_title(shown.rule), []).append(shown)
    order = [title for _, title in _GROUPS] + ["VAT category rules", "Other"]
    return [
        FindingGroup(title, tuple(sorted(grouped[title], key=lambda s: (s.severity != "fatal", s.rule))))
        for title in sorted(grouped, key=order.index)
    ]


# Login -----------------------------------------------------------------------------------


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.cookie_secure)


@pages.get("/login")
def login_form(request: Request) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _page("login.html", csrf=token, error=None)
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=900,
        path=COOKIE_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


@pages.post("/login")
def login(request: Request, form: FormDep) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    token = form.get("csrf")
    if not cookie or not isinstance(token, str) or not hmac.compare_digest(cookie, token):
        return _page(
            "login.html", csrf="", error="The login form expired; reload the page and retry.", code=403
        )
    key = form.get("key")
    if not isinstance(key, str) or not re.fullmatch(r"tsk_[0-9a-f]{32}_[A-Za-z0-9_-]{10,100}", key.strip()):
        token = secrets.token_urlsafe(32)
        page = _page("login.html", csrf=token, error="That is not a Tessera API key (tsk_...).", code=400)
        page.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=900,
            path=COOKIE_PATH,
            secure=_secure(request),
            httponly=True,
            samesite="strict",
        )
        return page
    response = _redirect(f"{COOKIE_PATH}/")
    # The gateway checks the key on the next request; a wrong or revoked key gets its 401 there.
    response.set_cookie(
        SESSION_COOKIE,
        key.strip(),
        max_age=SESSION_SECONDS,
        path=SESSION_COOKIE_PATH,
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(LOGIN_COOKIE, path=COOKIE_PATH)
    return response


@pages.get("/")
def home(principal: PrincipalDep) -> RedirectResponse:
    if principal.role is Role.SUPPLIER:
        return _redirect(f"{COOKIE_PATH}/portal")
    if principal.role in (Role.OFFICER, Role.ADMIN):
        return _redirect(f"{COOKIE_PATH}/inbox")
    raise Forbidden("These pages are for suppliers and officers")


@pages.post("/logout")
def logout(request: Request, principal: PrincipalDep, form: FormDep) -> RedirectResponse:
    _check_csrf(request, principal, form.get("csrf"))
    response = _redirect(f"{COOKIE_PATH}/login")
    # COOKIE_PATH: a session from before the login was shared by every officer page.
    for path in (SESSION_COOKIE_PATH, COOKIE_PATH):
        response.delete_cookie(
            SESSION_COOKIE, path=path, secure=_secure(request), httponly=True, samesite="strict"
        )
    return response


# Supplier portal ---------------------------------------------------------------------------


def _status_filter(value: str | None) -> InvoiceStatus | None:
    if not value:
        return None
    try:
        return InvoiceStatus(value)
    except ValueError:
        raise BadRequest(f"Unknown status {value!r}") from None


@pages.get("/portal")
def portal(
    request: Request, session: SessionDep, supplier: SupplierDep, status: str | None = None, offset: int = 0
) -> HTMLResponse:
    where = InvoiceFilter(status=_status_filter(status))
    items, total = service.list_supplier_invoices(
        session, principal=supplier, where=where, limit=_PAGE_SIZE, offset=max(offset, 0)
    )
    return _page(
        "portal.html",
        principal=supplier,
        csrf=csrf_token(request, supplier),
        invoices=items,
        total=total,
        offset=max(offset, 0),
        query=urlencode({"status": status or ""}),
        status=status or "",
        statuses=list(InvoiceStatus),
        error=None,
        report=None,
    )


def _supplier_list(session: Any, supplier: Principal) -> dict[str, Any]:
    items, total = service.list_supplier_invoices(
        session, principal=supplier, where=InvoiceFilter(), limit=_PAGE_SIZE, offset=0
    )
    return {"invoices": items, "total": total, "offset": 0, "query": ""}


@pages.post("/portal/upload")
def upload(
    request: Request, session: SessionDep, supplier: SupplierDep, runtime: RuntimeDep, form: FormDep
) -> Response:
    _check_csrf(request, supplier, form.get("csrf"))
    data = form.get("invoice")
    context: dict[str, Any] = {
        "principal": supplier,
        "csrf": csrf_token(request, supplier),
        "status": "",
        "statuses": list(InvoiceStatus),
    }
    if not isinstance(data, bytes) or not data:
        context.update(_supplier_list(session, supplier))
        return _page(
            "portal.html",
            code=400,
            error="Choose the invoice file (UBL XML) to upload.",
            report=None,
            **context,
        )
    try:
        submitted = service.submit_invoice(session, runtime=runtime, principal=supplier, body=data)
    except InvoiceInvalid as refused:
        session.rollback()
        context.update(_supplier_list(session, supplier))
        report = refused.extra["report"]
        return _page(
            "portal.html",
            code=422,
            error="The invoice was not accepted. Correct the findings below and upload it again.",
            report={"groups": group_findings(report["findings"]), **report},
            **context,
        )
    except TesseraError as refused:
        session.rollback()
        context.update(_supplier_list(session, supplier))
        return _page("portal.html", code=refused.status, error=refused.detail, report=None, **context)
    return _redirect(f"{COOKIE_PATH}/portal/invoices/{submitted.invoice.id}")


def _detail_context(session: Any, invoice: Invoice) -> dict[str, Any]:
    return {
        "invoice": invoice,
        "history": service.history(session, invoice=invoice),
        "groups": group_findings(invoice.report.get("findings", [])),
        "reason_names": REASON_NAMES,
    }


@pages.get("/portal/invoices/{invoice_id}")
def portal_invoice(
    request: Request, invoice_id: uuid.UUID, session: SessionDep, supplier: SupplierDep
) -> HTMLResponse:
    invoice = service.visible_invoice(session, principal=supplier, invoice_id=invoice_id)
    return _page(
        "invoice.html",
        principal=supplier,
        csrf=csrf_token(request, supplier),
        officer=False,
        error=None,
        **_detail_context(session, invoice),
    )


@pages.get("/view/{invoice_id}")
def view(invoice_id: uuid.UUID, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    invoice = service.visible_invoice(
        session, principal=principal, invoice_id=invoice_id, with_documents=True
    )
    try:
        html = render_invoice_html(invoice.original)
    except NotRenderable as error:
        html = f"<!doctype html><title>Invoice</title><p>This invoice cannot be shown: {error}</p>"
    return HTMLResponse(html, headers={**PAGE_HEADERS, "Content-Security-Policy": HTML_CSP})


@pages.get("/documents/{invoice_id}/{which}")
def document(invoice_id: uuid.UUID, which: str, session: SessionDep, principal: PrincipalDep) -> Response:
    """The original, the sealed copy or an Invoice Response (``response-N``), as a download."""
    invoice = service.visible_invoice(
        session, principal=principal, invoice_id=invoice_id, with_documents=True
    )
    if which == "original":
        data = invoice.original
    elif which == "sealed":
        data = invoice.sealed
    elif which.startswith("response-") and which.removeprefix("response-").isdigit():
        data = service.response_document(
            session, invoice=invoice, number=int(which.removeprefix("response-"))
        )
    else:
        raise NotFound(f"No document {which!r}; use original, sealed or response-N")
    headers = {**PAGE_HEADERS, "Content-Disposition": f'attachment; filename="{invoice.id}-{which}.xml"'}
    return Response(data, media_type="application/xml", headers=headers)


# Officers' inbox ---------------------------------------------------------------------------


@pages.get("/inbox")
def inbox(
    request: Request,
    session: SessionDep,
    officer: OfficerDep,
    status: str | None = None,
    supplier: str | None = None,
    number: str | None = None,
    offset: int = 0,
) -> HTMLResponse:
    where = InvoiceFilter(status=_status_filter(status), supplier_id=supplier or None, number=number or None)
    items, total = service.list_all_invoices(session, where=where, limit=_PAGE_SIZE, offset=max(offset, 0))
    return _page(
        "inbox.html",
        principal=officer,
        csrf=csrf_token(request, officer),
        invoices=items,
        total=total,
        offset=max(offset, 0),
        query=urlencode({"status": status or "", "supplier": supplier or "", "number": number or ""}),
        status=status or "",
        supplier=supplier or "",
        number=number or "",
        statuses=list(InvoiceStatus),
    )


def _officer_detail(
    request: Request,
    session: Any,
    officer: Principal,
    invoice: Invoice,
    *,
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    return _page(
        "invoice.html",
        code=status,
        principal=officer,
        csrf=csrf_token(request, officer),
        officer=True,
        error=error,
        targets=sorted(TRANSITIONS[invoice.status], key=list(InvoiceStatus).index),
        reasons=list(StatusReason),
        actions=list(StatusAction),
        **_detail_context(session, invoice),
    )


@pages.get("/inbox/invoices/{invoice_id}")
def inbox_invoice(
    request: Request, invoice_id: uuid.UUID, session: SessionDep, officer: OfficerDep
) -> HTMLResponse:
    invoice = service.visible_invoice(session, principal=officer, invoice_id=invoice_id)
    return _officer_detail(request, session, officer, invoice, error=None)


@pages.post("/inbox/invoices/{invoice_id}/status")
def decide(
    request: Request,
    invoice_id: uuid.UUID,
    session: SessionDep,
    officer: OfficerDep,
    runtime: RuntimeDep,
    form: FormDep,
) -> Response:
    _check_csrf(request, officer, form.get("csrf"))
    try:
        decision = service.StatusDecision(
            status=InvoiceStatus(str(form.get("status", ""))),
            reasons=(StatusReason(str(form["reason"])),) if form.get("reason") else (),
            actions=(StatusAction(str(form["action"])),) if form.get("action") else (),
            note=str(form.get("note") or "")[:2000] or None,
            payment_reference=str(form.get("payment_reference") or "")[:200] or None,
        )
    except ValueError:
        invoice = service.visible_invoice(session, principal=officer, invoice_id=invoice_id)
        return _officer_detail(
            request, session, officer, invoice, error="Choose a status and valid codes.", status=400
        )
    try:
        service.change_status(
            session, runtime=runtime, principal=officer, invoice_id=invoice_id, decision=decision
        )
    except TesseraError as refused:
        session.rollback()
        invoice = service.visible_invoice(session, principal=officer, invoice_id=invoice_id)
        return _officer_detail(
            request, session, officer, invoice, error=refused.detail, status=refused.status
        )
    return _redirect(f"{COOKIE_PATH}/inbox/invoices/{invoice_id}")
