"""Invoicing rules beyond one request: concurrent duplicates, all-or-nothing storage around the
seal, and status events delivered to the supplier as signed webhooks."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, inspect, select
from sqlalchemy.orm import Session

from services.common.db import Precompiled
from services.common.identity import Principal, Role
from services.common.outbox import Outbox, Subscriptions, record_event
from services.common.relay import Relay
from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, WebhookRejected, verify
from services.invoicing import repository, service
from services.invoicing.errors import DuplicateInvoice, InvoiceInvalid, WebhookUrlInvalid
from services.invoicing.models import OUTBOX_TABLES, Invoice, OutboxEvent, StatusChange
from services.invoicing.samples import sample_invoice
from services.invoicing.ubl.lifecycle import InvoiceStatus
from services.invoicing.ubl.seal import NotSealable
from services.invoicing.webhooks import Registration, SupplierSigning, supplier_outbox
from tests.conftest import WEBHOOK_SECRET
from tests.invoicing.conftest import SELLER

SUPPLIER = Principal(key_id="k-s", role=Role.SUPPLIER, name="supplier", supplier_id=SELLER)
OFFICER = Principal(key_id="k-o", role=Role.OFFICER, name="Officer Rossi")


def count(client: TestClient, model: Any) -> int:
    with client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_concurrent_submissions_of_one_invoice_store_it_once(invoicing_client: TestClient) -> None:
    app: Any = invoicing_client.app
    body = sample_invoice(number="C-1", lines=5)
    racers = 4
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []

    def submit() -> None:
        with app.state.database.sessionmaker() as session:
            barrier.wait()
            try:
                service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=body)
                session.commit()
                outcomes.append("created")
            except DuplicateInvoice:
                session.rollback()
                outcomes.append("duplicate")

    threads = [threading.Thread(target=submit) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["created"] + ["duplicate"] * (racers - 1)
    assert count(invoicing_client, Invoice) == 1 and count(invoicing_client, StatusChange) == 1


def test_a_failing_seal_stores_nothing(invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    app: Any = invoicing_client.app

    def broken(original: bytes, **_: object) -> object:
        raise RuntimeError("hardware security module unplugged")

    monkeypatch.setattr(app.state.runtime.sealer, "seal", broken)
    with pytest.raises(RuntimeError), app.state.database.sessionmaker() as session:
        service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice())
        session.commit()
    assert count(invoicing_client, Invoice) == 0


def test_a_crash_after_storing_rolls_back_the_invoice_with_its_seal(
    invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    app: Any = invoicing_client.app

    write = repository.insert_invoice

    def crash(*args: Any, **kwargs: Any) -> None:
        write(*args, **kwargs)
        raise RuntimeError("process killed right after writing the invoice and its acknowledgement")

    monkeypatch.setattr(repository, "insert_invoice", crash)
    with pytest.raises(RuntimeError), app.state.database.sessionmaker() as session:
        try:
            service.submit_invoice(
                session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice()
            )
            session.commit()
        except RuntimeError:
            session.rollback()
            raise
    assert count(invoicing_client, Invoice) == 0 and count(invoicing_client, StatusChange) == 0


def test_a_submission_is_one_statement_on_postgresql(
    invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the routing code is checked, and the invoice, its first status, its event and
    the event's delivery to the supplier's webhook are written, in a single statement; SQLite
    reads the routing code and the webhook together, then writes one statement per row."""
    app: Any = invoicing_client.app
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    run = Precompiled._run

    def record_precompiled(self: Precompiled, session: Session, params: dict[str, Any]) -> Any:
        ran = run(self, session, params)
        record(None, None, self._compiled[session.get_bind().dialect.name].sql)
        return ran

    engine = app.state.database.engine
    with app.state.database.sessionmaker() as session:
        service.set_webhook(
            session, runtime=app.state.runtime, principal=SUPPLIER, url="https://erp.example/h"
        )
        session.commit()
    event.listen(engine, "before_cursor_execute", record)
    monkeypatch.setattr(Precompiled, "_run", record_precompiled)
    try:
        with app.state.database.sessionmaker() as session:
            submitted = service.submit_invoice(
                session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice()
            )
            session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.startswith("SELECT")]
    written = [re.findall(r"INSERT INTO (\w+)", s) for s in statements if "INSERT INTO" in s]
    writes = [table for tables in written for table in tables]
    assert writes == ["invoices", "invoice_status_changes", "outbox_events", "outbox_deliveries"], statements
    if engine.dialect.name == "postgresql":
        assert len(statements) == 1, statements
    else:
        # SQLite reads the routing code and the supplier's webhook first, then writes row by row.
        assert reads and statements[: len(reads)] == reads, statements
    with app.state.database.sessionmaker() as session:
        stored = session.get(Invoice, submitted.invoice.id)
        assert stored is not None and stored.sealed == submitted.invoice.sealed
        assert stored.report == submitted.invoice.report
        assert [c.status for c in service.history(session, invoice=stored)] == [InvoiceStatus.RECEIVED]


