"""The outbox relay: signed delivery, retries with capped backoff while a subscriber is down, order
per resource, leases, several relays at once, and the background thread."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import OperationalError

from services.common.db import Database
from services.common.outbox import Outbox, Subscriptions, record_event
from services.common.relay import Backoff, Relay, RoundResult, unavailable
from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, verify
from services.payments.models import OUTBOX_TABLES

HOOK = "http://receiver.test/hook"
SECRET = "relay-secret"


class Receiver:
    """A subscriber that verifies each delivery and can be taken down."""

    def __init__(self, delay: float = 0.0) -> None:
        self.up = True
        self.delay = delay
        self.events: list[WebhookEvent] = []
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.calls += 1
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if self.delay:
            time.sleep(self.delay)
        body = request.read()
        verify(body, request.headers.get(SIGNATURE_HEADER), [SECRET])
        with self._lock:
            self.events.append(WebhookEvent.decode(body))
        return httpx.Response(200, json={"ok": True})


class Clock:
    """A relay clock the test moves by hand, starting just after the events were recorded."""

    def __init__(self) -> None:
        self.start = datetime.now(UTC) + timedelta(seconds=5)
        self.now = self.start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def database(payments_db_url: str) -> Iterator[Database]:
    db = Database(payments_db_url)
    yield db
    db.dispose()


def record(
    database: Database, resource: str, event_type: str = "payment.succeeded", **data: object
) -> uuid.UUID:
    with database.sessionmaker() as session:
        event_id = record_event(
            session,
            Outbox(OUTBOX_TABLES, Subscriptions.parse(HOOK)),
            event_type=event_type,
            resource_id=resource,
            payload=data,
        )
        session.commit()
    return event_id


def make_relay(
    database: Database, receiver: Callable[[httpx.Request], httpx.Response], **kwargs: object
) -> Relay:
    options: dict[str, object] = {"backoff": Backoff(2, 30), "batch_size": 20}
    options.update(kwargs)
    return Relay(
        service="payments",
        sessionmaker=database.sessionmaker,
        tables=OUTBOX_TABLES,
        secrets=[SECRET],
        client=httpx.Client(transport=httpx.MockTransport(receiver)),
        **options,  # type: ignore[arg-type]
    )


def delivery(database: Database) -> dict[str, object]:
    with database.sessionmaker() as session:
        return dict(session.execute(select(OUTBOX_TABLES.deliveries)).one()._mapping)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(2, 30)
    assert [backoff.delay(n).total_seconds() for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000).total_seconds() == 30
    with pytest.raises(ValueError):
        Backoff(10, 5)


def test_pending_event_is_delivered_signed_and_marked(database: Database) -> None:
    receiver = Receiver()
    event_id = record(database, "pay-1", amount=100)
    clock = Clock()
    relay = make_relay(database, receiver, clock=clock)
    assert relay.run_once().delivered == 1
    assert [(e.id, e.type, e.resource_id, dict(e.data)) for e in receiver.events] == [
        (event_id, "payment.succeeded", "pay-1", {"amount": 100})
    ]
    row = delivery(database)
    assert row["delivered_at"] == clock.start and row["attempts"] == 1 and row["last_status"] == 200
    assert row["leased_by"] is None
    assert relay.run_once().attempted == 0  # nothing left: delivered once


def test_receiver_outage_loses_nothing_and_retries_with_backoff(database: Database) -> None:
    receiver, clock = Receiver(), Clock()
    receiver.up = False
    record(database, "pay-1")
    relay = make_relay(database, receiver, clock=clock)

    assert relay.run_once().failed == 1
    row = delivery(database)
    assert row["attempts"] == 1 and row["delivered_at"] is None
    assert row["next_attempt_at"] == clock.start + timedelta(seconds=2)
    assert "ConnectError" in str(row["last_error"])

    clock.now = clock.start + timedelta(seconds=1)
    assert relay.run_once().attempted == 0  # not due yet
    clock.now = clock.start + timedelta(seconds=2)
    assert relay.run_once().failed == 1
    assert delivery(database)["next_attempt_at"] == clock.now + timedelta(seconds=4)
    for _ in range(5):  # the wait grows to its cap and stays there
        clock.now = delivery(database)["next_attempt_at"]  # type: ignore[assignment]
        relay.run_once()
    row = delivery(database)
    assert row["attempts"] == 7 and row["next_attempt_at"] == clock.now + timedelta(seconds=30)

    receiver.up = True
    clock.now = row["next_attempt_at"]  # type: ignore[assignment]
    assert relay.run_once().delivered == 1
    assert len(receiver.events) == 1
    clock.now += timedelta(hours=1)
    assert relay.run_once().attempted == 0
    assert len(receiver.events) == 1 and delivery(database)["attempts"] == 8


def test_an_error_status_is_a_failed_attempt(database: Database) -> None:
    record(database, "pay-1")
    relay = make_relay(
        database, lambda request: httpx.Response(503, text="down for maintenance"), clock=Clock()
    )
    assert relay.run_once().failed == 1
    row = delivery(database)
    assert row["last_status"] == 503 and "down for maintenance" in str(row["last_error"])


def test_events_of_one_resource_wait_for_the_earlier_ones(database: Database) -> None:
    clock = Clock()
    first = record(database, "A", n=1)
    second = record(database, "A", n=2)
    other = record(database, "B", n=1)
    failing_once = {first}

    def receiver(request: httpx.Request) -> httpx.Response:
        event = WebhookEvent.decode(request.read())
        if event.id in failing_once:
            failing_once.discard(event.id)
            return httpx.Response(500)
        seen.append(event.id)
        return httpx.Response(200)

    seen: list[uuid.UUID] = []
    relay = make_relay(database, receiver, clock=clock)
    result = relay.run_once()
    assert (result.delivered, result.failed) == (1, 1)
    assert seen == [other]  # A's second event held back behind its failed first
    clock.now += timedelta(seconds=2)
    relay.run_once()
    relay.run_once()
    assert seen == [other, first, second]


def test_a_live_lease_keeps_other_relays_off_until_it_expires(database: Database) -> None:
    clock, receiver = Clock(), Receiver()
    record(database, "pay-1")
    with database.sessionmaker() as session:
        session.execute(
            update(OUTBOX_TABLES.deliveries).values(
                leased_by="crashed-relay", leased_until=clock.start + timedelta(minutes=5)
            )
        )
        session.commit()
    relay = make_relay(database, receiver, clock=clock)
    assert relay.run_once().attempted == 0
    clock.now = clock.start + timedelta(minutes=5, seconds=1)
    assert relay.run_once().delivered == 1


# PostgreSQL only: concurrent relays claim with FOR UPDATE SKIP LOCKED, which SQLite lacks.
@pytest.mark.parametrize(
    "db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_two_relays_on_postgresql_never_deliver_an_event_twice(database: Database) -> None:
    receiver = Receiver(delay=0.003)
    recorded = [record(database, f"R{n % 6}", n=n) for n in range(48)]
    relays = [make_relay(database, receiver, batch_size=3, name=f"relay-{i}") for i in range(2)]
    done: dict[str, int] = {}

    def drain(relay: Relay) -> None:
        delivered = 0
        while (result := relay.run_once()).attempted:
            delivered += result.delivered
        done[relay.name] = delivered

    threads = [threading.Thread(target=drain, args=(relay,)) for relay in relays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    ids = [e.id for e in receiver.events]
    assert len(ids) == len(set(ids)) == 48
    assert set(ids) == set(recorded)
    assert sum(done.values()) == 48 and all(done.values()), done  # both relays took part
    for resource in {e.resource_id for e in receiver.events}:  # order per resource kept
        numbers = [e.data["n"] for e in receiver.events if e.resource_id == resource]
        assert numbers == sorted(numbers)


def test_background_thread_delivers_and_stops_cleanly(database: Database) -> None:
    receiver = Receiver()
    relay = make_relay(database, receiver, interval_seconds=0.02)
    relay.start()
    try:
        assert relay.running
        with pytest.raises(RuntimeError):
            relay.start()
        record(database, "pay-1")
        deadline = time.monotonic() + 5
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        relay.stop()
    assert len(receiver.events) == 1
    assert not relay.running


def test_a_failing_round_does_not_kill_the_thread(database: Database) -> None:
    receiver = Receiver()
    relay = make_relay(database, receiver, interval_seconds=0.02)
    rounds = {"n": 0}
    real_run_once = relay.run_once

    def flaky() -> RoundResult:
        rounds["n"] += 1
        if rounds["n"] == 1:
            raise RuntimeError("database went away")
        return real_run_once()

    relay.run_once = flaky  # type: ignore[method-assign]
    relay.start()
    try:
        record(database, "pay-1")
        deadline = time.monotonic() + 5
        while not receiver.events and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        relay.stop()
    assert rounds["n"] >= 2 and len(receiver.events) == 1


def test_stopping_hands_back_the_unsent_part_of_a_batch(database: Database) -> None:
    for n in range(3):
        record(database, f"R{n}")
    relay: Relay

    def receiver(request: httpx.Request) -> httpx.Response:
        relay.stop()  # shutdown requested while the first delivery is in flight
        return httpx.Response(200)

    relay = make_relay(database, receiver, concurrency=1)  # one in flight when the stop comes
    assert relay.run_once().delivered == 1
    with database.sessionmaker() as session:
        rows = session.execute(select(OUTBOX_TABLES.deliveries)).all()
    assert sorted(r.delivered_at is not None for r in rows) == [False, False, True]
    assert all(r.leased_by is None and r.leased_until is None for r in rows)  # free for another relay


def test_a_round_cut_short_by_the_database_hands_back_its_leases_next_round(database: Database) -> None:
    for n in range(3):
        record(database, f"R{n}")
    receiver = Receiver()
    # Time stands still (no lease expires); one delivery at a time, so the third is never sent.
    relay = make_relay(database, receiver, clock=Clock(), concurrency=1)
    real_record = relay._record
    calls = {"n": 0}

    def record_until_the_database_goes(*args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OperationalError("UPDATE", {}, Exception("connection refused"))
        real_record(*args)

    relay._record = record_until_the_database_goes  # type: ignore[method-assign]
    with pytest.raises(OperationalError):
        relay.run_once()
    # The second delivery was sent but not recorded, the third not sent: both go now, not after
    # the lease (minutes); the receiver sees the second twice, which its inbox absorbs.
    assert relay.run_once().delivered == 2
    with database.sessionmaker() as session:
        rows = session.execute(select(OUTBOX_TABLES.deliveries)).all()
    assert all(r.delivered_at is not None and r.leased_by is None for r in rows)
    assert len(receiver.events) == 4 and len({e.id for e in receiver.events}) == 3


def test_a_round_sends_up_to_concurrency_deliveries_at_once(database: Database) -> None:
    # Each answer waits until four requests are in flight together: one at a time never gets there.
    together = threading.Barrier(4, timeout=10)

    def receiver(request: httpx.Request) -> httpx.Response:
        together.wait()
        return httpx.Response(200)

    for n in range(8):
        record(database, f"R{n}")
    relay = make_relay(database, receiver, clock=Clock(), concurrency=4)
    assert relay.run_once() == RoundResult(delivered=8)
    assert relay.run_once().attempted == 0


def test_side_by_side_delivery_keeps_each_resource_in_order(database: Database) -> None:
    receiver = Receiver(delay=0.002)
    for n in range(24):
        record(database, f"R{n % 3}", n=n)
    relay = make_relay(database, receiver, clock=Clock(), concurrency=8)
    while relay.run_once().attempted:
        pass
    assert len(receiver.events) == len({e.id for e in receiver.events}) == 24
    for resource in ("R0", "R1", "R2"):
        numbers = [e.data["n"] for e in receiver.events if e.resource_id == resource]
        assert numbers == sorted(numbers)


def test_a_subscriber_that_is_down_is_tried_once_per_pause_not_once_per_event(database: Database) -> None:
    receiver, clock = Receiver(), Clock()
    receiver.up = False
    for n in range(10):
        record(database, f"R{n}")
    relay = make_relay(database, receiver, clock=clock, concurrency=1)

    assert relay.run_once() == RoundResult(failed=1, deferred=9)
    assert receiver.calls == 1
    clock.now += timedelta(seconds=1)
    assert relay.run_once().attempted == 0 and receiver.calls == 1  # held down for 2 s
    with database.sessionmaker() as session:
        rows = session.execute(select(OUTBOX_TABLES.deliveries)).all()
    assert sorted(r.attempts for r in rows) == [0] * 9 + [1]  # the untried ones were not counted
    assert all(r.leased_by is None for r in rows)

    clock.now = clock.start + timedelta(seconds=2)
    assert relay.run_once() == RoundResult(failed=1, deferred=9)  # still down: the pause doubles
    clock.now += timedelta(seconds=3)
    assert relay.run_once().attempted == 0 and receiver.calls == 2
    receiver.up = True
    clock.now = clock.start + timedelta(seconds=6)
    assert relay.run_once().delivered == 10
    assert len(receiver.events) == 10


def test_a_subscriber_back_up_gets_what_waited_for_it_at_once(database: Database) -> None:
    """Deliveries another relay (or one since restarted) dated far ahead because the subscriber
    was down are due again as soon as any relay gets an answer from it."""
    receiver, clock = Receiver(), Clock()
    receiver.up = False
    early = record(database, "A")
    first = make_relay(database, receiver, clock=clock, name="first")
    for _ in range(5):  # a long outage: the pause grows to 16 s, then the 30 s cap
        first.run_once()
        clock.now = delivery(database)["next_attempt_at"]  # type: ignore[assignment]
    first.run_once()
    waiting_until = delivery(database)["next_attempt_at"]
    assert waiting_until == clock.now + timedelta(seconds=30)

    receiver.up = True
    clock.now += timedelta(seconds=1)
    late = record(database, "B")
    second = make_relay(database, receiver, clock=clock, name="second")
    assert second.run_once().delivered == 1  # B; A is not due for another 29 s...
    assert second.run_once().delivered == 1  # ...but the subscriber answers, so it goes now
    assert [e.id for e in receiver.events] == [late, early]


def test_an_event_the_subscriber_refuses_keeps_its_own_backoff(database: Database) -> None:
    clock = Clock()
    refused = record(database, "A")
    for n in range(3):
        record(database, f"R{n}")

    def receiver(request: httpx.Request) -> httpx.Response:
        if WebhookEvent.decode(request.read()).id == refused:
            return httpx.Response(500, text="cannot apply this event")
        return httpx.Response(200)

    relay = make_relay(database, receiver, clock=clock)
    assert relay.run_once() == RoundResult(delivered=3, failed=1)
    # The others' success does not make the refused one due again: it waits its 2 s.
    assert relay.run_once().attempted == 0
    clock.now += timedelta(seconds=2)
    assert relay.run_once() == RoundResult(failed=1)
    assert relay.run_once().attempted == 0  # next wait 4 s


@pytest.mark.parametrize(("status", "error", "down"), [
    (None, "ConnectError: refused", True), (None, "ReadTimeout: timed out", True), (503, "HTTP 503", True),
    (429, "HTTP 429", True), (502, "HTTP 502", True), (500, "HTTP 500", False), (400, "HTTP 400", False),
    (200, None, False),
])  # fmt: skip
def test_which_failures_mean_the_subscriber_is_unavailable(
    status: int | None, error: str | None, down: bool
) -> None:
    assert unavailable(status, error) is down


@pytest.mark.parametrize(
    "db_backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_the_claim_walks_the_pending_deliveries_not_the_whole_history(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO outbox_events (event_id, type, resource_id, payload, created_at) "
                "SELECT gen_random_uuid(), 'payment.succeeded', 'R' || g, '{}'::json, now() "
                "FROM generate_series(1, 5000) g"
            )
        )
        connection.execute(
            text(
                "INSERT INTO outbox_deliveries (event_sequence, subscriber, resource_id, attempts, "
                "next_attempt_at, delivered_at, created_at) SELECT sequence, :hook, resource_id, 1, now(), "
                "CASE WHEN resource_id <> 'R5000' THEN now() END, now() FROM outbox_events"
            ),
            {"hook": HOOK},
        )
        connection.execute(text("ANALYZE outbox_deliveries"))
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statements:
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", capture)
    try:
        assert len(make_relay(database, Receiver(), clock=Clock())._claim("plan:1")) == 1
    finally:
        event.remove(database.engine, "before_cursor_execute", capture)
    statement, parameters = statements[0]
    with database.engine.connect() as connection:
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ix_outbox_deliveries_pending" in plan, plan
