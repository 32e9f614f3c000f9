"""The transactional outbox: a service records the events its change causes in the same
transaction as the change, so an event exists if and only if the change committed. The relay
(:mod:`services.common.relay`) later delivers each event to every subscriber as a signed webhook,
at least once, in order per resource.

Each service's models include the two tables through the mixins below::

    class OutboxEvent(OutboxEventMixin, Base): ...
    class OutboxDelivery(OutboxDeliveryMixin, Base): ...

``outbox_events`` holds one row per event; its integer ``sequence`` orders the events of the
database. ``outbox_deliveries`` holds one row per (event, subscriber) with the delivery's state:
attempts so far, when the next is due, when it succeeded, the last error, and the lease of the
relay currently working on it.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy import (
    CTE,
    JSON,
    BigInteger,
    ForeignKey,
    FromClause,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column

from services.common.db import UtcDateTime, utcnow

# BIGINT on PostgreSQL; INTEGER on SQLite, where only an INTEGER PRIMARY KEY is an auto-numbered rowid.
Sequence64 = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEventMixin:
    __tablename__ = "outbox_events"

    sequence: Mapped[int] = mapped_column(Sequence64, primary_key=True, autoincrement=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4, nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    resource_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class OutboxDeliveryMixin:
    __tablename__ = "outbox_deliveries"

    id: Mapped[int] = mapped_column(Sequence64, primary_key=True, autoincrement=True)
    event_sequence: Mapped[int] = mapped_column(
        Sequence64, ForeignKey("outbox_events.sequence", ondelete="CASCADE"), nullable=False
    )
    subscriber: Mapped[str] = mapped_column(String(500), nullable=False)
    # Copied from the event so that "is an earlier event of this resource still undelivered to
    # this subscriber?" is answered from this table and its index alone.
    resource_id: Mapped[str] = mapped_column(String(100), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    leased_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        # Built per class: constraint objects cannot be shared between the services' tables.
        pending = text("delivered_at IS NULL")
        return (
            UniqueConstraint("event_sequence", "subscriber"),
            Index("ix_outbox_deliveries_due", "delivered_at", "next_attempt_at"),
            Index("ix_outbox_deliveries_order", "subscriber", "resource_id", "event_sequence"),
            # The relay's claim walks the pending deliveries in event order. Without this index
            # PostgreSQL walks every delivery ever made in that order and filters out the
            # delivered ones (21 ms a claim with 58,000 delivered, growing with the history).
            Index(
                "ix_outbox_deliveries_pending",
                "event_sequence",
                "id",
                postgresql_where=pending,
                sqlite_where=pending,
            ),
        )


@dataclass(frozen=True, slots=True)
class OutboxTables:
    """The outbox tables of one service database."""

    events: Table
    deliveries: Table

    @classmethod
    def from_metadata(cls, metadata: MetaData) -> OutboxTables:
        return cls(events=metadata.tables["outbox_events"], deliveries=metadata.tables["outbox_deliveries"])


class InvalidSubscriptions(ValueError):
    """A subscriber setting that cannot be understood; the message names the entry."""


@dataclass(frozen=True, slots=True)
class Subscription:
    patterns: tuple[str, ...]  # event types, or prefixes ending in "*"; empty means every type
    url: str

    def matches(self, event_type: str) -> bool:
        return not self.patterns or any(fnmatch.fnmatchcase(event_type, p) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Subscriptions:
    entries: tuple[Subscription, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Subscriptions:
        """``URL`` or ``TYPES=URL`` entries separated by commas; TYPES is ``;``-separated."""
        entries: list[Subscription] = []
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            head, sep, tail = entry.partition("=")
            if sep and "://" not in head:
                patterns = tuple(p.strip() for p in head.split(";") if p.strip())
                url = tail.strip()
                if not patterns:
                    raise InvalidSubscriptions(f"subscriber entry {entry!r} names no event type before '='")
            else:
                patterns, url = (), entry
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidSubscriptions(f"subscriber entry {entry!r}: {url!r} is not an http(s) URL")
            entries.append(Subscription(patterns=patterns, url=url))
        return cls(tuple(entries))

    def urls_for(self, event_type: str) -> tuple[str, ...]:
        urls: dict[str, None] = {}
        for entry in self.entries:
            if entry.matches(event_type):
                urls[entry.url] = None
        return tuple(urls)


@dataclass(frozen=True, slots=True)
class Outbox:
    """A service's outbox tables and who subscribes to what: built in ``create_app``."""

    tables: OutboxTables
    subscriptions: Subscriptions


