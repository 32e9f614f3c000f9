"""Fault scenario: SIGKILL in the middle of requests. Suppliers submit invoices and the
municipality creates and completes payments, every request carrying an Idempotency-Key, while
the invoicing, payments and receipts processes are killed outright (no clean-up) and restarted.
Clients retry what failed with the same key. Afterwards: every success a client was given is
durable, nothing is half stored (each invoice has its seal, report and status history; each
paid payment its one receipt), and no retry made a duplicate."""

from __future__ import annotations

import hashlib
import json
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import sqlalchemy as sa

from services.common.db import Database
from services.invoicing.models import Invoice, StatusChange
from services.invoicing.samples import default_seller, sample_invoice
from services.payments.models import Payment
from services.receipts.models import Receipt
from tests.resilience.processes import (
    SUPPLIER_VAT,
    Suite,
    free_port,
    identity,
    report,
    soak,
    start_together,
    wait_until,
)


@dataclass
class Tally:
    """What the clients saw: per logical operation, the id of its first success and every answer."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    answers: Counter[str] = field(default_factory=Counter)
    invoices: dict[str, str] = field(default_factory=dict)  # invoice number -> id
    payments: dict[str, str] = field(default_factory=dict)  # reference -> id
    paid: set[str] = field(default_factory=set)
    replayed: int = 0
    retries: int = 0
    mismatched: list[str] = field(default_factory=list)
    # (path, Idempotency-Key, body, id the client was given) of every creation that succeeded
    keyed: list[tuple[str, str, bytes, str]] = field(default_factory=list)

    def saw(self, what: str) -> None:
        with self.lock:
            self.answers[what] += 1

    def stored_invoice(self, number: str, key: str, body: bytes, response: httpx.Response) -> None:
        """A submission that succeeded: the id the client was given, for the checks afterwards."""
        with self.lock:
            self.replayed += response.headers.get("Idempotent-Replayed") == "true"
            self.invoices[number] = response.json()["id"]
            self.keyed.append(("/v1/invoices", key, body, response.json()["id"]))


def retry(tally: Tally, deadline: float, send: object, done: object) -> httpx.Response | None:
    """Send until ``done(response)`` or the deadline; connection failures and 5xx are retried."""
    first = True
    while time.monotonic() < deadline:
        if not first:
            with tally.lock:
                tally.retries += 1
            time.sleep(0.2)
        first = False
        try:
            response: httpx.Response = send()  # type: ignore[operator]
        except httpx.TransportError as error:
            tally.saw(type(error).__name__)
            continue
        tally.saw(str(response.status_code))
        if done(response):  # type: ignore[operator]
            return response
        if response.status_code < 500:
            with tally.lock:
                tally.mismatched.append(
                    f"{response.request.url.path}: {response.status_code} {response.text[:400]}"
                )
            return None
    return None


def invoice_client(url: str, tally: Tally, numbers: list[str], deadline: float) -> None:
    headers = {**identity("supplier", supplier_id=SUPPLIER_VAT), "Content-Type": "application/xml"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
        for number in numbers:
            body = sample_invoice(number=number, seller=default_seller(SUPPLIER_VAT), lines=5)
            key = str(uuid.uuid4())
            response = retry(
                tally,
                deadline,
                lambda body=body, key=key: api.post(
                    "/v1/invoices", content=body, headers={"Idempotency-Key": key}
                ),
                lambda r: r.status_code in (200, 201),
            )
            if response is None:
                return
            tally.stored_invoice(number, key, body, response)


def payment_client(url: str, tally: Tally, references: list[str], deadline: float) -> None:
    with (
        httpx.Client(base_url=url, headers=identity("service"), timeout=30) as api,
        httpx.Client(base_url=url, timeout=30) as payer,
    ):
        for reference in references:
            key = str(uuid.uuid4())
            body = {
                "amount": 700,
                "currency": "EUR",
                "reference": reference,
                "description": "SIGKILL scenario",
                "return_url": "https://example.org/back",
            }
            created = retry(
                tally,
                deadline,
                lambda body=body, key=key: api.post(
                    "/v1/payments", json=body, headers={"Idempotency-Key": key}
                ),
                lambda r: r.status_code in (200, 201),
            )
            if created is None:
                return
            payment_id = created.json()["payment_id"]
            with tally.lock:
                tally.replayed += created.headers.get("Idempotent-Replayed") == "true"
                tally.payments[reference] = payment_id
                tally.keyed.append(("/v1/payments", key, json.dumps(body).encode(), payment_id))
            card = {"card_number": "4242424242424242", "expiry": "12/40", "cvc": "123"}

            def paid(response: httpx.Response, payment_id: str = payment_id) -> bool:
                if response.status_code == 303:
                    return True
                # An earlier attempt may have paid before its answer was lost: ask the state.
                try:
                    state = api.get(f"/v1/payments/{payment_id}")
                except httpx.TransportError:
                    return False
                return state.status_code == 200 and state.json()["state"]["status"] == "success"

            if retry(
                tally,
                deadline,
                lambda payment_id=payment_id, card=card: payer.post(f"/pay/{payment_id}", data=card),
                paid,
            ):
                with tally.lock:
                    tally.paid.add(payment_id)


def heavy_invoice(url: str, tally: Tally, number: str, deadline: float, sent: threading.Event) -> None:
    """One large invoice (seconds of server work): the kill lands while it is being handled, so
    every round interrupts at least one request for certain, however fast the other clients are."""
    headers = {**identity("supplier", supplier_id=SUPPLIER_VAT), "Content-Type": "application/xml"}
    body = sample_invoice(number=number, seller=default_seller(SUPPLIER_VAT), lines=HEAVY_LINES)
    key = str(uuid.uuid4())

    def on_request(request: httpx.Request) -> None:
        sent.set()

    with httpx.Client(
        base_url=url, headers=headers, timeout=60, event_hooks={"request": [on_request]}
    ) as api:
        response = retry(
            tally,
            deadline,
            lambda: api.post("/v1/invoices", content=body, headers={"Idempotency-Key": key}),
            lambda r: r.status_code in (200, 201),
        )
    if response is not None:
        tally.stored_invoice(number, key, body, response)


HEAVY_LINES = 4000


def guarded(client: Callable[..., None], *args: Any) -> None:
    """Run one client; anything it did not expect is recorded for the test to report."""
    tally: Tally = args[1]
    try:
        client(*args)
    except Exception as error:  # noqa: BLE001  (reported by the test's assertions)
        with tally.lock:
            tally.mismatched.append(f"{client.__name__} stopped: {error!r}")


def test_sigkill_in_the_middle_of_requests(suite: Suite) -> None:
    per_client = soak(6, 60)
    clients = 2
    ports = {name: free_port() for name in ("invoicing", "payments", "receipts")}
    receipts_hook = f"http://127.0.0.1:{ports['receipts']}/webhooks/events"
    payments_env = suite.service_env("payments", subscribers=receipts_hook, relay_enabled="false")
    invoicing = suite.app("invoicing", "invoicing", suite.service_env("invoicing"), ports["invoicing"])
    payments = suite.app("payments", "payments", payments_env, ports["payments"])
    receipts = suite.app("receipts", "receipts", suite.service_env("receipts"), ports["receipts"])
    relay = suite.relay("payments-relay", "payments", payments_env)
    start_together(invoicing, payments, receipts, relay)
    tally = Tally()
    deadline = time.monotonic() + soak(90, 600)
    run = uuid.uuid4().hex[:6]
    threads = []
    for c in range(clients):
        numbers = [f"K-{run}-{c}-{n:04d}" for n in range(per_client)]
        references = [f"KILL-{run}-{c}-{n:04d}" for n in range(per_client)]
        threads.append(
            threading.Thread(target=invoice_client, args=(invoicing.url, tally, numbers, deadline))
        )
        threads.append(
            threading.Thread(target=payment_client, args=(payments.url, tally, references, deadline))
        )
    for thread in threads:
        thread.start()
    kills = 0
    rounds = soak(2, 6)
    total_ops = 2 * clients * per_client  # invoices and payments created, before the payers' part
    for round_ in range(1, rounds + 1):
        # Kill every service at once when the clients are part-way through, mid-request.
        target = total_ops * round_ // (rounds + 1)

        def reached(target: int = target) -> bool:
            return len(tally.invoices) + len(tally.payments) >= target

        wait_until(
            reached,
            60,
            lambda: f"progress: {dict(tally.answers)} {tally.mismatched}\n{suite.logs()}",
        )
        sent = threading.Event()
        heavy = threading.Thread(
            target=guarded,
            args=(heavy_invoice, invoicing.url, tally, f"K-{run}-heavy-{round_}", deadline, sent),
        )
        heavy.start()
        threads.append(heavy)
        assert sent.wait(30), "the large invoice was never sent"
        time.sleep(0.15)  # the body is on its way or being validated: far from answered
        for proc in (invoicing, payments, receipts):
            proc.kill(signal.SIGKILL)
            kills += 1
        start_together(invoicing, payments, receipts)
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"clients did not finish\n{suite.logs()}"

    expected = clients * per_client
    heavy_invoices = rounds
    officer = identity("officer")
    with httpx.Client(timeout=30) as http:
        wait_until(
            lambda: http.get(f"{receipts.url}/v1/receipts", headers=officer).json()["total"] >= expected,
            60,
            f"{expected} receipts\n{suite.logs()}",
        )
        durable_invoices = sum(
            http.get(
                f"{invoicing.url}/v1/invoices/{invoice_id}",
                headers=identity("supplier", supplier_id=SUPPLIER_VAT),
            ).status_code
            == 200
            for invoice_id in tally.invoices.values()
        )
        durable_payments = sum(
            http.get(f"{payments.url}/v1/payments/{payment_id}", headers=identity("service")).json()["state"][
                "status"
            ]
            == "success"
            for payment_id in tally.paid
        )

    # Every creation sent again with its key, after the crashes: the first answer, not a second row.
    replays: Counter[str] = Counter()
    supplier = {**identity("supplier", supplier_id=SUPPLIER_VAT), "Content-Type": "application/xml"}
    service_caller = {**identity("service"), "Content-Type": "application/json"}
    with httpx.Client(timeout=30) as http:
        for path, key, body, first_id in tally.keyed:
            base, headers = (
                (invoicing.url, supplier) if path == "/v1/invoices" else (payments.url, service_caller)
            )
            again = http.post(f"{base}{path}", content=body, headers={**headers, "Idempotency-Key": key})
            again_id = again.json().get("id") or again.json().get("payment_id")
            replays[
                "replayed"
                if again.headers.get("Idempotent-Replayed") == "true" and again_id == first_id
                else f"{again.status_code} {again_id == first_id}"
            ] += 1

    invoicing_db = Database(suite.database_url("invoicing"))
    payments_db = Database(suite.database_url("payments"))
    receipts_db = Database(suite.database_url("receipts"))
    try:
        with invoicing_db.sessionmaker() as session:
            invoices = session.execute(
                sa.select(
                    Invoice.id,
                    Invoice.invoice_number,
                    Invoice.original,
                    Invoice.original_sha256,
                    Invoice.sealed,
                    Invoice.sealed_sha256,
                    Invoice.report,
                ).where(Invoice.invoice_number.like(f"K-{run}-%"))
            ).all()
            with_history = set(session.execute(sa.select(StatusChange.invoice_id).distinct()).scalars())
        with payments_db.sessionmaker() as session:
            payment_refs = Counter(
                session.execute(
                    sa.select(Payment.reference).where(Payment.reference.like(f"KILL-{run}-%"))
                ).scalars()
            )
        with receipts_db.sessionmaker() as session:
            receipt_payments = Counter(
                str(p) for p in session.execute(sa.select(Receipt.payment_id)).scalars()
            )
            receipt_numbers = sorted(session.execute(sa.select(Receipt.number)).scalars())
    finally:
        for database in (invoicing_db, payments_db, receipts_db):
            database.dispose()

    half_stored = [
        row.invoice_number
        for row in invoices
        if not row.sealed
        or hashlib.sha256(row.sealed).hexdigest() != row.sealed_sha256
        or hashlib.sha256(row.original).hexdigest() != row.original_sha256
        or not row.report
        or row.id not in with_history
    ]
    invoice_numbers = Counter(row.invoice_number for row in invoices)
    report(
        "sigkill",
        kills=kills,
        answers=dict(tally.answers),
        retries=tally.retries,
        replayed=tally.replayed,
        resent_with_same_key=dict(replays),
        invoices_confirmed=len(tally.invoices),
        invoices_stored=len(invoices),
        invoices_durable=durable_invoices,
        invoices_half_stored=len(half_stored),
        invoices_duplicated=sum(n - 1 for n in invoice_numbers.values() if n > 1),
        payments_confirmed=len(tally.payments),
        payments_stored=sum(payment_refs.values()),
        payments_duplicated=sum(n - 1 for n in payment_refs.values() if n > 1),
        paid=len(tally.paid),
        paid_durable=durable_payments,
        receipts=sum(receipt_payments.values()),
        receipts_duplicated=sum(n - 1 for n in receipt_payments.values() if n > 1),
    )
    assert tally.mismatched == []
    assert replays == Counter({"replayed": 2 * expected + heavy_invoices}), replays
    assert len(tally.invoices) == expected + heavy_invoices
    assert len(tally.payments) == expected and len(tally.paid) == expected
    assert durable_invoices == expected + heavy_invoices and durable_payments == expected
    assert half_stored == [], half_stored
    assert invoice_numbers == Counter(list(tally.invoices)), "an invoice was stored twice or not at all"
    assert payment_refs == Counter(list(tally.payments)), "a payment was stored twice or not at all"
    assert receipt_payments == Counter(tally.paid), "not exactly one receipt per paid payment"
    assert receipt_numbers == list(range(1, expected + 1)), "receipt numbers have a gap or a repeat"
    interrupted = sum(tally.answers[k] for k in tally.answers if not k.isdigit())
    assert interrupted >= rounds, f"{interrupted} requests interrupted in {rounds} rounds of kills"
