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
        ({**GOOD, "card_number": "4242 4242 4242 4241"}, "typing mistake"),
        ({**GOOD, "card_number": "abc"}, "12 to 19 digits"),
        ({**GOOD, "card_number": "5555 5555 5555 4444"}, "Only the test cards"),
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


OWED = {
    "payer": {"name": "Maria Rossi", "tax_code": "RSSMRA80A01H501U", "email": "maria@example.org"},
    "description": "Waste collection tax 2026",
    "category": "TARI",
    "amount": 10000,
    "currency": "EUR",
    "due_date": "2099-12-31",
    "metadata": {"notice": "N-1"},
}


def new_request(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    response = client.post("/v1/payment-requests", json={**OWED, **overrides}, headers=headers("service"))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_payment_request_lifecycle(payments_client: TestClient, principal_headers: Headers) -> None:
    from services.payments.references import normalise

    created = new_request(payments_client, principal_headers)
    reference = created["creditor_reference"]
    assert normalise(reference) == reference and created["creditor_reference_display"].startswith("RF")
    assert (created["state"], created["amount_due"], created["metadata"]) == (
        "open",
        10000,
        {"notice": "N-1"},
    )
    assert created["_links"]["pay"] == f"http://payments.test/pay/owed/{reference}"
    officer = principal_headers("officer")
    spaced = created["creditor_reference_display"].replace(" ", "%20")
    assert (
        payments_client.get(f"/v1/payment-requests/by-reference/{spaced}", headers=officer).json() == created
    )
    listed = payments_client.get("/v1/payment-requests?state=open", headers=officer).json()
    assert listed["total"] == 1 and listed["items"][0]["payment_request_id"] == created["payment_request_id"]
    cancelled = payments_client.post(
        f"/v1/payment-requests/{created['payment_request_id']}/cancel", headers=officer
    )
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    pay = payments_client.post(
        "/v1/payments",
        json={
            "amount": 10000,
            "currency": "EUR",
            "reference": reference,
            "description": "Waste",
            "return_url": "https://x.test/",
            "payment_request_id": created["payment_request_id"],
        },
        headers=officer,
    )
    assert pay.status_code == 409 and pay.json()["code"] == "payment_request_not_payable"


@pytest.mark.parametrize(
    ("overrides", "status", "needle"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(16)}}, 422, "at most 15 keys"),
        (
            {
                "instalments": [
                    {"amount": 1, "due_date": "2099-12-31"},
                    {"amount": 2, "due_date": "2099-12-30"},
                ]
            },
            422,
            "add up",
        ),
        ({"currency": "HUF", "amount": 123456}, 422, "amount_not_chargeable"),
        ({"amount": 10**9}, 422, "amount_over_maximum"),
        ({"payer": {"name": "A", "email": "not-an-email"}}, 422, "email"),
    ],
)
def test_invalid_payment_requests_are_refused_clearly(
    payments_client: TestClient,
    principal_headers: Headers,
    overrides: dict[str, Any],
    status: int,
    needle: str,
) -> None:
    response = payments_client.post(
        "/v1/payment-requests", json={**OWED, **overrides}, headers=principal_headers("officer")
    )
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    assert needle in response.text


def test_unknown_or_malformed_reference(payments_client: TestClient, principal_headers: Headers) -> None:
    officer = principal_headers("officer")
    bad = payments_client.get("/v1/payment-requests/by-reference/RF19539007547034", headers=officer)
    assert bad.status_code == 422 and bad.json()["code"] == "creditor_reference_invalid"
    missing = payments_client.get("/v1/payment-requests/by-reference/RF18539007547034", headers=officer)
    assert missing.status_code == 404 and missing.json()["code"] == "payment_request_not_found"