@pytest.mark.parametrize("subscribers", ["", "https://audit.example/in,invoice.*=https://erp.example/h"])
@pytest.mark.parametrize("webhook", [None, "https://erp.example/h"])
def test_a_submissions_event_is_the_row_record_event_writes(
    invoicing_client: TestClient, subscribers: str, webhook: str | None
) -> None:
    """Written with the invoice in one statement on PostgreSQL, the acknowledgement's event and
    its deliveries are what :func:`record_event` writes for the same event: same payload, one
    delivery per distinct subscriber URL (the supplier's webhook among them), due at once."""
    app: Any = invoicing_client.app
    runtime = dataclasses.replace(
        app.state.runtime, outbox=Outbox(OUTBOX_TABLES, Subscriptions.parse(subscribers))
    )
    with app.state.database.sessionmaker() as session:
        if webhook is not None:
            service.set_webhook(session, runtime=runtime, principal=SUPPLIER, url=webhook)
        submitted = service.submit_invoice(
            session, runtime=runtime, principal=SUPPLIER, body=sample_invoice()
        )
        (acknowledgement,) = service.history(session, invoice=submitted.invoice)
        expected = service._status_event(
            runtime=runtime,
            invoice=submitted.invoice,
            change={
                "status": InvoiceStatus.RECEIVED,
                "reasons": [],
                "actions": [],
                "note": None,
                "payment_reference": None,
                "created_at": acknowledgement.created_at,
                "number": 1,
            },
            previous=None,
        )
        record_event(
            session,
            supplier_outbox(expected.outbox, webhook),
            event_type=expected.event_type,
            resource_id="reference",
            payload=expected.payload,
        )
        session.commit()
    events, deliveries = OUTBOX_TABLES.events, OUTBOX_TABLES.deliveries
    with app.state.database.sessionmaker() as session:
        written = session.execute(select(events).order_by(events.c.sequence)).all()
        sent = session.execute(select(deliveries).order_by(deliveries.c.id)).all()
    ours, reference = written
    assert ours.type == reference.type == "invoice.status_changed"
    assert ours.resource_id == str(submitted.invoice.id)
    assert ours.payload == reference.payload
    assert ours.payload["invoice_id"] == str(submitted.invoice.id) and ours.payload["status"] == "AB"
    assert ours.payload["changed_at"] == acknowledgement.created_at.isoformat()
    assert ours.event_id != reference.event_id

    def shape(delivery: Any, event: Any) -> tuple[Any, ...]:
        assert delivery.next_attempt_at == delivery.created_at == event.created_at
        return (delivery.subscriber, delivery.attempts, delivery.delivered_at, delivery.leased_by)

    by_event = {e.sequence: e for e in written}
    mine = [shape(d, by_event[d.event_sequence]) for d in sent if d.event_sequence == ours.sequence]
    theirs = [shape(d, by_event[d.event_sequence]) for d in sent if d.event_sequence == reference.sequence]
    assert sorted(mine) == sorted(theirs)  # one event's deliveries go to different subscribers, in no order
    assert all(d.resource_id == str(submitted.invoice.id) for d in sent if d.event_sequence == ours.sequence)
    assert len(mine) == len(
        {*Subscriptions.parse(subscribers).urls_for("invoice.status_changed"), *[webhook] * bool(webhook)}
    )


