"""The citizen pages: find what I owe, pay it with the sandbox (no JavaScript), see the result,
in the partner cities' languages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.payments import i18n

Headers = Callable[..., dict[str, str]]
GOOD = {"card_number": "4242 4242 4242 4242", "expiry": "12/40", "cvc": "123"}
DECLINED = {**GOOD, "card_number": "4000 0000 0000 0002"}


def owed(client: TestClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    body = {
        "payer": {"name": "Maria Rossi"},
        "description": "Waste <tax>",
        "category": "TARI",
        "amount": 12000,
        "currency": "EUR",
        "due_date": "2099-12-31",
    }
    body.update(overrides)
    response = client.post("/v1/payment-requests", json=body, headers=headers("service"))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_every_label_is_translated() -> None:
    assert i18n.all_labels_present() == []
    assert len({i18n.text("pay", lang) for lang in i18n.LANGUAGES}) == 5


@pytest.mark.parametrize(
    ("switch", "accept", "fallback", "chosen"),
    [
        ("sv", "it", None, "sv"),
        (None, "de-DE,hu;q=0.5,it;q=0.8", None, "it"),
        (None, "et-EE", "it", "et"),
        (None, "de", "hu", "hu"),
        ("xx", "fr;q=1, en;q=0", None, "en"),
        (None, "it;q=abc", None, "en"),
    ],
)
def test_language_choice(switch: str | None, accept: str | None, fallback: str | None, chosen: str) -> None:
    assert i18n.choose(switch=switch, accept_language=accept, fallback=fallback) == chosen


def test_find_pay_and_see_the_result_without_javascript(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    request = owed(payments_client, principal_headers)
    find = payments_client.get("/pay")
    assert find.status_code == 200 and '<label for="reference">' in find.text and "<script" not in find.text
    found = payments_client.get(
        "/pay", params={"reference": request["creditor_reference_display"]}, follow_redirects=False
    )
    assert found.status_code == 303 and found.headers["location"].startswith(
        f"/pay/owed/{request['creditor_reference']}"
    )
    page = payments_client.get(found.headers["location"])
    assert "€120.00" in page.text and "Waste &lt;tax&gt;" in page.text and "Maria Rossi" in page.text
    started = payments_client.post(
        f"/pay/owed/{request['creditor_reference']}?lang=en", follow_redirects=False
    )
    assert started.status_code == 303
    card_url = started.headers["location"]
    card = payments_client.get(card_url)
    assert card.status_code == 200 and '<label for="card_number">' in card.text and "<script" not in card.text
    assert (
        card.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in card.headers["content-security-policy"]
    )
    action = re.search(r'<form method="post" action="([^"]+)">', card.text)
    assert action is not None
    done = payments_client.post(action.group(1), data=GOOD, follow_redirects=False)
    assert done.status_code == 303 and "/result?" in done.headers["location"]
    result = payments_client.get(done.headers["location"])
    assert result.status_code == 200 and "Payment received" in result.text and "e-receipt" in result.text
    again = payments_client.get(f"/pay/owed/{request['creditor_reference']}")
    assert "already been paid" in again.text and '<form method="post"' not in again.text


def test_declined_card_offers_another_try(payments_client: TestClient, principal_headers: Headers) -> None:
    request = owed(payments_client, principal_headers)
    started = payments_client.post(f"/pay/owed/{request['creditor_reference']}", follow_redirects=False)
    payment_path = started.headers["location"].split("?")[0].removeprefix("http://payments.test")
    done = payments_client.post(payment_path, data=DECLINED, follow_redirects=False)
    result = payments_client.get(done.headers["location"])
    assert (
        "Payment not completed" in result.text and f"/pay/owed/{request['creditor_reference']}" in result.text
    )


def test_payer_can_cancel(payments_client: TestClient, principal_headers: Headers) -> None:
    request = owed(payments_client, principal_headers)
    started = payments_client.post(f"/pay/owed/{request['creditor_reference']}", follow_redirects=False)
    payment_path = started.headers["location"].split("?")[0].removeprefix("http://payments.test")
    assert payments_client.get(payment_path).status_code == 200
    cancelled = payments_client.post(f"{payment_path}/cancel", follow_redirects=False)
    assert cancelled.status_code == 303 and "state=failed" in cancelled.headers["location"]
    page = payments_client.get(payment_path)
    assert page.status_code == 409


@pytest.mark.parametrize(
    ("lang", "words"),
    [("it", "Paga"), ("et", "Maksa"), ("hu", "Fizetés"), ("sv", "Betala")],
)
def test_pages_speak_the_chosen_language(
    payments_client: TestClient, principal_headers: Headers, lang: str, words: str
) -> None:
    request = owed(payments_client, principal_headers, currency="HUF", amount=1_200_000)
    by_header = payments_client.get(
        f"/pay/owed/{request['creditor_reference']}", headers={"accept-language": lang}
    )
    assert f'<html lang="{lang}">' in by_header.text and words in by_header.text
    by_switch = payments_client.get(
        f"/pay/owed/{request['creditor_reference']}?lang={lang}", headers={"accept-language": "en"}
    )
    assert f'<html lang="{lang}">' in by_switch.text


def test_unknown_invalid_past_due_and_cancelled(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    invalid = payments_client.get("/pay", params={"reference": "RF00 1234"})
    assert invalid.status_code == 422 and 'aria-invalid="true"' in invalid.text
    unknown = payments_client.get("/pay", params={"reference": "RF18539007547034"})
    assert unknown.status_code == 404 and "No payment is due" in unknown.text
    late = owed(payments_client, principal_headers, due_date="2020-01-01")
    page = payments_client.get(f"/pay/owed/{late['creditor_reference']}")
    assert "due date has passed" in page.text and '<button type="submit">Pay' not in page.text
    refused = payments_client.post(f"/pay/owed/{late['creditor_reference']}", follow_redirects=False)
    assert refused.status_code == 409


def test_a_second_click_continues_the_open_payment(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    request = owed(payments_client, principal_headers)
    first = payments_client.post(f"/pay/owed/{request['creditor_reference']}", follow_redirects=False)
    second = payments_client.post(f"/pay/owed/{request['creditor_reference']}", follow_redirects=False)
    assert first.headers["location"] == second.headers["location"]
    payment_path = first.headers["location"].split("?")[0].removeprefix("http://payments.test")
    assert payments_client.get(payment_path).status_code == 200
    payments_client.post(f"{payment_path}/cancel")
    third = payments_client.post(f"/pay/owed/{request['creditor_reference']}", follow_redirects=False)
    assert third.headers["location"] != first.headers["location"]  # a finished one is not reused


def test_card_problems_are_explained_in_the_page_language(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    request = owed(payments_client, principal_headers)
    started = payments_client.post(
        f"/pay/owed/{request['creditor_reference']}?lang=it", follow_redirects=False
    )
    payment_path = started.headers["location"].split("?")[0].removeprefix("http://payments.test")
    expired = payments_client.post(f"{payment_path}?lang=it", data={**GOOD, "expiry": "01/20"})
    assert expired.status_code == 422 and "Questa carta è scaduta." in expired.text
    cvc = payments_client.post(f"{payment_path}?lang=hu", data={**GOOD, "cvc": "1"})
    assert "A biztonsági kód 3 vagy 4 számjegyből áll." in cvc.text