def pay_request_body(request: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "amount": request["amount_due"],
        "currency": request["currency"],
        "reference": request["creditor_reference"],
        "description": request["description"],
        "return_url": "https://x.test/",
        "payment_request_id": request["payment_request_id"],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize(
    ("request_overrides", "payment_overrides", "status", "code"),
    [
        ({}, {"currency": "SEK"}, 422, "currency_mismatch"),
        ({}, {"amount": 9999}, 422, "amount_mismatch"),
        ({"due_date": "2020-01-01"}, {}, 422, "payment_request_past_due"),
    ],
)
def test_payments_against_a_request_are_checked(
    payments_client: TestClient,
    principal_headers: Headers,
    request_overrides: dict[str, Any],
    payment_overrides: dict[str, Any],
    status: int,
    code: str,
) -> None:
    request = new_request(payments_client, principal_headers, **request_overrides)
    response = payments_client.post(
        "/v1/payments",
        json=pay_request_body(request, **payment_overrides),
        headers=principal_headers("service"),
    )
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_paid_request_refuses_another_payment(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    request = new_request(payments_client, principal_headers)
    first = payments_client.post(
        "/v1/payments", json=pay_request_body(request), headers=principal_headers("service")
    )
    paid = payments_client.post(f"/pay/{first.json()['payment_id']}", data=GOOD, follow_redirects=False)
    assert paid.status_code == 303
    again = payments_client.post(
        "/v1/payments", json=pay_request_body(request), headers=principal_headers("service")
    )
    assert (again.status_code, again.json()["code"]) == (409, "payment_request_paid")
    (event,) = [e for e in outbox_events(payments_client) if e.type == "payment.succeeded"]
    payer: dict[str, Any] = dict(OWED["payer"])  # type: ignore[call-overload]
    assert event.payload["payer"] == {**payer, "language": None} and event.payload["category"] == "TARI"
    assert event.payload["creditor_reference"] == request["creditor_reference"]
    assert event.payload["credited_to_request"] is True


def test_payment_over_the_maximum_is_refused(payments_client: TestClient, principal_headers: Headers) -> None:
    body = {
        "amount": 1_000_001,
        "currency": "EUR",
        "reference": "r",
        "description": "d",
        "return_url": "https://x.test/",
    }
    response = payments_client.post("/v1/payments", json=body, headers=principal_headers("officer"))
    assert (response.status_code, response.json()["code"]) == (422, "amount_over_maximum")


def test_idempotency_key_replays_or_conflicts(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    body = {
        "amount": 700,
        "currency": "EUR",
        "reference": "r",
        "description": "d",
        "return_url": "https://x.test/",
    }
    headers = {**principal_headers("service"), "Idempotency-Key": "create-1"}
    first = payments_client.post("/v1/payments", json=body, headers=headers)
    second = payments_client.post("/v1/payments", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers["idempotent-replayed"] == "true"
    other = payments_client.post("/v1/payments", json={**body, "amount": 701}, headers=headers)
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    # Keys belong to their caller: another key id may use the same key for its own payment.
    mine = {**principal_headers("service", key_id="other"), "Idempotency-Key": "create-1"}
    assert (
        payments_client.post("/v1/payments", json=body, headers=mine).json()["payment_id"]
        != first.json()["payment_id"]
    )
    listed = payments_client.get("/v1/payments", headers=principal_headers("officer")).json()
    assert listed["total"] == 2


def test_concurrent_duplicates_create_one_payment(
    payments_settings: Any, payments_client: TestClient, principal_headers: Headers
) -> None:
    import threading
    from contextlib import ExitStack

    from services.payments.app import create_app

    body = {
        "amount": 900,
        "currency": "EUR",
        "reference": "r",
        "description": "d",
        "return_url": "https://x.test/",
    }
    headers = {**principal_headers("service"), "Idempotency-Key": "race-1"}
    barrier = threading.Barrier(4)
    results: list[tuple[int, str]] = []
    with ExitStack() as stack:
        clients = [stack.enter_context(TestClient(create_app(payments_settings))) for _ in range(4)]
        for client in clients:
            assert client.get("/v1/payments", headers=principal_headers("officer")).status_code == 200

        def create(client: TestClient) -> None:
            barrier.wait()
            response = client.post("/v1/payments", json=body, headers=headers)
            results.append((response.status_code, response.json().get("payment_id", response.text)))

        threads = [threading.Thread(target=create, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert [status for status, _ in results] == [201] * 4, results
    assert len({payment_id for _, payment_id in results}) == 1
    assert payments_client.get("/v1/payments", headers=principal_headers("officer")).json()["total"] == 1


def test_cancel_events_and_search(payments_client: TestClient, principal_headers: Headers) -> None:
    officer = principal_headers("officer")
    payments = [new_payment(payments_client, principal_headers, reference=f"S-{i}") for i in range(3)]
    target = payments[0]["payment_id"]
    assert payments_client.get(f"/pay/{target}").status_code == 200  # the payer opens the page
    assert payments_client.post(f"/v1/payments/{target}/cancel", headers=officer).status_code == 204
    again = payments_client.post(f"/v1/payments/{target}/cancel", headers=officer)
    assert (again.status_code, again.json()["code"]) == (409, "payment_state_conflict")
    state = payments_client.get(f"/v1/payments/{target}", headers=officer).json()["state"]
    assert state == {
        "status": "cancelled",
        "finished": True,
        "code": "P0040",
        "message": "Payment was cancelled by the service",
    }
    events = payments_client.get(f"/v1/payments/{target}/events", headers=officer).json()["events"]
    assert [e["state"]["status"] for e in events] == ["created", "started", "cancelled"]
    assert [e.type for e in outbox_events(payments_client)] == ["payment.failed"]

    page = payments_client.get("/v1/payments?display_size=2&page=1", headers=officer).json()
    rest = payments_client.get("/v1/payments?display_size=2&page=2", headers=officer).json()
    assert (page["total"], len(page["items"]), len(rest["items"])) == (3, 2, 1)
    seen = {p["payment_id"] for p in page["items"] + rest["items"]}
    assert seen == {p["payment_id"] for p in payments}
    cancelled = payments_client.get("/v1/payments?state=cancelled", headers=officer).json()
    assert [p["payment_id"] for p in cancelled["items"]] == [target]
    by_reference = payments_client.get("/v1/payments?reference=S-2", headers=officer).json()
    assert [p["reference"] for p in by_reference["items"]] == ["S-2"]
    assert payments_client.get("/v1/payments?display_size=0", headers=officer).status_code == 422


def test_refunds_full_partial_and_stale_available(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    officer = principal_headers("officer")
    payment = new_payment(payments_client, principal_headers)
    pid = payment["payment_id"]
    early = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1, "refund_amount_available": 4500}, headers=officer
    )
    assert (early.status_code, early.json()["code"]) == (409, "payment_not_refundable")
    payments_client.post(f"/pay/{pid}", data=GOOD, follow_redirects=False)
    summary = payments_client.get(f"/v1/payments/{pid}", headers=officer).json()["refund_summary"]
    assert summary == {"status": "available", "amount_available": 4500, "amount_submitted": 0}

    key = {**officer, "Idempotency-Key": "refund-1"}
    partial = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1000, "refund_amount_available": 4500}, headers=key
    )
    assert partial.status_code == 202 and partial.json()["status"] == "success"
    replay = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1000, "refund_amount_available": 4500}, headers=key
    )
    assert replay.json() == partial.json()  # the replay does not refund twice
    stale = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 1000, "refund_amount_available": 4500}, headers=officer
    )
    assert (stale.status_code, stale.json()["code"], stale.json()["refund_amount_available"]) == (
        412,
        "refund_amount_available_mismatch",
        3500,
    )
    too_much = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 3501, "refund_amount_available": 3500}, headers=officer
    )
    assert too_much.json()["code"] == "refund_exceeds_available"
    rest = payments_client.post(
        f"/v1/payments/{pid}/refunds", json={"amount": 3500, "refund_amount_available": 3500}, headers=officer
    )
    assert rest.status_code == 202
    refunds = payments_client.get(f"/v1/payments/{pid}/refunds", headers=officer).json()
    assert [r["amount"] for r in refunds] == [1000, 3500]
    summary = payments_client.get(f"/v1/payments/{pid}", headers=officer).json()["refund_summary"]
    assert summary == {"status": "full", "amount_available": 0, "amount_submitted": 0}
    refunded = [e.payload for e in outbox_events(payments_client) if e.type == "payment.refunded"]
    assert [(p["refund_amount"], p["total_refunded"], p["fully_refunded"]) for p in refunded] == [
        (1000, 1000, False),
        (3500, 4500, True),
    ]


def test_paying_a_request_defaults_reference_and_description(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    request = new_request(payments_client, principal_headers)
    body = {
        "amount": 10000,
        "return_url": "https://x.test/",
        "payment_request_id": request["payment_request_id"],
    }
    created = payments_client.post("/v1/payments", json=body, headers=principal_headers("service"))
    assert created.status_code == 201, created.text
    assert (created.json()["reference"], created.json()["description"]) == (
        request["creditor_reference"],
        OWED["description"],
    )
    bare = payments_client.post(
        "/v1/payments",
        json={"amount": 1, "return_url": "https://x.test/"},
        headers=principal_headers("service"),
    )
    assert bare.status_code == 422
    assert "reference and description required" in bare.json()["errors"][0]["message"]
