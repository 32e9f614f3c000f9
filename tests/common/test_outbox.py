"""Recording events in the outbox, and who subscribes to them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, literal_column, select

from services.common.db import Database
from services.common.outbox import (
    InvalidSubscriptions,
    Outbox,
    Subscriptions,
    event_parameters,
    event_within,
    record_event,
)
from services.payments.models import OUTBOX_TABLES

A = "http://a.test/hook"
B = "https://b.test/events?x=1"


def test_subscriptions_route_by_type_and_prefix() -> None:
    subs = Subscriptions.parse(f"{A}, payment.succeeded;invoice.*={B}")
    assert subs.urls_for("payment.succeeded") == (A, B)
    assert subs.urls_for("invoice.accepted") == (A, B)
    assert subs.urls_for("payment.failed") == (A,)
    assert Subscriptions.parse("").urls_for("payment.succeeded") == ()


def test_the_same_url_is_delivered_to_once() -> None:
    assert Subscriptions.parse(f"{A},payment.*={A}").urls_for("payment.succeeded") == (A,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://x/y", "not an http"),
        ("payment.*=notaurl", "not an http"),
        ("=http://a.test/", "names no event type"),
    ],
)
def test_unreadable_subscriptions_are_refused_with_the_entry(text: str, message: str) -> None:
    with pytest.raises(InvalidSubscriptions, match=message):
        Subscriptions.parse(text)


def test_service_settings_refuse_unreadable_subscribers() -> None:
    from pydantic import ValidationError

    from services.payments.settings import PaymentsSettings

    with pytest.raises(ValidationError, match="not an http"):
        PaymentsSettings(subscribers="nonsense")


def _counts(database: Database) -> tuple[int, int]:
    with database.sessionmaker() as session:
        events = session.scalar(select(func.count()).select_from(OUTBOX_TABLES.events))
        deliveries = session.scalar(select(func.count()).select_from(OUTBOX_TABLES.deliveries))
    return int(events or 0), int(deliveries or 0)


def test_event_and_one_delivery_per_subscriber_commit_with_the_change(payments_db_url: str) -> None:
    database = Database(payments_db_url)
    outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(f"{A},payment.succeeded={B},invoice.*=http://c.test/"))
    resource = uuid.uuid4()
    try:
        with database.sessionmaker() as session:
            event_id = record_event(
                session,
                outbox,
                event_type="payment.succeeded",
                resource_id=resource,
                payload={"payment_id": resource, "at": datetime(2026, 1, 1, tzinfo=UTC), "amount": 5},
            )
            session.commit()
        with database.sessionmaker() as session:
            row = session.execute(select(OUTBOX_TABLES.events)).one()
            subscribers = sorted(session.scalars(select(OUTBOX_TABLES.deliveries.c.subscriber)))
        assert row.event_id == event_id
        assert row.resource_id == str(resource)
        assert row.payload == {"payment_id": str(resource), "at": "2026-01-01T00:00:00+00:00", "amount": 5}
        assert subscribers == sorted([A, B])
    finally:
        database.dispose()


def test_a_rolled_back_change_leaves_no_event(payments_db_url: str) -> None:
    database = Database(payments_db_url)
    outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(A))
    try:
        with database.sessionmaker() as session:
            record_event(session, outbox, event_type="payment.failed", resource_id="r", payload={})
            session.rollback()
        assert _counts(database) == (0, 0)
    finally:
        database.dispose()


def test_unserialisable_payload_is_a_clear_error(payments_db_url: str) -> None:
    database = Database(payments_db_url)
    try:
        with database.sessionmaker() as session, pytest.raises(TypeError, match="not JSON-serialisable"):
            record_event(
                session,
                Outbox(OUTBOX_TABLES, Subscriptions()),
                event_type="t",
                resource_id="r",
                payload={"x": object()},
            )
    finally:
        database.dispose()


@pytest.mark.parametrize("gate_rows", [0, 1])
def test_an_event_written_within_another_statement_is_what_record_event_writes(
    payments_db_url: str, gate_rows: int
) -> None:
    if not payments_db_url.startswith("postgresql"):
        pytest.skip("only PostgreSQL runs an INSERT inside WITH")
    database = Database(payments_db_url)
    outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(f"{A}, payment.*={B}"))
    payload = {"payment_id": uuid.uuid4(), "amount": 4500, "at": datetime(2026, 11, 22, tzinfo=UTC)}
    gate = select(literal_column("1").label("one")).where(literal_column(str(gate_rows)) == 1).cte("gate")
    more = select(literal_column("'http://c.test/extra'"))
    statement = (
        select(func.count())
        .select_from(gate)
        .add_cte(event_within(OUTBOX_TABLES, once_per=gate, more_subscribers=more))
    )
    with database.sessionmaker() as session:
        session.execute(
            statement,
            event_parameters(outbox, event_type="payment.succeeded", resource_id="r-1", payload=payload),
        )
        record_event(session, outbox, event_type="payment.succeeded", resource_id="r-2", payload=payload)
        session.commit()
        events = session.execute(
            select(
                OUTBOX_TABLES.events.c.resource_id,
                OUTBOX_TABLES.events.c.type,
                OUTBOX_TABLES.events.c.payload,
            )
        ).all()
        deliveries = session.execute(
            select(
                OUTBOX_TABLES.deliveries.c.resource_id,
                OUTBOX_TABLES.deliveries.c.subscriber,
                OUTBOX_TABLES.deliveries.c.attempts,
            )
        ).all()
    database.dispose()
    by_resource = {resource: (kind, data) for resource, kind, data in events}
    # No row in the gate: nothing written. One: the same event record_event writes, and the
    # deliveries to its subscribers plus the statement's own.
    assert ("r-1" in by_resource) == bool(gate_rows)
    if gate_rows:
        assert by_resource["r-1"] == by_resource["r-2"]
        assert sorted((s, n) for r, s, n in deliveries if r == "r-1") == sorted(
            [*((s, n) for r, s, n in deliveries if r == "r-2"), ("http://c.test/extra", 0)]
        )
