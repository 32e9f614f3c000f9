"""The receipts API and its signed, deduplicating event receiver."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, sign
from services.receipts.app import create_app
from services.receipts.models import INBOX_TABLE, Receipt
from tests.conftest import WEBHOOK_SECRET

Headers = Callable[..., dict[str, str]]


def paid_event(payment_id: uuid.UUID | None = None, **data: Any) -> WebhookEvent:
    payment_id = payment_id or uuid.uuid4()
    payload = {
        "payment_id": str(payment_id),
        "amount": 4500,
        "currency": "EUR",
        "reference": "PARK-1",
        "description": "Permit",
        "provider": "sandbox",
    }
    payload.update(data)
    return WebhookEvent(
        id=uuid.uuid4(),
        type="payment.succeeded",
        resource_id=str(payment_id),
        created_at=datetime.now(UTC),
        data=payload,
    )


def deliver(
    client: TestClient, body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> Any:
    return client.post(
        "/webhooks/events",
        content=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, [secret], timestamp=timestamp),
        },
    )


def counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        receipts = session.scalar(select(func.count()).select_from(Receipt))
        inbox = session.scalar(select(func.count()).select_from(INBOX_TABLE))
    return int(receipts or 0), int(inbox or 0)


def test_payment_succeeded_records_one_receipt(
    receipts_client: TestClient, principal_headers: Headers
) -> None:
    event = paid_event()
    response = deliver(receipts_client, event.encode())
    assert response.status_code == 200
    assert response.json() == {"event_id": str(event.id), "outcome": "processed"}

    listing = receipts_client.get("/v1/receipts", headers=principal_headers("officer"))
    assert listing.status_code == 200
    page = listing.json()
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    (receipt,) = page["items"]
    assert {k: receipt[k] for k in ("payment_id", "amount", "currency", "reference")} == {
        "payment_id": event.data["payment_id"],
        "amount": 4500,
        "currency": "EUR",
        "reference": "PARK-1",
    }
    one = receipts_client.get(f"/v1/receipts/{receipt['id']}", headers=principal_headers("officer"))
    assert one.status_code == 200 and one.json() == receipt


def test_receipts_are_for_officers(receipts_client: TestClient, principal_headers: Headers) -> None:
    forbidden = receipts_client.get("/v1/receipts", headers=principal_headers("supplier", supplier_id="FI1"))
    assert forbidden.status_code == 403
    assert receipts_client.get("/v1/receipts").status_code == 401
    missing = receipts_client.get(f"/v1/receipts/{uuid.uuid4()}", headers=principal_headers("officer"))
    assert missing.status_code == 404 and missing.json()["code"] == "receipt_not_found"


def test_redelivered_event_changes_nothing_and_is_acknowledged(receipts_client: TestClient) -> None:
    body = paid_event().encode()
    assert deliver(receipts_client, body).json()["outcome"] == "processed"
    again = deliver(receipts_client, body)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert counts(receipts_client) == (1, 1)


def test_a_second_event_for_the_same_payment_adds_no_receipt(receipts_client: TestClient) -> None:
    payment_id = uuid.uuid4()
    deliver(receipts_client, paid_event(payment_id).encode())
    assert deliver(receipts_client, paid_event(payment_id).encode()).json()["outcome"] == "processed"
    assert counts(receipts_client) == (1, 2)


def test_concurrent_duplicates_make_one_receipt(receipts_settings: Any) -> None:
    body = paid_event().encode()
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    with ExitStack() as stack:
        # Four app instances, each with its own engine: like four receipts processes.
        clients = [stack.enter_context(TestClient(create_app(receipts_settings))) for _ in range(4)]
        for client in clients:
            # FastAPI builds the routes of the shared module routers on first use; do that one app
            # at a time, as one uvicorn process (one event loop) would, before racing.
            assert client.post("/webhooks/events", content=b"{}").status_code == 401

        def post(client: TestClient) -> None:
            barrier.wait()
            response = deliver(client, body)
            outcomes.append(f"{response.status_code} {response.json().get('outcome')}")

        threads = [threading.Thread(target=post, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(outcomes) == ["200 duplicate"] * 3 + ["200 processed"]
        assert counts(clients[0]) == (1, 1)


def test_concurrent_events_for_one_payment_make_one_receipt(receipts_settings: Any) -> None:
    payment_id = uuid.uuid4()
    bodies = [paid_event(payment_id).encode() for _ in range(4)]  # four distinct event ids
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(receipts_settings))) for _ in range(4)]
        for client in clients:
            assert client.post("/webhooks/events", content=b"{}").status_code == 401  # build routes first

        def post(client: TestClient, body: bytes) -> None:
            barrier.wait()
            statuses.append(deliver(client, body).status_code)

        threads = [threading.Thread(target=post, args=pair) for pair in zip(clients, bodies, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert statuses == [200] * 4
        assert counts(clients[0]) == (1, 4)


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        ({"secret": "wrong-secret"}, "webhook_signature_mismatch"),
        ({"timestamp": int(time.time()) - 301}, "webhook_timestamp_stale"),
        ({"timestamp": int(time.time()) + 3600}, "webhook_timestamp_stale"),
    ],
)
def test_bad_signature_or_stale_timestamp_is_refused_and_changes_nothing(
    receipts_client: TestClient, tamper: dict[str, Any], code: str
) -> None:
    response = deliver(receipts_client, paid_event().encode(), **tamper)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert counts(receipts_client) == (0, 0)


def test_unsigned_or_tampered_delivery_is_refused(receipts_client: TestClient) -> None:
    body = paid_event().encode()
    unsigned = receipts_client.post("/webhooks/events", content=body)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "webhook_signature_missing"
    header = sign(body, [WEBHOOK_SECRET])
    tampered = receipts_client.post(
        "/webhooks/events", content=body.replace(b"4500", b"1"), headers={SIGNATURE_HEADER: header}
    )
    assert tampered.status_code == 401 and tampered.json()["code"] == "webhook_signature_mismatch"
    assert counts(receipts_client) == (0, 0)


def test_signed_but_malformed_event_is_a_bad_request(receipts_client: TestClient) -> None:
    response = deliver(receipts_client, b'{"hello": "world"}')
    assert response.status_code == 400 and response.json()["code"] == "webhook_event_malformed"


def test_unusable_payment_data_is_refused_and_not_marked_received(receipts_client: TestClient) -> None:
    response = deliver(receipts_client, paid_event(amount=-1, currency="EURO").encode())
    assert response.status_code == 422
    assert response.json()["code"] == "event_data_invalid"
    assert "amount" in response.json()["detail"] and "currency" in response.json()["detail"]
    assert counts(receipts_client) == (0, 0)  # the sender will retry once fixed


def test_other_event_types_are_acknowledged_and_ignored(receipts_client: TestClient) -> None:
    event = WebhookEvent(
        id=uuid.uuid4(),
        type="payment.failed",
        resource_id="p",
        created_at=datetime.now(UTC),
        data={"payment_id": "p"},
    )
    response = deliver(receipts_client, event.encode())
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert counts(receipts_client) == (0, 1)


def test_oversized_delivery_is_refused_before_reading_it_all(receipts_client: TestClient) -> None:
    body = b"{" + b" " * (1024 * 1024) + b"}"
    response = deliver(receipts_client, body)
    assert response.status_code == 413 and response.json()["code"] == "webhook_too_large"
    assert counts(receipts_client) == (0, 0)


def only_receipt(client: TestClient, headers: Headers) -> dict[str, Any]:
    (receipt,) = client.get("/v1/receipts", headers=headers("officer")).json()["items"]
    return receipt  # type: ignore[no-any-return]


def test_the_json_record_html_and_pdf_of_a_receipt(
    receipts_client: TestClient, principal_headers: Headers
) -> None:
    deliver(receipts_client, paid_event(language="hu").encode())
    officer = principal_headers("officer")
    receipt = only_receipt(receipts_client, principal_headers)
    assert receipt["display_number"].endswith("-000001") and receipt["kind"] == "receipt"
    assert receipt["record"]["number"] == 1 and receipt["record"]["payer"]["language"] == "hu"
    assert receipt["pdf_status"] == "pending" and len(receipt["record_hash"]) == 64

    html = receipts_client.get(f"/v1/receipts/{receipt['id']}/html", headers=officer)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert receipt["display_number"] in html.text and f"/verify/{receipt['id']}" in html.text
    assert "script-src" not in html.headers["content-security-policy"]

    waiting = receipts_client.get(f"/v1/receipts/{receipt['id']}/pdf", headers=officer)
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "5"
    assert waiting.json()["code"] == "receipt_pdf_not_ready"
    assert receipts_client.app.state.pdf_worker.run_once() == 1  # type: ignore[attr-defined]
    pdf = receipts_client.get(f"/v1/receipts/{receipt['id']}/pdf", headers=officer)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert receipts_client.get(f"/v1/receipts/{receipt['id']}/pdf").status_code == 401


def test_the_public_verification_page(receipts_client: TestClient, principal_headers: Headers) -> None:
    payment_id = uuid.uuid4()
    deliver(receipts_client, paid_event(payment_id, amount=12345).encode())
    receipt = only_receipt(receipts_client, principal_headers)
    page = receipts_client.get(f"/verify/{receipt['id']}")  # no identity at all
    assert page.status_code == 200
    assert "Genuine receipt, signature valid." in page.text and "Città di Demo" in page.text
    assert "123.45" in page.text and receipt["display_number"] in page.text
    assert page.headers["x-frame-options"] == "DENY"

    refund = WebhookEvent(
        id=uuid.uuid4(),
        type="payment.refunded",
        resource_id=str(payment_id),
        created_at=datetime.now(UTC),
        data={"payment_id": str(payment_id), "refund_id": "re_9", "amount": 12345, "currency": "EUR"},
    )
    assert deliver(receipts_client, refund.encode()).json()["outcome"] == "processed"
    again = receipts_client.get(f"/verify/{receipt['id']}")
    assert "It has been refunded." in again.text and ">refunded<" in again.text

    swedish = receipts_client.get(f"/verify/{receipt['id']}?lang=sv")
    assert "Äkta kvitto, signaturen är giltig. Det har återbetalats." in swedish.text
    assert 'lang="sv"' in swedish.text
    missing = receipts_client.get(f"/verify/{uuid.uuid4()}")
    assert missing.status_code == 404 and "Receipt not found" in missing.text
    assert receipts_client.get("/verify/not-a-uuid").status_code == 422


def test_a_refund_before_its_receipt_is_refused_so_the_sender_retries(receipts_client: TestClient) -> None:
    payment_id = uuid.uuid4()
    refund = WebhookEvent(
        id=uuid.uuid4(),
        type="payment.refunded",
        resource_id=str(payment_id),
        created_at=datetime.now(UTC),
        data={"payment_id": str(payment_id), "refund_id": "re_1", "amount": 100, "currency": "EUR"},
    )
    response = deliver(receipts_client, refund.encode())
    assert response.status_code == 409 and response.json()["code"] == "original_receipt_missing"
    assert counts(receipts_client) == (0, 0)  # not marked received: the redelivery will apply it
    deliver(receipts_client, paid_event(payment_id).encode())
    assert deliver(receipts_client, refund.encode()).json()["outcome"] == "processed"
    assert counts(receipts_client) == (2, 2)


def test_links_filters_and_the_series_check(receipts_client: TestClient, principal_headers: Headers) -> None:
    officer = principal_headers("officer")
    payment_id = uuid.uuid4()
    for event in (paid_event(), paid_event(payment_id), paid_event()):
        deliver(receipts_client, event.encode())
    mine = receipts_client.get(f"/v1/receipts?payment_id={payment_id}", headers=officer).json()
    assert mine["total"] == 1 and mine["items"][0]["payment_id"] == str(payment_id)
    receipt = mine["items"][0]
    assert receipt["_links"]["pdf"] == f"/v1/receipts/{receipt['id']}/pdf"
    assert receipt["_links"]["verify"] == f"http://127.0.0.1:8000/verify/{receipt['id']}"

    (series,) = receipts_client.get("/v1/receipts/series", headers=officer).json()
    assert series["last_number"] == 3 and len(series["last_hash"]) == 64
    assert receipts_client.get(f"/v1/receipts?series={series['key']}", headers=officer).json()["total"] == 3
    check = receipts_client.get(f"/v1/receipts/series/{series['key']}/verification", headers=officer).json()
    assert check == {"series": series["key"], "intact": True, "checked": 3, "first_broken": None,
                     "daily_close_problems": []}  # fmt: skip
    missing = receipts_client.get("/v1/receipts/series/NOPE-2026/verification", headers=officer)
    assert missing.status_code == 404 and missing.json()["code"] == "receipt_series_not_found"
    assert receipts_client.get("/v1/receipts/series").status_code == 401
