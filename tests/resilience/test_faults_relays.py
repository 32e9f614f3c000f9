"""Fault scenario: two stand-alone outbox relays (``tessera relay payments``) share one PostgreSQL
outbox while events keep arriving. Every event reaches the receiver, and none reaches it twice
(the receiver acknowledges every delivery, so a second one would be the relays' fault)."""

from __future__ import annotations

import time

import sqlalchemy as sa

from services.common.db import Database
from services.common.outbox import Outbox, Subscriptions, record_event
from services.payments.models import OUTBOX_TABLES
from tests.resilience.processes import Receiver, Suite, report, soak, wait_until


def test_two_relays_deliver_every_event_once(suite: Suite, receiver: Receiver) -> None:
    total = soak(500, 5000)
    batch = 50
    url = suite.database_url("payments")
    env = suite.service_env("payments", subscribers=receiver.url, relay_batch_size="10")
    relays = [suite.relay(f"relay-{n}", "payments", env).start() for n in (1, 2)]
    outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse(receiver.url))
    database = Database(url)
    sent: list[str] = []
    started = time.monotonic()
    try:
        for first in range(0, total, batch):
            with database.sessionmaker() as session:
                for n in range(first, min(first + batch, total)):
                    event_id = record_event(
                        session,
                        outbox,
                        event_type="payment.succeeded",
                        resource_id=f"resource-{n % 37}",
                        payload={"n": n},
                    )
                    sent.append(str(event_id))
                session.commit()
            time.sleep(0.02)
        wait_until(
            lambda: len(receiver.counts()) >= total, 60 if total <= 500 else 600, f"{total} deliveries"
        )
        time.sleep(1)  # anything a relay would still send twice arrives now
        seconds = time.monotonic() - started
        counts = receiver.counts()
        with database.sessionmaker() as session:
            deliveries = OUTBOX_TABLES.deliveries
            pending = session.execute(
                sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.delivered_at.is_(None))
            ).scalar_one()
        delivered = sum(1 for event in sent if counts[event] >= 1)
        duplicated = sum(n - 1 for n in counts.values() if n > 1)
        lost = total - delivered
        unknown = len(set(counts) - set(sent))
        report(
            "two relays",
            events_sent=total,
            delivered=delivered,
            duplicated=duplicated,
            lost=lost,
            unknown=unknown,
            pending_in_outbox=pending,
            relays_alive=sum(relay.alive for relay in relays),
            seconds=round(seconds, 1),
            per_second=round(total / seconds),
        )
        assert (delivered, duplicated, lost, unknown, pending) == (total, 0, 0, 0, 0)
        assert all(relay.alive for relay in relays), suite.logs()
    finally:
        database.dispose()
