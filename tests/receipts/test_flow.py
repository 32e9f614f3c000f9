"""Receipts behind the real payments service: every succeeded payment has exactly one valid
receipt in a verifiable chain, and a refund made in payments becomes a credit receipt for the
refunded amount (the payments outbox delivers both events through its relay)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from services.receipts import service
from services.receipts.document import ReceiptKind, parse_receipt
from services.receipts.models import Receipt
from tests.payments.test_flow import pay, relay_for

Headers = Callable[..., dict[str, str]]


def stored(receipts: TestClient) -> list[Receipt]:
    with receipts.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        return list(session.scalars(select(Receipt).order_by(Receipt.number)))


def test_payments_and_a_refund_become_receipts_and_a_credit_receipt(
    payments_client: TestClient, receipts_client: TestClient, principal_headers: Headers
) -> None:
    paid = [pay(payments_client, principal_headers) for _ in range(3)]
    relay = relay_for(payments_client, receipts_client)
    assert relay.run_once().delivered == 3
    refund = payments_client.post(
        f"/v1/payments/{paid[1]}/refunds",
        json={"amount": 1000, "refund_amount_available": 2500},
        headers=principal_headers("officer"),
    )
    assert refund.status_code == 202, refund.text
    delivered = sum(relay.run_once().delivered for _ in range(3))
    assert delivered == 1

    rows = stored(receipts_client)
    receipts = [r for r in rows if r.kind == ReceiptKind.RECEIPT.value]
    assert sorted(str(r.payment_id) for r in receipts) == sorted(paid)  # one each, none twice
    (credit,) = [r for r in rows if r.kind == ReceiptKind.CREDIT.value]
    record = parse_receipt(bytes(credit.record))
    original = next(r for r in receipts if str(r.payment_id) == paid[1])
    assert record.amount.amount_minor == 1000 and record.credits is not None
    assert (record.credits.receipt_id, record.credits.number) == (str(original.id), original.number)
    assert [r.number for r in rows] == [1, 2, 3, 4]
    issuing: Any = receipts_client.app.state.issuing  # type: ignore[attr-defined]
    with receipts_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        verdict = service.verify_series(session, series_key=rows[0].series_key, verifier=issuing.verifier)
        view = service.verify_receipt(session, receipt_id=original.id, issuing=issuing)
    assert verdict.intact and verdict.checked == 4
    assert view.status is service.VerificationStatus.PARTIALLY_REFUNDED
