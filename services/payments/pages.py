"""The citizen pages under /pay: find what I owe by creditor reference, pay it (the sandbox's
card form, or Stripe.js for Stripe), and see the result. Server-rendered, autoescaped Jinja2;
the sandbox flow needs no JavaScript. Every page is in en, it, et, hu or sv (see :mod:`i18n`)."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from services.common.db import SessionDep, SessionRoute, utcnow
from services.common.errors import NotFound, TesseraError
from services.common.outbox import Outbox, OutboxDep
from services.payments import i18n, references, service
from services.payments.endpoints import LimitsDep, ProviderDep, SettingsDep
from services.payments.errors import (
    CardRejected,
    IllegalTransition,
    InvalidCreditorReference,
    RequestAlreadyPaid,
    RequestNotPayable,
    RequestPastDue,
)
from services.payments.models import EXTERNAL, UNFINISHED, Payment, PaymentRequest, PaymentState, RequestState
from services.payments.providers import PaymentProvider, SandboxProvider, parse_card
from services.payments.schemas import PaymentCreate

MAX_FORM_BYTES = 4096
# A card page must not be framed (clickjacking), cached, or leak its URL onwards; the sandbox's
# pages need no script at all.
BASE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
NO_SCRIPT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; frame-ancestors 'none'"
)

_ENV = Environment(
    loader=PackageLoader("services.payments", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_STRIPE_JS = resources.files("services.payments").joinpath("templates/stripe-card.js").read_text("utf-8")

pages = APIRouter(prefix="/pay", tags=["citizen pages"], include_in_schema=False, route_class=SessionRoute)


def page_language(request: Request, fallback: str | None = None) -> str:
    return i18n.choose(
        switch=request.query_params.get("lang"),
        accept_language=request.headers.get("accept-language"),
        fallback=fallback,
    )


def _render(
    template: str, *, lang: str, title_key: str, status: int = 200, csp: str = NO_SCRIPT_CSP, **context: Any
) -> HTMLResponse:
    labels = i18n.labels(lang)
    body = _ENV.get_template(template).render(
        lang=lang,
        t=labels,
        title=labels[title_key],
        languages=list(i18n.LANGUAGE_NAMES.items()),
        **context,
    )
    return HTMLResponse(body, status_code=status, headers={**BASE_HEADERS, "Content-Security-Policy": csp})


def _message(
    lang: str, title_key: str, message_key: str, *, status: int, link: str | None = None
) -> HTMLResponse:
    labels = i18n.labels(lang)
    return _render(
        "message.html",
        lang=lang,
        title_key=title_key,
        status=status,
        message=labels[message_key],
        link=link,
        link_text=labels["continue"],
    )


@pages.get("", response_class=HTMLResponse)
def find_page(request: Request, session: SessionDep, reference: str | None = None) -> Response:
    lang = page_language(request)
    if not reference:
        return _render("find.html", lang=lang, title_key="find_title", reference="", error=None)
    try:
        found = service.find_payment_request(session, creditor_reference=reference)
    except InvalidCreditorReference:
        error = i18n.text("reference_invalid", lang)
        return _render(
            "find.html", lang=lang, title_key="find_title", reference=reference, error=error, status=422
        )
    except NotFound:
        error = i18n.text("not_found", lang)
        return _render(
            "find.html", lang=lang, title_key="find_title", reference=reference, error=error, status=404
        )
    return RedirectResponse(f"/pay/owed/{found.creditor_reference}?lang={lang}", status_code=303)


def _owed_page(session: Session, request: PaymentRequest, lang: str, *, status: int = 200) -> HTMLResponse:
    message_key: str | None = None
    due: service.Due | None = None
    try:
        due = service.next_due(session, request)
    except RequestAlreadyPaid:
        message_key = "already_paid"
    except RequestNotPayable:
        message_key = "request_cancelled"
    except TesseraError:
        message_key = "past_due"
    if due is not None and (request.state is RequestState.EXPIRED or due.due_date < service.today()):
        message_key = "past_due"
    parts = len(service.instalments_of(session, request))
    return _render(
        "owed.html",
        lang=lang,
        title_key="owed_title",
        status=status,
        reference=request.creditor_reference,
        reference_display=references.display(request.creditor_reference),
        payer=request.payer_name,
        description=request.description,
        due=due,
        due_date=due.due_date.isoformat() if due else "",
        instalment=due.instalment_number if due and parts else None,
        instalments=parts,
        amount=i18n.money(due.amount, request.currency, lang) if due else "",
        message=i18n.text(message_key, lang) if message_key else None,
    )


@pages.get("/owed/{creditor_reference}", response_class=HTMLResponse)
def owed_page(creditor_reference: str, request: Request, session: SessionDep) -> Response:
    lang = page_language(request)
    try:
        found = service.find_payment_request(session, creditor_reference=creditor_reference)
    except InvalidCreditorReference:
        return _message(lang, "find_title", "reference_invalid", status=422, link=f"/pay?lang={lang}")
    except NotFound:
        return _message(lang, "find_title", "not_found", status=404, link=f"/pay?lang={lang}")
    return _owed_page(session, found, lang)


@pages.post("/owed/{creditor_reference}", response_class=HTMLResponse)
def start_paying(
    creditor_reference: str,
    request: Request,
    session: SessionDep,
    provider: ProviderDep,
    limits: LimitsDep,
    settings: SettingsDep,
) -> Response:
    """Open a payment for what is due now and send the payer to the card page."""
    lang = page_language(request)
    try:
        found = service.find_payment_request(session, creditor_reference=creditor_reference)
    except (InvalidCreditorReference, NotFound):
        return _message(lang, "find_title", "not_found", status=404, link=f"/pay?lang={lang}")
    try:
        due = service.next_due(session, found)
        # A second click or tab continues the payment already open rather than opening another
        # (two open payments for one debt could both be paid).
        open_payment = service.open_citizen_payment(session, request=found, due=due)
        if open_payment is not None:
            return RedirectResponse(f"{provider.checkout_url(open_payment.id)}?lang={lang}", status_code=303)
        payment_id = uuid.uuid4()
        data = PaymentCreate(
            amount=due.amount,
            currency=found.currency,
            reference=found.creditor_reference,
            description=found.description,
            return_url=f"{settings.public_url}/pay/{payment_id}/result",
            language=lang,
            payment_request_id=found.id,
            instalment_number=due.instalment_number,
        )
        payment = service.create_payment(
            session,
            data=data,
            provider=provider,
            created_by=service.CITIZEN,
            limits=limits,
            payment_id=payment_id,
        )
    except (RequestAlreadyPaid, RequestNotPayable, RequestPastDue):
        session.rollback()
        return _owed_page(session, found, lang, status=409)
    return RedirectResponse(f"{provider.checkout_url(payment.id)}?lang={lang}", status_code=303)


@pages.get("/assets/stripe-card.js")
def stripe_script() -> Response:
    return Response(_STRIPE_JS, media_type="text/javascript", headers={"Cache-Control": "max-age=300"})


def _return_to(payment: Payment) -> str:
    parts = urlsplit(payment.return_url)
    extra = urlencode({"payment_id": str(payment.id), "state": EXTERNAL[payment.state].value})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _card_page(
    session: Session, payment: Payment, provider: PaymentProvider, lang: str, *, error: str | None = None
) -> HTMLResponse:
    amount = i18n.money(payment.amount, payment.currency, lang)
    if isinstance(provider, SandboxProvider):
        return _render(
            "card.html",
            lang=lang,
            title_key="card_title",
            status=422 if error else 200,
            payment_id=payment.id,
            description=payment.description,
            amount=amount,
            error=error,
        )
    from services.payments.stripe_provider import StripeProvider

    assert isinstance(provider, StripeProvider)
    js_origin = "{0.scheme}://{0.netloc}".format(urlsplit(provider.js_url))
    api_origin = "{0.scheme}://{0.netloc}".format(urlsplit(provider.api_base))
    csp = (
        f"default-src 'none'; script-src 'self' {js_origin}; frame-src {js_origin}; connect-src {api_origin} "
        f"{js_origin}; style-src 'unsafe-inline'; img-src {js_origin} data:; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    return _render(
        "stripe.html",
        lang=lang,
        title_key="card_title",
        csp=csp,
        payment_id=payment.id,
        description=payment.description,
        amount=amount,
        client_secret=payment.provider_client_secret,
        publishable_key=provider.publishable_key,
        stripe_js=provider.js_url,
        result_url=f"/pay/{payment.id}/result?lang={lang}",
    )


@pages.get("/{payment_id}", response_class=HTMLResponse)
def card_page(
    payment_id: uuid.UUID, request: Request, session: SessionDep, provider: ProviderDep
) -> Response:
    try:
        payment = service.get_payment(session, payment_id=payment_id, for_update=True)
    except NotFound:
        return _message(page_language(request), "find_title", "no_payment", status=404)
    lang = page_language(request, payment.language)
    if payment.state not in UNFINISHED or payment.state is PaymentState.SUBMITTED:
        return _message(lang, "find_title", "settled", status=409, link=_return_to(payment))
    service.mark_started(session, payment=payment, now=utcnow())
    return _card_page(session, payment, provider, lang)


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded form, parsed by hand (small, fixed fields; no multipart needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {key: values[0] for key, values in parsed.items() if values}


FormDep = Annotated[dict[str, str], Depends(form_fields)]


@pages.post("/{payment_id}", response_class=HTMLResponse)
def submit_card(
    payment_id: uuid.UUID,
    request: Request,
    form: FormDep,
    session: SessionDep,
    provider: ProviderDep,
    outbox: OutboxDep,
) -> Response:
    lang = page_language(request)
    if not isinstance(provider, SandboxProvider):
        return _message(lang, "find_title", "needs_javascript", status=405)
    try:
        card = parse_card(
            form.get("card_number", ""), form.get("expiry", ""), form.get("cvc", ""), now=utcnow()
        )
        payment = service.pay_with_sandbox_card(
            session, payment_id=payment_id, card=card, provider=provider, outbox=outbox
        )
    except CardRejected as error:
        session.rollback()
        reason = str(error.extra.get("reason", ""))
        message = i18n.text(reason, lang) if reason in i18n.labels(lang) else error.detail
        return _page_after_error(session, payment_id, provider, lang, card_error=message)
    except IllegalTransition:
        session.rollback()
        return _page_after_error(session, payment_id, provider, lang)
    except NotFound:
        return _message(lang, "find_title", "no_payment", status=404)
    return RedirectResponse(_return_to(payment), status_code=303)


def _page_after_error(
    session: Session,
    payment_id: uuid.UUID,
    provider: PaymentProvider,
    lang: str,
    *,
    card_error: str | None = None,
) -> HTMLResponse:
    try:
        payment = service.get_payment(session, payment_id=payment_id)
    except NotFound:
        return _message(lang, "find_title", "no_payment", status=404)
    if payment.state not in UNFINISHED:
        return _message(lang, "find_title", "settled", status=409, link=_return_to(payment))
    return _card_page(session, payment, provider, lang, error=card_error or "")


@pages.post("/{payment_id}/cancel", response_class=HTMLResponse)
def payer_cancels(
    payment_id: uuid.UUID, request: Request, session: SessionDep, provider: ProviderDep, outbox: OutboxDep
) -> Response:
    lang = page_language(request)
    try:
        payment = service.cancel_payment(
            session, payment_id=payment_id, provider=provider, outbox=outbox, by_payer=True
        )
    except NotFound:
        return _message(lang, "find_title", "no_payment", status=404)
    except IllegalTransition:
        session.rollback()
        payment = service.get_payment(session, payment_id=payment_id)
        return _message(lang, "find_title", "settled", status=409, link=_return_to(payment))
    return RedirectResponse(_return_to(payment), status_code=303)


RESULT_TITLES = {
    "success": "result_success",
    "failed": "result_failed",
    "cancelled": "result_cancelled",
    "expired": "result_expired",
    "error": "result_error",
}


@pages.get("/{payment_id}/result", response_class=HTMLResponse)
def result_page(
    payment_id: uuid.UUID, request: Request, session: SessionDep, provider: ProviderDep, outbox: OutboxDep
) -> Response:
    try:
        payment = service.get_payment(session, payment_id=payment_id)
    except NotFound:
        return _message(page_language(request), "find_title", "no_payment", status=404)
    lang = page_language(request, payment.language)
    payment = _refresh(session, payment, provider, outbox)
    status = EXTERNAL[payment.state].value
    request_row = (
        service.get_payment_request(session, request_id=payment.payment_request_id)
        if payment.payment_request_id
        else None
    )
    retry = None
    if request_row is not None and status in ("failed", "cancelled", "expired", "error"):
        retry = f"/pay/owed/{request_row.creditor_reference}?lang={lang}"
    return _render(
        "result.html",
        lang=lang,
        title_key=RESULT_TITLES.get(status, "result_pending"),
        payment_id=payment.id,
        description=payment.description,
        amount=i18n.money(payment.amount, payment.currency, lang),
        reference_display=references.display(request_row.creditor_reference) if request_row else None,
        success=status == "success",
        retry_url=retry,
    )


def _refresh(session: Session, payment: Payment, provider: PaymentProvider, outbox: Outbox) -> Payment:
    """Back from the provider's page: ask the provider rather than wait for its webhook."""
    if payment.state not in UNFINISHED or not payment.provider_transaction_id:
        return payment
    outcome = provider.lookup(payment.provider_transaction_id)
    if outcome is None:
        return payment
    locked = service.get_payment(session, payment_id=payment.id, for_update=True)
    if locked.state not in UNFINISHED:
        return locked
    try:
        return service.settle(session, payment=locked, outcome=outcome, outbox=outbox, now=utcnow())
    except IllegalTransition:
        session.rollback()
        return service.get_payment(session, payment_id=payment.id)