def _jsonable(value: object) -> object:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"event payload value {value!r} of type {type(value).__name__} is not JSON-serialisable")


@functools.cache
def _statements(events: Table, deliveries: Table) -> tuple[Any, Any]:
    """The two INSERTs of :func:`record_event`, built once per outbox: building a statement
    and computing its cache key cost more than running it."""
    add_event = (
        insert(events)
        .values(
            event_id=bindparam("event_id"),
            type=bindparam("type"),
            resource_id=bindparam("resource_id"),
            payload=bindparam("payload"),
            created_at=bindparam("created_at"),
        )
        .returning(events.c.sequence)
    )
    return add_event, insert(deliveries)


def event_within(
    tables: OutboxTables, *, once_per: FromClause, more_subscribers: Select[Any] | None = None
) -> CTE:
    """What :func:`record_event` writes, as part of one larger PostgreSQL statement that writes
    other rows too: the event, once per row of ``once_per`` (none when it has none), and one
    pending delivery per subscriber URL. Add the returned CTE to the statement (``add_cte``).

    The bind parameters are those :func:`event_parameters` gives; the subscribers are the array
    ``event_subscribers`` and the URLs ``more_subscribers`` selects, each once. PostgreSQL runs
    every INSERT inside WITH whether or not the main statement reads it, and checks foreign keys
    at the end of the statement, when the rows they name exist.
    https://www.postgresql.org/docs/current/queries-with.html#QUERIES-WITH-MODIFYING
    """
    events, deliveries = tables.events, tables.deliveries
    columns = ("event_id", "type", "resource_id", "payload", "created_at")
    row = select(*(bindparam(f"event_{name}", type_=events.c[name].type) for name in columns))
    event = (
        insert(events)
        .from_select(list(columns), row.select_from(once_per))
        .returning(events.c.sequence, events.c.resource_id, events.c.created_at)
        .cte("outbox_event")
    )
    configured: Select[Any] = select(func.unnest(bindparam("event_subscribers", type_=ARRAY(String))))
    urls = union(configured, more_subscribers) if more_subscribers is not None else configured
    subscriber = urls.subquery("subscriber")  # a UNION: each URL once
    pending = select(
        event.c.sequence,
        subscriber.c[0],
        event.c.resource_id,
        literal_column("0"),
        event.c.created_at,
        event.c.created_at,
    ).select_from(event.join(subscriber, true()))
    names = ["event_sequence", "subscriber", "resource_id", "attempts", "next_attempt_at", "created_at"]
    # The event CTE is named by the deliveries' SELECT, so it is written at the top of the WITH.
    return insert(deliveries).from_select(names, pending).cte("outbox_deliveries")


def event_parameters(
    outbox: Outbox, *, event_type: str, resource_id: str | uuid.UUID, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The bind parameters of :func:`event_within` for one event, as :func:`record_event` would
    write it (the subscribers of its type; more may come from the statement itself)."""
    return {
        "event_event_id": uuid.uuid4(),
        "event_type": event_type,
        "event_resource_id": str(resource_id),
        "event_payload": json.loads(json.dumps(dict(payload), default=_jsonable)),
        "event_created_at": utcnow(),
        "event_subscribers": list(outbox.subscriptions.urls_for(event_type)),
    }


def record_event(
    session: Session,
    outbox: Outbox,
    *,
    event_type: str,
    resource_id: str | uuid.UUID,
    payload: Mapping[str, Any],
) -> uuid.UUID:
    """Add an event and one pending delivery per subscriber of its type; return the event id.

    Only adds: the event commits (or not) with the caller's transaction.
    """
    event_id = uuid.uuid4()
    add_event, add_deliveries = _statements(outbox.tables.events, outbox.tables.deliveries)
    now = utcnow()
    data = json.loads(json.dumps(dict(payload), default=_jsonable))
    connection = session.connection()
    sequence = connection.execute(
        add_event,
        {
            "event_id": event_id,
            "type": event_type,
            "resource_id": str(resource_id),
            "payload": data,
            "created_at": now,
        },
    ).scalar_one()
    urls = outbox.subscriptions.urls_for(event_type)
    if urls:
        connection.execute(
            add_deliveries,
            [
                {
                    "event_sequence": sequence,
                    "subscriber": url,
                    "resource_id": str(resource_id),
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for url in urls
            ],
        )
    return event_id


async def current_outbox(request: Request) -> Outbox:  # async: no thread-pool hop for a lookup
    outbox: Outbox = request.app.state.outbox
    return outbox


OutboxDep = Annotated[Outbox, Depends(current_outbox)]
