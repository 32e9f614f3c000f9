"""The outbox relay: delivers each pending (event, subscriber) as a signed webhook, at least once,
in order per resource, retrying with capped exponential backoff while a subscriber is down.

How a round goes:

1. **Claim** up to ``batch_size`` due deliveries: not delivered, due, not leased by a live relay,
   and with no earlier undelivered event of the same resource for the same subscriber. On
   PostgreSQL the candidates are locked with ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent
   relays pick disjoint rows without waiting on each other; every backend then takes a lease with
   a conditional ``UPDATE`` (only rows still unleased), so two relays never hold the same delivery.
   The claim commits at once: no transaction stays open during HTTP calls.
2. **Deliver** each claimed row over HTTP; a 2xx answer is success, anything else (or no answer)
   is a failure.
3. **Record** the outcome, only while still holding the lease: delivered, or one more attempt and
   the next one due after ``min(base * 2**(attempts - 1), cap)``.

A relay that dies mid-round leaves its leases to expire, after which another relay retries those
deliveries: a subscriber may then see an event twice, which its inbox absorbs.

The relay runs as a background thread of a service process (:meth:`Relay.start` / :meth:`Relay.stop`
from the app's lifespan) or alone (``tessera relay SERVICE``); any number may run side by side.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import structlog
from fastapi import FastAPI
from prometheus_client import Counter
from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.common.chassis import Lifespan
from services.common.db import Database, utcnow
from services.common.outbox import OutboxTables
from services.common.settings import ServiceSettings
from services.common.webhooks import EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER, WebhookEvent, sign

DELIVERIES = Counter(
    "tessera_outbox_deliveries_total", "Webhook delivery attempts by the outbox relay", ["service", "outcome"]
)
_ERROR_LIMIT = 1000

log = structlog.get_logger("tessera.relay")


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float = 2.0
    cap_seconds: float = 900.0

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds:
            raise ValueError("backoff needs 0 < base_seconds <= cap_seconds")

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        exponent = min(max(attempts - 1, 0), 62)  # 2**62 s is far past any cap; avoids float overflow
        return timedelta(seconds=min(self.base_seconds * 2.0**exponent, self.cap_seconds))


@dataclass(frozen=True, slots=True)
class RoundResult:
    delivered: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    subscriber: str
    attempts: int
    event: WebhookEvent


class Relay:
    """Delivers one service database's outbox; see the module docstring for a round.

    ``client`` sends the webhooks (its own timeout bounds each attempt; ``timeout_seconds`` must
    match it, as it sizes the lease); ``clock`` is injectable so tests can move time.
    """

    def __init__(
        self,
        *,
        service: str,
        sessionmaker: sessionmaker[Session],
        tables: OutboxTables,
        secrets: Sequence[str],
        client: httpx.Client,
        batch_size: int = 20,
        interval_seconds: float = 1.0,
        timeout_seconds: float = 10.0,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
        name: str | None = None,
    ) -> None:
        if not secrets:
            raise ValueError("the relay needs at least one webhook secret to sign deliveries")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.service = service
        self.sessionmaker = sessionmaker
        self.tables = tables
        self.secrets = list(secrets)
        self.client = client
        self.batch_size = batch_size
        self.interval_seconds = interval_seconds
        self.timeout_seconds = timeout_seconds
        self.backoff = backoff or Backoff()
        self.clock = clock
        self.name = (name or f"{service}-relay-{uuid.uuid4().hex[:8]}")[:80]  # + claim id fits leased_by
        # Long enough for a whole batch of slow subscribers, so a live relay never loses its lease.
        self.lease = timedelta(seconds=batch_size * timeout_seconds + 60)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Set when a round fails part-way (the database went away): its leases would otherwise
        # hold the rows it had claimed until they expire, minutes later.
        self._stranded = False

    def run_once(self) -> RoundResult:
        """Claim due deliveries, attempt each once, record the outcomes."""
        try:
            if self._stranded:
                self._release_stranded()
                self._stranded = False
            token = f"{self.name}:{uuid.uuid4().hex[:12]}"
            claimed = self._claim(token)
            delivered = failed = 0
            for index, item in enumerate(claimed):
                if self._stop.is_set():  # shutting down: hand the rest back instead of holding them
                    self._release(claimed[index:], token)
                    break
                status, error = self._post(item)
                self._record(item, token, status, error)
                if error is None:
                    delivered += 1
                else:
                    failed += 1
        except Exception:
            self._stranded = True
            raise
        return RoundResult(delivered=delivered, failed=failed)

    def _release_stranded(self) -> None:
        """Hand back what an earlier, failed round of this relay still holds. Safe because one
        relay runs one round at a time: no lease of its own is in use now. A delivery whose
        answer was sent but not recorded goes again, which the receiver's inbox absorbs."""
        d = self.tables.deliveries
        with self.sessionmaker() as session, session.begin():
            session.execute(
                update(d)
                .where(d.c.delivered_at.is_(None), d.c.leased_by.startswith(f"{self.name}:", autoescape=True))
                .values(leased_by=None, leased_until=None)
            )

    def _claim(self, token: str) -> list[_Claimed]:
        d, e = self.tables.deliveries, self.tables.events
        earlier = d.alias("earlier")
        now = self.clock()
        earlier_pending = exists().where(
            earlier.c.subscriber == d.c.subscriber,
            earlier.c.resource_id == d.c.resource_id,
            earlier.c.event_sequence < d.c.event_sequence,
            earlier.c.delivered_at.is_(None),
        )
        unleased = or_(d.c.leased_until.is_(None), d.c.leased_until < now)
        with self.sessionmaker() as session, session.begin():
            candidates = list(
                session.scalars(
                    select(d.c.id)
                    .where(d.c.delivered_at.is_(None), d.c.next_attempt_at <= now, unleased, ~earlier_pending)
                    .order_by(d.c.event_sequence, d.c.id)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True, of=d)
                )
            )
            if not candidates:
                return []
            session.execute(
                update(d)
                .where(d.c.id.in_(candidates), unleased)
                .values(leased_by=token, leased_until=now + self.lease)
            )
            rows = session.execute(
                select(
                    d.c.id,
                    d.c.subscriber,
                    d.c.attempts,
                    e.c.event_id,
                    e.c.type,
                    e.c.resource_id,
                    e.c.created_at,
                    e.c.payload,
                )
                .join(e, e.c.sequence == d.c.event_sequence)
                .where(and_(d.c.id.in_(candidates), d.c.leased_by == token))
                .order_by(d.c.event_sequence, d.c.id)
            ).all()
        return [
            _Claimed(
                id=row.id,
                subscriber=row.subscriber,
                attempts=row.attempts,
                event=WebhookEvent(
                    id=row.event_id,
                    type=row.type,
                    resource_id=row.resource_id,
                    created_at=row.created_at,
                    data=row.payload,
                ),
            )
            for row in rows
        ]

    def _post(self, item: _Claimed) -> tuple[int | None, str | None]:
        body = item.event.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.secrets),
            EVENT_ID_HEADER: str(item.event.id),
            EVENT_TYPE_HEADER: item.event.type,
            "Idempotency-Key": str(item.event.id),
        }
        try:
            response = self.client.post(item.subscriber, content=body, headers=headers)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"[:_ERROR_LIMIT]
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}: {response.text}"[:_ERROR_LIMIT]

    def _record(self, item: _Claimed, token: str, status: int | None, error: str | None) -> None:
        d = self.tables.deliveries
        now = self.clock()
        attempts = item.attempts + 1
        values: dict[str, object] = {
            "attempts": attempts,
            "last_status": status,
            "last_error": error,
            "leased_by": None,
            "leased_until": None,
        }
        if error is None:
            values["delivered_at"] = now
        else:
            values["next_attempt_at"] = now + self.backoff.delay(attempts)
        with self.sessionmaker() as session, session.begin():
            session.execute(update(d).where(d.c.id == item.id, d.c.leased_by == token).values(values))
        outcome = "delivered" if error is None else "failed"
        DELIVERIES.labels(self.service, outcome).inc()
        log.info(
            "webhook delivery",
            outcome=outcome,
            event_id=str(item.event.id),
            event_type=item.event.type,
            subscriber=item.subscriber,
            attempts=attempts,
            status=status,
            error=error,
        )

    def _release(self, items: Sequence[_Claimed], token: str) -> None:
        d = self.tables.deliveries
        with self.sessionmaker() as session, session.begin():
            session.execute(
                update(d)
                .where(d.c.id.in_([item.id for item in items]), d.c.leased_by == token)
                .values(leased_by=None, leased_until=None)
            )

    def run_forever(self) -> None:
        """Deliver until :meth:`stop`; sleep ``interval_seconds`` whenever a round finds nothing."""
        while not self._stop.is_set():
            try:
                result = self.run_once()
            except Exception:  # noqa: BLE001  (a database hiccup must not kill the relay; it retries)
                log.exception("relay round failed", relay=self.name)
                result = RoundResult()
            if result.attempted == 0:
                self._stop.wait(self.interval_seconds)

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("this relay is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run_forever, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Ask the loop to end after the delivery in flight, and wait for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_seconds + 5 if timeout is None else timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def relay_http_client(settings: ServiceSettings) -> httpx.Client:
    """The relay's HTTP client; its timeout bounds each delivery (and so the lease, see Relay)."""
    return httpx.Client(timeout=settings.relay_timeout_seconds, follow_redirects=False)


def build_relay(
    *,
    service: str,
    settings: ServiceSettings,
    tables: OutboxTables,
    database: Database,
    client: httpx.Client,
    name: str | None = None,
) -> Relay:
    return Relay(
        service=service,
        sessionmaker=database.sessionmaker,
        tables=tables,
        secrets=settings.webhook_secret_list,
        client=client,
        batch_size=settings.relay_batch_size,
        interval_seconds=settings.relay_interval_seconds,
        timeout_seconds=settings.relay_timeout_seconds,
        backoff=Backoff(settings.relay_backoff_seconds, settings.relay_backoff_cap_seconds),
        name=name,
    )


def relay_lifespan(
    *, service: str, settings: ServiceSettings, tables: OutboxTables, client: httpx.Client | None = None
) -> Lifespan:
    """The chassis ``extra_lifespan`` that runs this service's relay as a background thread (when
    ``relay_enabled``) and stops it, after the delivery in flight, when the app shuts down."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.relay_enabled:
            app.state.relay = None
            yield
            return
        http = client or relay_http_client(settings)
        relay = build_relay(
            service=service, settings=settings, tables=tables, database=app.state.database, client=http
        )
        app.state.relay = relay
        relay.start()
        try:
            yield
        finally:
            relay.stop()
            if client is None:
                http.close()

    return lifespan
