"""Receipts HTTP: the officers' API under /v1 and the signed event receiver."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.common.db import SessionDep
from services.common.identity import OfficerDep
from services.common.webhooks import SIGNATURE_HEADER, RawBodyDep, receive
from services.receipts import service
from services.receipts.models import INBOX_TABLE, EventOutcome
from services.receipts.schemas import EventAck, ReceiptPage, ReceiptRead

api = APIRouter(prefix="/v1/receipts", tags=["receipts"])
webhooks = APIRouter(tags=["events"])


@api.get("", summary="Receipts, newest first")
def list_receipts(
    session: SessionDep,
    caller: OfficerDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReceiptPage:
    items, total = service.list_receipts(session, limit=limit, offset=offset)
    return ReceiptPage(
        items=[ReceiptRead.model_validate(r) for r in items], total=total, limit=limit, offset=offset
    )


@api.get("/{receipt_id}", summary="One receipt")
def get_receipt(receipt_id: uuid.UUID, session: SessionDep, caller: OfficerDep) -> ReceiptRead:
    return ReceiptRead.model_validate(service.get_receipt(session, receipt_id=receipt_id))


@webhooks.post("/webhooks/events", summary="Signed events from the other Tessera services")
def receive_event(request: Request, body: RawBodyDep, session: SessionDep) -> EventAck:
    """Verify the ``Tessera-Signature`` over the raw body, drop duplicates, apply the event."""
    secrets: list[str] = request.app.state.settings.webhook_secret_list
    signature = request.headers.get(SIGNATURE_HEADER)
    received = receive(session, INBOX_TABLE, body=body, signature=signature, secrets=secrets)
    if not received.new:
        return EventAck(event_id=received.event.id, outcome=EventOutcome.DUPLICATE)
    outcome = service.handle_event(session, event_type=received.event.type, data=received.event.data)
    return EventAck(event_id=received.event.id, outcome=outcome)
