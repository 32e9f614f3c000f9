"""Payments HTTP: the JSON API under /v1 and the sandbox's hosted card page under /pay."""

from __future__ import annotations

import html
import uuid
from decimal import Decimal
from importlib import resources
from string import Template
from typing import Annotated
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from services.common.db import SessionDep, utcnow
from services.common.errors import NotFound
from services.common.identity import ServiceOrOfficerDep
from services.common.outbox import OutboxDep
from services.payments import service
from services.payments.errors import CardRejected, IllegalTransition
from services.payments.models import Payment, PaymentState
from services.payments.providers import SandboxProvider, parse_card
from services.payments.schemas import PaymentCreate, PaymentLinks, PaymentRead

MAX_FORM_BYTES = 4096
MINOR_UNIT_DIGITS = {"EUR": 2, "GBP": 2, "SEK": 2, "HUF": 2}  # ISO 4217 exponents
# A card page must not be framed (clickjacking), cached, or leak its URL onwards; it needs no script.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
_PAGE = Template(resources.files("services.payments").joinpath("templates/pay.html").read_text("utf-8"))


def current_provider(request: Request) -> SandboxProvider:
    provider: SandboxProvider = request.app.state.provider
    return provider


ProviderDep = Annotated[SandboxProvider, Depends(current_provider)]

api = APIRouter(prefix="/v1/payments", tags=["payments"])
hosted = APIRouter(prefix="/pay", tags=["hosted payment page"])


def to_read(payment: Payment, provider: SandboxProvider) -> PaymentRead:
    pending = payment.state is PaymentState.CREATED
    return PaymentRead(
        payment_id=payment.id,
        state=payment.state,
        amount=payment.amount,
        currency=payment.currency,
        reference=payment.reference,
        description=payment.description,
        return_url=payment.return_url,
        language=payment.language,
        provider=payment.provider,
        card_brand=payment.card_brand,
        card_last4=payment.card_last4,
        failure_code=payment.failure_code,
        created_at=payment.created_at,
        paid_at=payment.paid_at,
        links=PaymentLinks(
            self_=f"/v1/payments/{payment.id}",
            next_url=provider.checkout_url(payment.id) if pending else None,
        ),
    )


@api.post("", status_code=201, summary="Create a payment and get the URL to send the payer to")
def create_payment(
    body: PaymentCreate,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    provider: ProviderDep,
    response: Response,
) -> PaymentRead:
    payment = service.create_payment(session, data=body, provider=provider, created_by=caller.key_id)
    response.headers["Location"] = f"/v1/payments/{payment.id}"
    return to_read(payment, provider)


@api.get("/{payment_id}", summary="A payment and its state")
def get_payment(
    payment_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep, provider: ProviderDep
) -> PaymentRead:
    return to_read(service.get_payment(session, payment_id=payment_id), provider)


def _format_amount(payment: Payment) -> str:
    digits = MINOR_UNIT_DIGITS.get(payment.currency.value, 2)
    return f"{Decimal(payment.amount).scaleb(-digits):.{digits}f} {payment.currency.value}"


def _page(title: str, content: str, *, status: int, language: str | None = None) -> HTMLResponse:
    body = _PAGE.substitute(lang=html.escape(language or "en"), title=html.escape(title), content=content)
    return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def _card_form(payment: Payment, *, error: str | None = None, status: int = 200) -> HTMLResponse:
    problem = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    content = f"""
<p>{html.escape(payment.description)}</p>
<p class="amount">{html.escape(_format_amount(payment))}</p>
{problem}
<form method="post" action="/pay/{payment.id}">
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number" required>
<label for="expiry">Expiry (MM/YY)</label>
<input id="expiry" name="expiry" autocomplete="cc-exp" placeholder="MM/YY" required>
<label for="cvc">Security code</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" required>
<button type="submit">Pay {html.escape(_format_amount(payment))}</button>
</form>
<p class="note">Sandbox: 4242 4242 4242 4242 succeeds, 4000 0000 0000 0002 is declined. No money moves.</p>
"""
    return _page("Pay", content, status=status, language=payment.language)


def _settled_page(payment: Payment) -> HTMLResponse:
    content = (
        f"<p>This payment is already {html.escape(payment.state.value)}.</p>"
        f'<p><a href="{html.escape(_return_to(payment))}">Continue</a></p>'
    )
    return _page("Payment settled", content, status=409, language=payment.language)


def _return_to(payment: Payment) -> str:
    parts = urlsplit(payment.return_url)
    extra = urlencode({"payment_id": str(payment.id), "state": payment.state.value})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


@hosted.get("/{payment_id}", response_class=HTMLResponse, summary="The sandbox's hosted card page")
def card_page(payment_id: uuid.UUID, session: SessionDep) -> HTMLResponse:
    return _page_for(session, payment_id)


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


@hosted.post("/{payment_id}", response_class=HTMLResponse, summary="Submit the card; redirects to return_url")
def submit_card(
    payment_id: uuid.UUID, form: FormDep, session: SessionDep, provider: ProviderDep, outbox: OutboxDep
) -> Response:
    try:
        card = parse_card(
            form.get("card_number", ""), form.get("expiry", ""), form.get("cvc", ""), now=utcnow()
        )
        payment = service.pay_with_sandbox_card(
            session, payment_id=payment_id, card=card, provider=provider, outbox=outbox
        )
    except (CardRejected, IllegalTransition) as error:
        # Nothing was settled: show the payment as it now stands (settled meanwhile, or still
        # waiting for a usable card).
        session.rollback()
        return _page_for(
            session, payment_id, card_error=error.detail if isinstance(error, CardRejected) else None
        )
    except NotFound:
        return _not_found_page()
    return RedirectResponse(_return_to(payment), status_code=303)


def _not_found_page() -> HTMLResponse:
    return _page("Payment not found", "<p>There is no such payment.</p>", status=404)


def _page_for(session: Session, payment_id: uuid.UUID, *, card_error: str | None = None) -> HTMLResponse:
    try:
        payment = service.get_payment(session, payment_id=payment_id)
    except NotFound:
        return _not_found_page()
    if payment.state is not PaymentState.CREATED:
        return _settled_page(payment)
    if card_error is None:
        return _card_form(payment)
    return _card_form(payment, error=card_error, status=422)
