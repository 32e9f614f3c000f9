"""The payments API and the sandbox's hosted card page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.payments.models import OUTBOX_TABLES
from tests.conftest import RECEIPTS_WEBHOOK

Headers = Callable[..., dict[str, str]]
GOOD = {"card_number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123"}
DECLINED = {**GOOD, "card_number": "4000 0000 0000 0002"}


def new_payment(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    body = {
        "amount": 4500,
        "currency": "EUR",
        "reference": "PARK-2026-000123",
        "description": "Residential parking permit",
        "return_url": "https://city.example/permits/123/paid?lang=fi",
        "language": "fi",
    }
    body.update(overrides)
    response = client.post("/v1/payments", json=body, headers=headers("officer"))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def outbox_events(client: TestClient) -> list[Any]:
    with client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        return list(session.execute(select(OUTBOX_TABLES.events)).all())


@pytest.mark.parametrize("role", ["officer", "service", "admin"])
def test_create_payment(payments_client: TestClient, principal_headers: Headers, role: str) -> None:
    response = payments_client.post(
        "/v1/payments",
        json={
            "amount": 1999,
            "currency": "SEK",
            "reference": "R-1",
            "description": "Library fine",
            "return_url": "https://city.example/done",
        },
        headers=principal_headers(role),
    )
    assert response.status_code == 201, response.text
    data = response.json()
    payment_id = data["payment_id"]
    assert response.headers["Location"] == f"/v1/payments/{payment_id}"
    assert {
        k: data[k] for k in ("state", "amount", "currency", "reference", "description", "return_url")
    } == {
        "state": {"status": "created", "finished": False, "code": None, "message": None},
        "amount": 1999,
        "currency": "SEK",
        "reference": "R-1",
        "description": "Library fine",
        "return_url": "https://city.example/done",
    }
    assert data["_links"] == {
        "self": f"/v1/payments/{payment_id}",
        "next_url": f"http://payments.test/pay/{payment_id}",
        "events": f"/v1/payments/{payment_id}/events",
        "refunds": f"/v1/payments/{payment_id}/refunds",
        "cancel": f"/v1/payments/{payment_id}/cancel",
    }
    fetched = payments_client.get(f"/v1/payments/{payment_id}", headers=principal_headers("officer"))
    assert fetched.status_code == 200 and fetched.json() == data


def test_supplier_and_anonymous_callers_cannot_create_payments(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    body = {
        "amount": 1,
        "currency": "EUR",
        "reference": "r",
        "description": "d",
        "return_url": "https://x.test/",
    }
    supplier = payments_client.post(
        "/v1/payments", json=body, headers=principal_headers("supplier", supplier_id="FI1")
    )
    assert supplier.status_code == 403 and supplier.headers["content-type"] == "application/problem+json"
    assert payments_client.post("/v1/payments", json=body).status_code == 401


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"metadata": {}}, "metadata"),
        ({"reference": ""}, "reference"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"language": "finnish"}, "language"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_payment_is_refused_naming_the_field(
    payments_client: TestClient, principal_headers: Headers, override: dict[str, Any], field: str
) -> None:
    body = {
        "amount": 100,
        "currency": "EUR",
        "reference": "r",
        "description": "d",
        "return_url": "https://x.test/",
    }
    body.update(override)
    response = payments_client.post("/v1/payments", json=body, headers=principal_headers("officer"))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]


def test_unknown_payment_is_a_problem(payments_client: TestClient, principal_headers: Headers) -> None:
    response = payments_client.get(f"/v1/payments/{uuid.uuid4()}", headers=principal_headers("officer"))
    assert response.status_code == 404 and response.json()["code"] == "payment_not_found"


def test_hosted_page_is_a_plain_form(payments_client: TestClient, principal_headers: Headers) -> None:
    payment = new_payment(payments_client, principal_headers, description="Permit <b>fee</b>")
    page = payments_client.get(f"/pay/{payment['payment_id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert f'<form method="post" action="/pay/{payment["payment_id"]}?lang=en">' in page.text
    assert "€45.00" in page.text and 'lang="en"' in page.text
    assert "Permit &lt;b&gt;fee&lt;/b&gt;" in page.text  # the description is escaped
    assert "<script" not in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_success_card_settles_records_event_and_redirects(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    payment = new_payment(payments_client, principal_headers)
    response = payments_client.post(f"/pay/{payment['payment_id']}", data=GOOD, follow_redirects=False)
    assert response.status_code == 303
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == ("city.example", "/permits/123/paid")
    assert parse_qs(target.query) == {
        "lang": ["fi"],
        "payment_id": [payment["payment_id"]],
        "state": ["success"],
    }

    settled = payments_client.get(
        f"/v1/payments/{payment['payment_id']}", headers=principal_headers("officer")
    ).json()
    assert (
        settled["state"] == {"status": "success", "finished": True, "code": None, "message": None}
        and settled["card_last4"] == "4242"
        and settled["card_brand"] == "visa"
    )
    assert settled["paid_at"] is not None and settled["_links"]["next_url"] is None

    (event,) = outbox_events(payments_client)
    assert event.type == "payment.succeeded" and event.resource_id == payment["payment_id"]
    assert event.payload["payment_id"] == payment["payment_id"]
    assert {
        k: event.payload[k]
        for k in ("amount", "currency", "reference", "provider", "card_brand", "card_last4")
    } == {
        "amount": 4500,
        "currency": "EUR",
        "reference": "PARK-2026-000123",
        "provider": "sandbox",
        "card_brand": "visa",
        "card_last4": "4242",
    }
    assert event.payload["provider_transaction_id"].startswith("sbx_") and event.payload["paid_at"]
    with payments_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        subscribers = list(session.scalars(select(OUTBOX_TABLES.deliveries.c.subscriber)))
    assert subscribers == [RECEIPTS_WEBHOOK]


def test_declined_card_fails_the_payment_and_records_payment_failed(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    payment = new_payment(payments_client, principal_headers)
    response = payments_client.post(f"/pay/{payment['payment_id']}", data=DECLINED, follow_redirects=False)
    assert response.status_code == 303 and "state=failed" in response.headers["location"]
    settled = payments_client.get(
        f"/v1/payments/{payment['payment_id']}", headers=principal_headers("officer")
    ).json()
    assert (
        settled["state"]["status"] == "failed"
        and settled["state"]["code"] == "P0010"
        and settled["paid_at"] is None
    )
    assert [e.type for e in outbox_events(payments_client)] == ["payment.failed"]


def test_a_settled_payment_cannot_be_paid_again(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    payment = new_payment(payments_client, principal_headers)
    payments_client.post(f"/pay/{payment['payment_id']}", data=DECLINED, follow_redirects=False)
    again = payments_client.post(f"/pay/{payment['payment_id']}", data=GOOD, follow_redirects=False)
    assert again.status_code == 409 and "already finished" in again.text
    assert payments_client.get(f"/pay/{payment['payment_id']}").status_code == 409
    assert [e.type for e in outbox_events(payments_client)] == ["payment.failed"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**GOOD, "card_number": "4242 4242 4242 4241"}, "check digit"),
        ({**GOOD, "card_number": "abc"}, "12 to 19 digits"),
        ({**GOOD, "card_number": "5555 5555 5555 4444"}, "only its test cards"),
        ({**GOOD, "expiry": "13/40"}, "01 to 12"),
        ({**GOOD, "expiry": "01/20"}, "expired"),
        ({**GOOD, "expiry": "soon"}, "MM/YY"),
        ({**GOOD, "cvc": "1"}, "3 or 4 digits"),
        ({}, "12 to 19 digits"),
    ],
)
def test_bad_card_details_show_the_form_again_and_change_nothing(
    payments_client: TestClient, principal_headers: Headers, form: dict[str, str], message: str
) -> None:
    payment = new_payment(payments_client, principal_headers)
    response = payments_client.post(f"/pay/{payment['payment_id']}", data=form, follow_redirects=False)
    assert response.status_code == 422 and message in response.text and "<form" in response.text
    state = payments_client.get(f"/v1/payments/{payment['payment_id']}", headers=principal_headers("officer"))
    assert state.json()["state"]["status"] == "created" and outbox_events(payments_client) == []


def test_hosted_page_of_unknown_payment(payments_client: TestClient) -> None:
    assert payments_client.get(f"/pay/{uuid.uuid4()}").status_code == 404
    assert payments_client.post(f"/pay/{uuid.uuid4()}", data=GOOD).status_code == 404


def test_two_submissions_at_once_settle_the_payment_once(
    payments_settings: Any, payments_client: TestClient, principal_headers: Headers
) -> None:
    import threading
    from contextlib import ExitStack

    from services.payments.app import create_app

    payment = new_payment(payments_client, principal_headers)
    barrier = threading.Barrier(3)
    statuses: list[int] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(payments_settings))) for _ in range(3)]
        for client in clients:
            # FastAPI builds the routes of the shared module routers on first use; do that one app
            # at a time, as one uvicorn process (one event loop) would, before racing.
            assert client.get(f"/pay/{payment['payment_id']}").status_code == 200

        def submit(client: TestClient) -> None:
            barrier.wait()
            response = client.post(f"/pay/{payment['payment_id']}", data=GOOD, follow_redirects=False)
            statuses.append(response.status_code)

        threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(statuses) == [303, 409, 409]
    assert [e.type for e in outbox_events(payments_client)] == ["payment.succeeded"]
