"""Invoicing rules beyond one request: concurrent duplicates, all-or-nothing storage around the
seal, and status events delivered to the supplier as signed webhooks."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.common.identity import Principal, Role
from services.common.relay import Relay
from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, verify
from services.invoicing import service
from services.invoicing.errors import DuplicateInvoice
from services.invoicing.models import OUTBOX_TABLES, Invoice, StatusChange
from services.invoicing.samples import sample_invoice
from services.invoicing.ubl.lifecycle import InvoiceStatus
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

    def crash(*_: object, **__: object) -> None:
        raise RuntimeError("process killed while recording the acknowledgement")

    monkeypatch.setattr(service, "record_event", crash)
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


def test_status_changes_reach_the_supplier_as_signed_webhooks(invoicing_client: TestClient) -> None:
    app: Any = invoicing_client.app
    url = "https://erp.supplier.example/hooks"
    with app.state.database.sessionmaker() as session:
        service.set_webhook(session, principal=SUPPLIER, url=url)
        submitted = service.submit_invoice(
            session, runtime=app.state.runtime, principal=SUPPLIER, body=sample_invoice()
        )
        decision = service.StatusDecision(InvoiceStatus.PAID, payment_reference="SEPA-1")
        service.change_status(
            session,
            runtime=app.state.runtime,
            principal=OFFICER,
            invoice_id=submitted.invoice.id,
            decision=service.StatusDecision(InvoiceStatus.ACCEPTED),
        )
        service.change_status(
            session,
            runtime=app.state.runtime,
            principal=OFFICER,
            invoice_id=submitted.invoice.id,
            decision=decision,
        )
        session.commit()
    received: list[WebhookEvent] = []

    def supplier_erp(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == url
        verify(request.content, request.headers.get(SIGNATURE_HEADER), [WEBHOOK_SECRET])
        received.append(WebhookEvent.decode(request.content))
        return httpx.Response(204)

    relay = Relay(
        service="invoicing",
        sessionmaker=app.state.database.sessionmaker,
        tables=OUTBOX_TABLES,
        secrets=[WEBHOOK_SECRET],
        client=httpx.Client(transport=httpx.MockTransport(supplier_erp)),
    )
    for _ in range(3):
        relay.run_once()
    assert [e.type for e in received] == ["invoice.status_changed"] * 3
    assert [e.data["status"] for e in received] == ["AB", "AP", "PD"]
    assert received[2].data["payment_reference"] == "SEPA-1"
    assert received[1].data["response"].endswith("/responses/2")
