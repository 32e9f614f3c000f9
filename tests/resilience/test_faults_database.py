"""Fault scenario: the database becomes unreachable for a while. The payments service and its
stand-alone relay reach PostgreSQL through a TCP proxy on 127.0.0.1 that the test cuts and
restores (the machine's PostgreSQL server is never touched). While cut, requests fail fast with a
503 problem; clients retrying with their Idempotency-Key get exactly one payment each once the
database is back; the service and the relay resume by themselves and no event is lost."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from services.common.db import Database
from services.payments.models import OUTBOX_TABLES, Payment
from tests.resilience.processes import (
    Receiver,
    Suite,
    TcpProxy,
    identity,
    report,
    soak,
    wait_until,
)

PROBLEM = "application/problem+json"


class Client:
    """Creates and pays payments in a loop, retrying each with its Idempotency-Key until it is
    stored, and counts every answer."""

    def __init__(self, url: str) -> None:
        self.api = httpx.Client(base_url=url, headers=identity("service"), timeout=15)
        self.payer = httpx.Client(base_url=url, timeout=15)
        self.statuses: Counter[int] = Counter()
        self.problems: list[dict[str, object]] = []
        self.created: dict[str, str] = {}  # reference -> payment id
        self.paid: set[str] = set()
        self.stop = threading.Event()
        self.slowest = 0.0

    def _call(self, send: object) -> httpx.Response | None:
        started = time.monotonic()
        try:
            response: httpx.Response = send()  # type: ignore[operator]
        except httpx.TimeoutException:
            self.statuses[0] += 1
            return None
        self.slowest = max(self.slowest, time.monotonic() - started)
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            assert response.headers["content-type"].startswith(PROBLEM), response.text
            self.problems.append(response.json())
        return response

    def one(self, n: int, deadline: float) -> None:
        reference = f"FAULT-DB-{n:05d}"
        key = str(uuid.uuid4())
        body = {
            "amount": 500 + n,
            "currency": "EUR",
            "reference": reference,
            "description": "Database fault scenario",
            "return_url": "https://example.org/back",
        }
        while time.monotonic() < deadline:
            response = self._call(
                lambda: self.api.post("/v1/payments", json=body, headers={"Idempotency-Key": key})
            )
            if response is not None and response.status_code == 201:
                self.created[reference] = response.json()["payment_id"]
                break
            time.sleep(0.1)
        payment_id = self.created.get(reference)
        card = {"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"}
        while payment_id and time.monotonic() < deadline:
            response = self._call(lambda: self.payer.post(f"/pay/{payment_id}", data=card))
            if response is not None and response.status_code == 303:
                self.paid.add(payment_id)
                return
            if response is not None and response.status_code < 500:
                # Paid by an attempt whose answer was lost: the page then says so; check the state.
                state = self.api.get(f"/v1/payments/{payment_id}")
                if state.status_code == 200 and state.json()["state"]["status"] == "success":
                    self.paid.add(payment_id)
                    return
            time.sleep(0.1)

    def run(self, count: int, deadline: float) -> None:
        for n in range(count):
            if time.monotonic() > deadline:
                return
            self.one(n, deadline)

    def close(self) -> None:
        self.api.close()
        self.payer.close()


def test_database_unreachable_for_a_while(suite: Suite, receiver: Receiver) -> None:
    count = soak(20, 300)
    outage = soak(3, 15)
    real_url = make_url(suite.database_url("payments"))
    proxy = TcpProxy(real_url.host or "127.0.0.1", real_url.port or 5432)
    proxied = real_url.set(port=proxy.port).render_as_string(hide_password=False)
    env = suite.service_env("payments", database_url=proxied, subscribers=receiver.url, relay_enabled="false")
    service = suite.app("payments", "payments", env).start()
    relay = suite.relay("payments-relay", "payments", env).start()
    client = Client(service.url)
    database = Database(real_url.render_as_string(hide_password=False))
    budget = soak(120, 900)
    worker = threading.Thread(target=client.run, args=(count, time.monotonic() + budget))
    try:
        worker.start()
        wait_until(lambda: len(client.paid) >= count // 4, 30, "the first payments")
        proxy.cut()
        cut_at = time.monotonic()
        time.sleep(outage)
        ready_while_cut = httpx.get(f"{service.url}/readyz", timeout=10)
        proxy.restore()
        worker.join(timeout=budget)
        assert not worker.is_alive(), f"the client did not finish within {budget} s"
        wait_until(
            lambda: len(receiver.counts()) >= count,
            60,
            lambda: (
                f"{count} events at the receiver (paid {len(client.paid)}, "
                f"delivered {len(receiver.counts())}, answers {dict(client.statuses)})\n{suite.logs()}"
            ),
        )
        time.sleep(0.5)
        with database.sessionmaker() as session:
            references = Counter(
                session.execute(
                    sa.select(Payment.reference).where(Payment.reference.like("FAULT-DB-%"))
                ).scalars()
            )
            announced = session.execute(
                sa.select(sa.func.count())
                .select_from(OUTBOX_TABLES.events)
                .where(OUTBOX_TABLES.events.c.type == "payment.succeeded")
            ).scalar_one()
        deliveries = receiver.counts()
        failures = client.statuses[503]
        report(
            "database unreachable",
            outage_seconds=outage,
            requests=sum(client.statuses.values()),
            answers=dict(client.statuses),
            slowest_answer_s=round(client.slowest, 2),
            payments_stored=sum(references.values()),
            duplicated=sum(n - 1 for n in references.values() if n > 1),
            paid=len(client.paid),
            events_announced=announced,
            events_delivered=len(deliveries),
            delivered_twice=sum(1 for n in deliveries.values() if n > 1),
            lost=announced - len(deliveries),
            recovered_after_s=round(time.monotonic() - cut_at, 1),
            relay_alive=relay.alive,
        )
        assert ready_while_cut.status_code == 503, ready_while_cut.text
        assert failures > 0, "the outage was not seen by any request"
        # 409: a payment already settled, when the answer to the attempt that settled it was lost
        # with the connection (the commit reached the database, the reply did not come back).
        assert set(client.statuses) <= {200, 201, 303, 409, 503}, client.statuses
        assert all(
            p.get("status") == 503
            and p.get("code") == "database_unavailable"
            and "database" in str(p.get("detail"))
            for p in client.problems
        ), client.problems[:3]
        assert client.slowest < 10, "a request hung while the database was unreachable"
        assert references == Counter({f"FAULT-DB-{n:05d}": 1 for n in range(count)}), references
        assert len(client.paid) == count and announced == count
        assert len(deliveries) == count and service.alive and relay.alive, suite.logs()
    finally:
        client.stop.set()
        worker.join(timeout=30)
        client.close()
        database.dispose()
        proxy.close()
