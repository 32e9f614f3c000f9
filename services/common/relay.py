"""The outbox relay: delivers each pending (event, subscriber) as a signed webhook, at least once,
in order per resource, retrying while a subscriber is down.

How a round goes:

1. **Claim** up to ``batch_size`` due deliveries: not delivered, due, not leased by a live relay,
   to a subscriber this relay does not hold to be down, and with no earlier undelivered event of
   the same resource for the same subscriber. On PostgreSQL the candidates are locked with
   ``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent relays pick disjoint rows without waiting
   on each other; every backend then takes a lease with a conditional ``UPDATE`` (only rows still
   unleased), so two relays never hold the same delivery. The claim commits at once: no
   transaction stays open during HTTP calls.
2. **Deliver** the claimed rows over HTTP, up to ``concurrency`` at a time. A claim never holds
   two events of one resource for one subscriber (the later one waits for the earlier), so
   delivering side by side keeps the order per resource. A 2xx answer is success, anything else
   (or no answer) is a failure.
3. **Record** each outcome as it comes, only while still holding the lease.

Two kinds of failure wait differently:

- **The subscriber is unavailable**: no answer (refused, timed out) or 408, 429, 502, 503, 504.
  The event is not at fault, so its wait follows the subscriber, not its own count of attempts:
  the relay holds the subscriber down for ``min(base * 2**(n - 1), cap)`` after its n-th such
  failure in a row, hands the rest of the round's deliveries to it back untried (no timeout spent
  on each), and dates those that failed to the end of that pause. At the first success after it,
  every delivery to that subscriber that was waiting only for it to come back is due at once, so
  a backlog drains at full speed instead of after each event's own backoff (up to the cap).
- **The subscriber refused this event** (any other status): that delivery alone waits
  ``min(base * 2**(attempts - 1), cap)``, so a poison event neither blocks nor floods the rest.

A relay that dies mid-round leaves its leases to expire, after which another relay retries those
deliveries: a subscriber may then see an event twice, which its inbox absorbs (the event id is the
``Tessera-Event-Id`` and ``Idempotency-Key`` of every attempt).

The relay runs as a background thread of a service process (:meth:`Relay.start` / :meth:`Relay.stop`
from the app's lifespan) or alone (``tessera relay SERVICE``); any number may run side by side.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
# Answers that say the subscriber cannot take anything now, not that it refuses this event
# (RFC 9110 sections 15.5.9, 15.6.3-15.6.5; RFC 6585 section 4).
UNAVAILABLE_STATUSES = frozenset({408, 429, 502, 503, 504})

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


def unavailable(status: int | None, error: str | None) -> bool:
    """Whether a failed attempt says the subscriber is down rather than that it refused the event."""
    return error is not None and (status is None or status in UNAVAILABLE_STATUSES)


@dataclass(frozen=True, slots=True)
class RoundResult:
    delivered: int = 0
    failed: int = 0
    deferred: int = 0  # handed back untried: their subscriber went down during the round

    @property
    def attempted(self) -> int:
        return self.delivered + self.failed


@dataclass(slots=True)
class _Down:
    """A subscriber this relay holds to be unavailable: its failures in a row, and until when."""

    failures: int
    until: datetime


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    subscriber: str
    attempts: int
    event: WebhookEvent


class Relay:
    """Delivers one service database's outbox; see the module docstring for a round.

    ``client`` sends the webhooks (its own timeout bounds each attempt; ``timeout_seconds`` must
    match it, as it sizes the lease; it must be safe to share between threads, as
    ``httpx.Client`` is); ``clock`` is injectable so tests can move time.
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
        concurrency: int = 4,
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
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.service = service
        self.sessionmaker = sessionmaker
        self.tables = tables
        self.secrets = list(secrets)
        self.client = client
        self.batch_size = batch_size
        self.concurrency = concurrency
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
        self._down: dict[str, _Down] = {}
        self._down_lock = threading.Lock()

    def run_once(self) -> RoundResult:
        """Claim due deliveries, attempt each at most once, record the outcomes."""
        try:
            if self._stranded:
                self._release_stranded()
                self._stranded = False
            token = f"{self.name}:{uuid.uuid4().hex[:12]}"
            claimed = self._claim(token)
            if len(claimed) <= 1 or self.concurrency == 1:
                outcomes = [self._attempt(item, token) for item in claimed]
            else:
                with ThreadPoolExecutor(
                    max_workers=min(self.concurrency, len(claimed)), thread_name_prefix=self.name
                ) as pool:
                    outcomes = list(pool.map(lambda item: self._attempt(item, token), claimed))
            deferred = [item for item, outcome in zip(claimed, outcomes, strict=True) if outcome is None]
            if deferred:
                self._release(deferred, token)
            for subscriber in {
                item.subscriber for item, outcome in zip(claimed, outcomes, strict=True) if outcome
            }:
                self._answering(subscriber)
        except Exception:
            self._stranded = True
            raise
        return RoundResult(
            delivered=outcomes.count(True), failed=outcomes.count(False), deferred=len(deferred)
        )

    def _attempt(self, item: _Claimed, token: str) -> bool | None:
        """Deliver one claimed row and record the outcome: True delivered, False failed, None
        not tried (the relay is stopping, or the subscriber went down meanwhile)."""
        if self._stop.is_set() or self._is_down(item.subscriber):
            return None
        status, error = self._post(item)
        wait = self._mark_down(item.subscriber) if unavailable(status, error) else None
        self._record(item, token, status, error, wait)
        return error is None

    def _is_down(self, subscriber: str) -> bool:
        with self._down_lock:
            down = self._down.get(subscriber)
            return down is not None and self.clock() < down.until

    def _mark_down(self, subscriber: str) -> timedelta:
        """Hold ``subscriber`` down (longer at each outage in a row); how long from now. Several
        failures of one round count once: they are one outage."""
        now = self.clock()
        with self._down_lock:
            down = self._down.get(subscriber)
            if down is not None and now < down.until:
                return down.until - now
            failures = down.failures + 1 if down is not None else 1
            wait = self.backoff.delay(failures)
            self._down[subscriber] = _Down(failures, now + wait)
        log.warning(
            "subscriber unavailable", relay=self.name, subscriber=subscriber, retry_in=wait.total_seconds()
        )
        return wait

    def _answering(self, subscriber: str) -> None:
        """``subscriber`` took a delivery: what waited only for it to come back is due now, not
        at the end of the pause it was given (by this relay, another one, or one since
        restarted). One small UPDATE a round, over the pending rows dated in the future."""
        with self._down_lock:
            self._down.pop(subscriber, None)
        d = self.tables.deliveries
        now = self.clock()
        waiting = (
            select(d.c.id)
            .where(
                d.c.delivered_at.is_(None),
                d.c.next_attempt_at > now,
                d.c.subscriber == subscriber,
                d.c.attempts > 0,
                or_(d.c.last_status.is_(None), d.c.last_status.in_(UNAVAILABLE_STATUSES)),
            )
            # Rows another relay is writing are left to it; nor can two relays deadlock here.
            .with_for_update(skip_locked=True)
        )
        with self.sessionmaker() as session, session.begin():
            session.execute(
                update(d).where(d.c.id.in_(waiting.scalar_subquery())).values(next_attempt_at=now)
            )

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
        due = [d.c.delivered_at.is_(None), d.c.next_attempt_at <= now, unleased, ~earlier_pending]
        with self._down_lock:
            down = [subscriber for subscriber, state in self._down.items() if now < state.until]
        if down:
            due.append(d.c.subscriber.not_in(down))
        with self.sessionmaker() as session, session.begin():
            candidates = list(
                session.scalars(
                    select(d.c.id)
                    .where(*due)
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

    def _record(
        self, item: _Claimed, token: str, status: int | None, error: str | None, wait: timedelta | None = None
    ) -> None:
        """Store an attempt's outcome; a failure is due again after ``wait`` (the subscriber's
        pause) or else after the event's own backoff."""
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
            values["next_attempt_at"] = now + (wait if wait is not None else self.backoff.delay(attempts))
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
        """Deliver until :meth:`stop`; sleep ``interval_seconds`` whenever a round tries nothing."""
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
        """Ask the loop to end after the deliveries in flight, and wait for it."""
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
        concurrency=settings.relay_concurrency,
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
