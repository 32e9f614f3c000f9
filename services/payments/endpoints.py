"""Payments JSON API under /v1: payment requests (what is owed), payments (GOV.UK Pay shape),
refunds, the CSV import, and the providers' webhook receivers. The citizen pages are in
:mod:`services.payments.pages`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.common.bounds import Moment
from services.common.db import SessionDep, SessionRoute
from services.common.identity import ServiceOrOfficerDep
from services.common.outbox import OutboxDep
from services.common.webhooks import RawBodyDep
from services.payments import imports, service
from services.payments.errors import ProviderSignatureInvalid
from services.payments.models import ExternalStatus, RequestState
from services.payments.providers import PaymentProvider
from services.payments.schemas import (
    BalanceTransactionRead,
    ImportReport,
    PaymentCreate,
    PaymentEvents,
    PaymentPage,
    PaymentRead,
    PaymentRequestCreate,
    PaymentRequestPage,
    PaymentRequestRead,
    RefundCreate,
    RefundRead,
)
from services.payments.settings import PaymentsSettings

MAX_IMPORT_BYTES = 5 * 1024 * 1024


# async although they never await: FastAPI would run a plain ``def`` dependency in the thread pool.
async def current_provider(request: Request) -> PaymentProvider:
    provider: PaymentProvider = request.app.state.provider
    return provider


async def current_limits(request: Request) -> service.Limits:
    limits: service.Limits = request.app.state.limits
    return limits


async def current_settings(request: Request) -> PaymentsSettings:
    settings: PaymentsSettings = request.app.state.settings
    return settings


ProviderDep = Annotated[PaymentProvider, Depends(current_provider)]
LimitsDep = Annotated[service.Limits, Depends(current_limits)]
SettingsDep = Annotated[PaymentsSettings, Depends(current_settings)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Repeat a request safely: the same key and body return the first response",
    ),
]
Page = Annotated[int, Query(ge=1, le=100_000, description="Page number, from 1")]
DisplaySize = Annotated[int, Query(ge=1, le=500, description="Items per page")]

api = APIRouter(prefix="/v1/payments", tags=["payments"], route_class=SessionRoute)
requests_api = APIRouter(prefix="/v1/payment-requests", tags=["payment requests"], route_class=SessionRoute)
provider_webhooks = APIRouter(tags=["provider webhooks"], route_class=SessionRoute)


def _json(status: int, body: dict[str, Any], *, replayed: bool, location: str | None = None) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    if location:
        headers["Location"] = location
    return JSONResponse(body, status_code=status, headers=headers)


@api.post(
    "",
    status_code=201,
    response_model=PaymentRead,
    summary="Create a payment and get the URL to send the payer to",
    responses={404: {"description": "The payment request named (payment_request_id) does not exist"}},
)
def create_payment(
    body: PaymentCreate,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    provider: ProviderDep,
    limits: LimitsDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def produce() -> tuple[int, dict[str, Any]]:
        payment = service.create_payment(
            session, data=body, provider=provider, created_by=caller.key_id, limits=limits
        )
        return 201, service.payment_view(session, payment, provider).model_dump(mode="json", by_alias=True)

    status, response, replayed = service.idempotent(
        session,
        caller=caller.key_id,
        operation="create_payment",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        produce=produce,
    )
    return _json(status, response, replayed=replayed, location=f"/v1/payments/{response['payment_id']}")


@api.get("", summary="Search payments, newest first")
def search_payments(
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    provider: ProviderDep,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    state: Annotated[ExternalStatus | None, Query(description="External status")] = None,
    from_date: Annotated[Moment | None, Query(description="Created at or after (ISO 8601)")] = None,
    to_date: Annotated[Moment | None, Query(description="Created before (ISO 8601)")] = None,
    payment_request_id: uuid.UUID | None = None,
    page: Page = 1,
    display_size: DisplaySize = 50,
) -> PaymentPage:
    items, total = service.search_payments(
        session,
        reference=reference,
        status=state,
        from_date=from_date,
        to_date=to_date,
        payment_request_id=payment_request_id,
        page=page,
        display_size=display_size,
    )
    return PaymentPage(
        items=[service.payment_view(session, p, provider) for p in items],
        total=total,
        page=page,
        display_size=display_size,
    )


@api.get("/{payment_id}", summary="A payment and its state")
def get_payment(
    payment_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep, provider: ProviderDep
) -> PaymentRead:
    return service.payment_view(session, service.get_payment(session, payment_id=payment_id), provider)


@api.post("/{payment_id}/cancel", status_code=204, summary="Cancel a payment that is not finished")
def cancel_payment(
    payment_id: uuid.UUID,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    provider: ProviderDep,
    outbox: OutboxDep,
) -> Response:
    service.cancel_payment(session, payment_id=payment_id, provider=provider, outbox=outbox)
    return Response(status_code=204)


@api.get("/{payment_id}/events", summary="Every state the payment went through")
def payment_events(payment_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep) -> PaymentEvents:
    return service.payment_events(session, payment_id=payment_id)


@api.get("/{payment_id}/balance-transactions", summary="What the provider reported: gross, fee, net, payout")
def balance_transactions(
    payment_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep
) -> list[BalanceTransactionRead]:
    return service.balance_transactions(session, payment_id=payment_id)


@api.post(
    "/{payment_id}/refunds",
    status_code=202,
    response_model=RefundRead,
    summary="Refund all or part of a successful payment",
)
def create_refund(
    payment_id: uuid.UUID,
    body: RefundCreate,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    provider: ProviderDep,
    outbox: OutboxDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    def produce() -> tuple[int, dict[str, Any]]:
        refund = service.create_refund(
            session,
            payment_id=payment_id,
            data=body,
            provider=provider,
            outbox=outbox,
            created_by=caller.key_id,
        )
        return 202, service.refund_view(refund).model_dump(mode="json")

    status, response, replayed = service.idempotent(
        session,
        caller=caller.key_id,
        operation=f"refund:{payment_id}",
        key=idempotency_key,
        body=body.model_dump(mode="json"),
        produce=produce,
    )
    return _json(status, response, replayed=replayed)


@api.get("/{payment_id}/refunds", summary="The refunds of a payment")
def list_refunds(payment_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep) -> list[RefundRead]:
    return [service.refund_view(r) for r in service.list_refunds(session, payment_id=payment_id)]


@requests_api.post("", status_code=201, summary="Record what a payer owes; returns its RF creditor reference")
def create_payment_request(
    body: PaymentRequestCreate,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    limits: LimitsDep,
    settings: SettingsDep,
    response: Response,
) -> PaymentRequestRead:
    request = service.create_payment_request(session, data=body, created_by=caller.key_id, limits=limits)
    response.headers["Location"] = f"/v1/payment-requests/{request.id}"
    return service.request_view(session, request, public_url=settings.public_url)


@requests_api.get("", summary="Search payment requests, newest first")
def search_payment_requests(
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    settings: SettingsDep,
    state: RequestState | None = None,
    payer_tax_code: Annotated[str | None, Query(max_length=32)] = None,
    page: Page = 1,
    display_size: DisplaySize = 50,
) -> PaymentRequestPage:
    items, total = service.search_payment_requests(
        session, state=state, payer_tax_code=payer_tax_code, page=page, display_size=display_size
    )
    return PaymentRequestPage(
        items=[service.request_view(session, r, public_url=settings.public_url) for r in items],
        total=total,
        page=page,
        display_size=display_size,
    )


@requests_api.post(
    "/import",
    summary="Import payment requests from CSV (text/csv body)",
    description=imports.FORMAT_HELP,
    responses={422: {"description": "Some rows are invalid: nothing was imported (see errors)"}},
)
async def import_payment_requests(
    request: Request,
    session: SessionDep,
    caller: ServiceOrOfficerDep,
    limits: LimitsDep,
    settings: SettingsDep,
    import_valid_rows: Annotated[
        bool, Query(description="Import the valid rows even when others are invalid")
    ] = False,
) -> ImportReport:
    body = await request.body()
    return imports.import_csv(
        session,
        data=imports.decode(body, limit=MAX_IMPORT_BYTES),
        created_by=caller.key_id,
        limits=limits,
        public_url=settings.public_url,
        import_valid_rows=import_valid_rows,
    )


@requests_api.get("/by-reference/{creditor_reference}", summary="A payment request by its RF reference")
def find_payment_request(
    creditor_reference: str, session: SessionDep, caller: ServiceOrOfficerDep, settings: SettingsDep
) -> PaymentRequestRead:
    request = service.find_payment_request(session, creditor_reference=creditor_reference)
    return service.request_view(session, request, public_url=settings.public_url)


@requests_api.get("/{request_id}", summary="A payment request")
def get_payment_request(
    request_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep, settings: SettingsDep
) -> PaymentRequestRead:
    request = service.get_payment_request(session, request_id=request_id)
    return service.request_view(session, request, public_url=settings.public_url)


@requests_api.post("/{request_id}/cancel", summary="Cancel a payment request nobody has paid yet")
def cancel_payment_request(
    request_id: uuid.UUID, session: SessionDep, caller: ServiceOrOfficerDep, settings: SettingsDep
) -> PaymentRequestRead:
    request = service.cancel_payment_request(session, request_id=request_id)
    return service.request_view(session, request, public_url=settings.public_url)


@provider_webhooks.post(
    "/webhooks/stripe",
    response_model=dict[str, str],
    summary="Stripe's signed event notifications",
    responses={401: {"description": "The Stripe-Signature is missing or wrong, or Stripe is not in use"}},
)
def stripe_webhook(
    body: RawBodyDep, request: Request, session: SessionDep, provider: ProviderDep, outbox: OutboxDep
) -> JSONResponse:
    from services.payments import stripe_provider

    if not isinstance(provider, stripe_provider.StripeProvider):
        raise ProviderSignatureInvalid("This installation does not use Stripe")
    outcome = stripe_provider.receive_webhook(
        session,
        provider=provider,
        body=body,
        signature=request.headers.get("stripe-signature"),
        outbox=outbox,
    )
    return JSONResponse({"outcome": outcome})
