"""Signed webhooks between Tessera services, and the inbox that makes receiving them idempotent.

The signature follows the scheme Stripe documents for its webhooks
(https://docs.stripe.com/webhooks#verify-manually): the sender puts
``Tessera-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`` on the request,
with one ``v1`` per secret it holds, so a receiver that knows any one of them (old or new, while
secrets rotate) accepts it. A receiver refuses a signature older or newer than five minutes, which
bounds replays; the inbox (one row per event id, unique) makes a replay inside that window, or an
honest redelivery, change nothing.

Errors, all rendered as problem+json::

    Unauthorized (401)
    └── WebhookRejected (webhook_rejected)
        ├── SignatureMissing (webhook_signature_missing)
        ├── SignatureMalformed (webhook_signature_malformed)
        ├── SignatureMismatch (webhook_signature_mismatch)
        └── TimestampOutsideTolerance (webhook_timestamp_stale)
    BadRequest (400)
    └── EventMalformed (webhook_event_malformed)
    PayloadTooLarge (413)
    └── WebhookTooLarge (webhook_too_large)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import String, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common.db import UtcDateTime, utcnow
from services.common.errors import BadRequest, PayloadTooLarge, Unauthorized

SIGNATURE_HEADER = "Tessera-Signature"
EVENT_ID_HEADER = "Tessera-Event-Id"
EVENT_TYPE_HEADER = "Tessera-Event-Type"
TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1024 * 1024
SCHEME = "v1"


class WebhookRejected(Unauthorized):
    code, title = "webhook_rejected", "Webhook refused"


class SignatureMissing(WebhookRejected):
    code = "webhook_signature_missing"


class SignatureMalformed(WebhookRejected):
    code = "webhook_signature_malformed"


class SignatureMismatch(WebhookRejected):
    code = "webhook_signature_mismatch"


class TimestampOutsideTolerance(WebhookRejected):
    code = "webhook_timestamp_stale"


class EventMalformed(BadRequest):
    code, title = "webhook_event_malformed", "Malformed event"


class WebhookTooLarge(PayloadTooLarge):
    code = "webhook_too_large"


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, secrets: Sequence[str], *, timestamp: int | None = None) -> str:
    """The ``Tessera-Signature`` value for ``body``: one ``v1`` per secret."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    moment = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={moment}", *(f"{SCHEME}={_mac(secret, moment, body)}" for secret in secrets)])


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: int | None = None,
) -> int:
    """Check ``header`` against the raw ``body``; return its timestamp or raise :class:`WebhookRejected`."""
    if not header:
        raise SignatureMissing(f"The {SIGNATURE_HEADER} header is required on webhook deliveries")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureMalformed(f"{SIGNATURE_HEADER} items must be key=value, got {item.strip()!r}")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError as error:
                raise SignatureMalformed(
                    f"{SIGNATURE_HEADER} timestamp {value!r} is not an integer"
                ) from error
        elif key == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureMalformed(
            f"{SIGNATURE_HEADER} needs a t= timestamp and at least one {SCHEME}= signature"
        )
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise TimestampOutsideTolerance(
            f"The signature timestamp is {abs(current - timestamp)} s away from now; at most {tolerance} s "
            "is accepted (check the sender's clock)"
        )
    for secret in secrets:
        expected = _mac(secret, timestamp, body)
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return timestamp
    raise SignatureMismatch("No signature matches this body with any configured webhook secret")


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One event as it travels between services (the JSON envelope of a delivery)."""

    id: uuid.UUID
    type: str
    resource_id: str
    created_at: datetime
    data: Mapping[str, Any]

    def encode(self) -> bytes:
        envelope = {
            "id": str(self.id),
            "type": self.type,
            "resource_id": self.resource_id,
            "created_at": self.created_at.isoformat(),
            "data": dict(self.data),
        }
        return json.dumps(envelope, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, body: bytes) -> WebhookEvent:
        try:
            envelope = json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise EventMalformed("The event body is not JSON") from error
        if not isinstance(envelope, dict):
            raise EventMalformed("The event body must be a JSON object")
        missing = [k for k in ("id", "type", "resource_id", "created_at", "data") if k not in envelope]
        if missing:
            raise EventMalformed(f"The event lacks: {', '.join(missing)}")
        try:
            event_id = uuid.UUID(str(envelope["id"]))
            created_at = datetime.fromisoformat(str(envelope["created_at"]))
        except ValueError as error:
            raise EventMalformed(f"The event id or created_at is malformed: {error}") from error
        if not isinstance(envelope["type"], str) or not envelope["type"]:
            raise EventMalformed("The event type must be a non-empty string")
        if not isinstance(envelope["data"], dict):
            raise EventMalformed("The event data must be a JSON object")
        return cls(
            id=event_id,
            type=envelope["type"],
            resource_id=str(envelope["resource_id"]),
            created_at=created_at,
            data=envelope["data"],
        )


@dataclass(frozen=True, slots=True)
class Received:
    event: WebhookEvent
    new: bool  # False: the inbox already had it, so it must not be processed again


class InboxEventMixin:
    """One row per event a service has accepted: the unique event id is what makes a redelivery
    (or a concurrent duplicate) a no-op."""

    __tablename__ = "inbox_events"

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(100), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


def record_in_inbox(session: Session, inbox: Table, event: WebhookEvent) -> bool:
    """Insert ``event`` into the inbox; False when it was already there (a duplicate).

    ``INSERT ... ON CONFLICT DO NOTHING`` rather than catching an integrity error: on PostgreSQL a
    concurrent duplicate waits for the first transaction and then inserts nothing, and the
    session stays usable either way.
    """
    values = {
        "event_id": event.id,
        "type": event.type,
        "resource_id": event.resource_id,
        "received_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement: Any = postgresql.insert(inbox).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(inbox).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover  (Tessera runs on PostgreSQL or SQLite only)
        statement = insert(inbox).values(values)
    # RETURNING gives a row only when the insert happened (rowcount is not reliable across drivers).
    inserted = session.execute(statement.returning(inbox.c.event_id)).first()
    return inserted is not None


def receive(
    session: Session,
    inbox: Table,
    *,
    body: bytes,
    signature: str | None,
    secrets: Sequence[str],
    now: int | None = None,
) -> Received:
    """Verify and decode a delivery and note it in the inbox; say whether it is new.

    The caller processes a new event in the same session, so the inbox row and its effects commit
    together: if processing fails, the event is not marked as received and the sender retries.
    """
    verify(body, signature, secrets, now=now)
    event = WebhookEvent.decode(body)
    return Received(event=event, new=record_in_inbox(session, inbox, event))


async def raw_body(request: Request) -> bytes:
    """The request body exactly as sent (signatures are over these bytes), bounded in size."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebhookTooLarge(f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise WebhookTooLarge(f"Webhook bodies are limited to {MAX_BODY_BYTES} bytes")
    return body


RawBodyDep = Annotated[bytes, Depends(raw_body)]