def relay_for(app: Any, handler: Any, internal: tuple[str, ...] = ()) -> Relay:
    def registration_of(supplier_id: str) -> Registration | None:
        with app.state.database.sessionmaker() as session:
            return service.webhook_registration(session, supplier_id=supplier_id)

    transport = SupplierSigning(httpx.MockTransport(handler), registration_of, internal)
    return Relay(
        service="invoicing",
        sessionmaker=app.state.database.sessionmaker,
        tables=OUTBOX_TABLES,
        secrets=[WEBHOOK_SECRET],
        client=httpx.Client(transport=transport),
    )


def test_status_changes_reach_the_supplier_signed_with_its_own_secret(invoicing_client: TestClient) -> None:
    app: Any = invoicing_client.app
    url = "https://erp.supplier.example/hooks"
    with app.state.database.sessionmaker() as session:
        _, secret = service.set_webhook(session, runtime=app.state.runtime, principal=SUPPLIER, url=url)
        submitted = service.submit_invoice(
            session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice()
        )
        for decision in (
            service.StatusDecision(InvoiceStatus.ACCEPTED),
            service.StatusDecision(InvoiceStatus.PAID, payment_reference="SEPA-1"),
        ):
            service.change_status(
                session,
                runtime=app.state.runtime,
                principal=OFFICER,
                invoice_id=submitted.invoice.id,
                decision=decision,
            )
        session.commit()
    assert secret is not None
    received: list[WebhookEvent] = []

    def supplier_erp(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == url
        verify(request.content, request.headers.get(SIGNATURE_HEADER), [secret])
        with pytest.raises(WebhookRejected):  # the services' shared secret signs nothing here
            verify(request.content, request.headers.get(SIGNATURE_HEADER), [WEBHOOK_SECRET])
        received.append(WebhookEvent.decode(request.content))
        return httpx.Response(204)

    relay = relay_for(app, supplier_erp)
    for _ in range(3):
        relay.run_once()
    assert [e.type for e in received] == ["invoice.status_changed"] * 3
    assert [e.data["status"] for e in received] == ["AB", "AP", "PD"]
    assert received[2].data["payment_reference"] == "SEPA-1"
    assert received[1].data["response"].endswith("/responses/2")


def test_events_follow_the_current_registration_and_are_dropped_without_one(
    invoicing_client: TestClient,
) -> None:
    app: Any = invoicing_client.app
    with app.state.database.sessionmaker() as session:
        service.set_webhook(
            session, runtime=app.state.runtime, principal=SUPPLIER, url="https://old.example/h"
        )
        service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice())
        service.set_webhook(
            session, runtime=app.state.runtime, principal=SUPPLIER, url="https://new.example/h"
        )
        session.commit()
    seen: list[str] = []

    def anywhere(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    relay_for(app, anywhere).run_once()
    assert seen == ["https://new.example/h"]
    with app.state.database.sessionmaker() as session:
        service.submit_invoice(
            session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice(number="INV-2")
        )
        service.delete_webhook(session, principal=SUPPLIER)
        session.commit()
    relay_for(app, anywhere).run_once()
    assert seen == ["https://new.example/h"]  # nothing sent, and never with the shared signature


@pytest.mark.parametrize(
    "url",
    [
        "http://erp.example/h",
        "https://127.0.0.1/h",
        "https://10.1.2.3/h",
        "https://localhost/h",
        "https://[::1]/h",
    ],
)
def test_in_production_webhooks_must_be_public_https(invoicing_client: TestClient, url: str) -> None:
    app: Any = invoicing_client.app
    runtime = dataclasses.replace(app.state.runtime, public_webhooks_only=True)
    with app.state.database.sessionmaker() as session, pytest.raises(WebhookUrlInvalid):
        service.set_webhook(session, runtime=runtime, principal=SUPPLIER, url=url)


def _deactivate(app: Any, code: str) -> None:
    with app.state.database.sessionmaker() as session:
        service.update_routing_code(session, code=code, active=False, description=None)
        session.commit()


def _routing_findings(refused: InvoiceInvalid) -> list[dict[str, Any]]:
    return [f for f in refused.extra["report"]["findings"] if f["rule"] == "TESSERA-B2G-02"]


def test_a_routing_code_deactivated_while_the_invoice_is_sealed_keeps_it_out(
    invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The routing code is checked by the write itself: deactivated after the checks read the
    invoice, it refuses the invoice as the checks would have, and nothing is stored."""
    app: Any = invoicing_client.app
    seal = service._seal

    def deactivating(*args: Any, **kwargs: Any) -> Any:
        sealed = seal(*args, **kwargs)
        _deactivate(app, "UFDEMO-FIN")
        return sealed

    monkeypatch.setattr(service, "_seal", deactivating)
    with app.state.database.sessionmaker() as session, pytest.raises(InvoiceInvalid) as refused:
        service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice())
    (finding,) = _routing_findings(refused.value)
    assert "'UFDEMO-FIN' is not a routing code" in finding["message"] and "UFDEMO-PW" in finding["message"]
    assert count(invoicing_client, Invoice) == 0 and count(invoicing_client, StatusChange) == 0
    assert count(invoicing_client, OutboxEvent) == 0


def test_an_inactive_routing_code_is_reported_before_the_seal_refuses(
    invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Taken as active until the write, an inactive routing code still comes first: a refusal on
    the way (here the seal's) gives way to the report that names the routing code."""
    app: Any = invoicing_client.app
    _deactivate(app, "UFDEMO-FIN")

    def unsealable(original: bytes, **_: object) -> object:
        raise NotSealable("cannot seal this document")

    monkeypatch.setattr(app.state.runtime.sealer, "seal", unsealable)
    with app.state.database.sessionmaker() as session, pytest.raises(InvoiceInvalid) as refused:
        service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice())
    assert [f["rule"] for f in refused.value.extra["report"]["findings"]] == ["TESSERA-B2G-02"]
    monkeypatch.undo()
    with app.state.database.sessionmaker() as session, pytest.raises(InvoiceInvalid) as refused:
        service.submit_invoice(session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice())
    assert len(_routing_findings(refused.value)) == 1
    assert count(invoicing_client, Invoice) == 0


def test_a_new_submissions_answer_is_the_stored_row_untracked(invoicing_client: TestClient) -> None:
    """The answer holds every column as stored, in a transient invoice with nothing to flush."""
    app: Any = invoicing_client.app
    with app.state.database.sessionmaker() as session:
        submitted = service.submit_invoice(
            session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice()
        )
        session.commit()
    answer = inspect(submitted.invoice)
    assert answer.transient and not answer.modified and answer.session is None
    with app.state.database.sessionmaker() as session:
        stored = repository.get_invoice(session, submitted.invoice.id, with_documents=True)
        assert stored is not None
        for column in Invoice.__table__.columns:
            assert getattr(submitted.invoice, column.key) == getattr(stored, column.key), column.key


def test_the_answer_of_a_processs_first_submission_reads_like_any_other() -> None:
    """A fresh process whose first ORM work is a submission's answer (the bench's stage timings,
    a replica's first request) configures the mappers before filling the transient invoice."""
    script = (
        "import uuid\n"
        "from services.invoicing import service\n"
        "invoice = service._as_written({'id': uuid.UUID(int=7), 'supplier_id': 'S'})\n"
        "print(invoice.id, invoice.supplier_id)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(uuid.UUID(int=7)), "S"]
