"""The receipt page, the public verification page and the officers' reconciliation dashboard in
headless Chromium (Playwright), through the real gateway in front of the real receipts service
(and the invoicing service, whose login page is the officers' login), each served by uvicorn on
127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.db import Database
from services.common.identity import Role
from services.common.webhooks import SIGNATURE_HEADER, WebhookEvent, sign
from services.receipts import reconciliation
from services.receipts.reconciliation import camt053_statement, payout_credits
from tests.conftest import WEBHOOK_SECRET
from tests.gateway.conftest import make_key, settings_for
from tests.servers import CHROMIUM, CHROMIUM_ARGS, Served, require_chromium

require_chromium()

playwright_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Site:
    gateway: str
    receipts: str
    officer_key: str
    receipts_by_amount: dict[int, str]


def deliver(receipts_url: str, event_type: str, data: dict[str, Any]) -> None:
    event = WebhookEvent(
        id=uuid.uuid4(),
        type=event_type,
        resource_id=str(data["payment_id"]),
        created_at=datetime.now(UTC),
        data=data,
    )
    body = event.encode()
    answer = httpx.post(
        f"{receipts_url}/webhooks/events",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, [WEBHOOK_SECRET])},
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def site(
    receipts_settings: Any, receipts_db_url: str, gateway_db_url: str, invoicing_settings: Any
) -> Iterator[Site]:
    from gateway.app import create_app as gateway_app
    from services.invoicing.app import create_app as invoicing_app
    from services.receipts.app import create_app as receipts_app

    _, officer_key = make_key(gateway_db_url, Role.OFFICER, name="Officer Rossi")
    with (
        Served(receipts_app(receipts_settings)) as receipts,
        Served(invoicing_app(invoicing_settings)) as invoicing,
    ):
        payments = [uuid.uuid4() for _ in range(3)]
        for payment_id, amount in zip(payments, (2500, 4000, 1250), strict=True):
            deliver(
                receipts.url,
                "payment.succeeded",
                {"payment_id": str(payment_id), "amount": amount, "currency": "EUR", "reference": "DOG-7",
                 "description": "Dog licence", "provider": "sandbox", "card_brand": "visa", "card_last4": "4242",
                 "paid_at": "2026-03-10T10:00:00+00:00", "language": "it"},
            )  # fmt: skip
        deliver(
            receipts.url,
            "payment.refunded",
            {"payment_id": str(payments[2]), "refund_id": "re_1", "amount": 1250, "currency": "EUR"},
        )
        database = Database(receipts_db_url)
        try:
            with database.sessionmaker() as session:
                (payout,) = reconciliation.simulate_sandbox_payouts(session, day=datetime(2026, 3, 10).date())
                statement = camt053_statement(
                    iban="IT60X0542811101000000123456", statement_id="S1", credits=payout_credits([payout])
                )
                session.commit()
        finally:
            database.dispose()
        listed = httpx.get(f"{receipts.url}/v1/receipts", headers=officer_headers()).json()["items"]
        ids = {r["amount"]: r["id"] for r in listed if r["kind"] == "receipt"}
        settings = settings_for(gateway_db_url, receipts_url=receipts.url, invoicing_url=invoicing.url)
        with Served(gateway_app(settings)) as gateway:
            bearer = {"Authorization": f"Bearer {officer_key}"}
            upload = httpx.post(
                f"{gateway.url}/v1/reconciliation/statements", content=statement, headers=bearer
            )
            assert upload.status_code == 201, upload.text
            made = httpx.post(
                f"{gateway.url}/v1/reconciliation/runs",
                json={"as_of": "2026-03-20", "date_from": "2026-03-01", "date_to": "2026-03-20"},
                headers=bearer,
            )
            assert made.status_code == 201, made.text
            yield Site(gateway.url, receipts.url, officer_key, ids)


def officer_headers() -> dict[str, str]:
    from services.common.identity import PRINCIPAL_HEADER, Principal, encode_principal
    from tests.conftest import INTERNAL_SECRET

    principal = Principal(key_id="k", role=Role.OFFICER, name="officer")
    return {PRINCIPAL_HEADER: encode_principal(principal, INTERNAL_SECRET)}


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def watched_page(browser: Any, **context: Any) -> tuple[Any, list[str]]:
    page = browser.new_context(**context).new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return page, problems


def test_the_public_verification_page_from_the_qr_code(browser: Any, site: Site, tmp_path: Path) -> None:
    page, problems = watched_page(browser)
    paid, refunded = site.receipts_by_amount[2500], site.receipts_by_amount[1250]
    response = page.goto(f"{site.gateway}/verify/{paid}")
    assert response is not None and response.status == 200
    # In the payer's language (Italian here), with the amount and date in its conventions.
    assert page.locator("#verdict").inner_text() == "Ricevuta autentica, firma valida."
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.locator("#issuer").inner_text() == "Città di Demo"
    assert page.locator("#amount").inner_text().replace("\u00a0", " ") == "25,00 €"
    assert page.locator("#status").get_attribute("data-status") == "valid"
    assert page.locator("#signature").inner_text() == "valida"
    page.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    page.click("nav a[lang=en]")
    assert page.locator("#verdict").inner_text() == "Genuine receipt, signature valid."
    assert page.locator("#signature").inner_text() == "holds"

    page.goto(f"{site.gateway}/verify/{refunded}")
    assert page.locator("#status").get_attribute("data-status") == "refunded"
    assert page.locator("#status").inner_text() == "rimborsata"
    assert problems == []
    missing = page.goto(f"{site.gateway}/verify/{uuid.uuid4()}")
    assert missing is not None and missing.status == 404
    assert "No receipt" in page.locator("#verdict").inner_text()


def test_the_receipt_page_shows_the_record_and_its_qr_code(browser: Any, site: Site) -> None:
    page, problems = watched_page(browser, extra_http_headers={"Authorization": f"Bearer {site.officer_key}"})
    receipt_id = site.receipts_by_amount[2500]
    response = page.goto(f"{site.gateway}/v1/receipts/{receipt_id}/html")
    assert response is not None and response.status == 200
    assert "-00000" in page.title()
    assert page.locator(".qr svg").is_visible()
    text = page.locator("body").inner_text()
    assert "Dog licence" in text and "VISA" in text and "4242" in text
    assert f"/verify/{receipt_id}" in text
    assert problems == []


def sign_in(browser: Any, site: Site, **context: Any) -> tuple[Any, list[str]]:
    """An officer logs in once, on the officers' login page, as they would in the morning."""
    page, problems = watched_page(browser, **context)
    page.goto(f"{site.gateway}/invoicing/login")
    page.fill("#key", site.officer_key)
    page.click("button[type=submit]")
    # The invoicing pages' own console (the browser's favicon request) is their tests' business.
    problems.clear()
    return page, problems


def test_an_officer_logs_in_and_opens_the_dashboard_in_their_language(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    page, problems = sign_in(browser, site, locale="it-IT")
    assert page.url.endswith("/invoicing/inbox")
    cookie = next(c for c in page.context.cookies() if c["name"] == "tessera_session")
    assert (
        cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    )

    response = page.goto(f"{site.gateway}/reconciliation")
    assert response is not None and response.status == 200
    # The browser asks for Italian: words, money and the chart speak it.
    assert page.locator("html").get_attribute("lang") == "it"
    assert page.locator("h1").inner_text() == "Riconciliazione"
    first_row = page.locator("#per-day tbody tr").first.inner_text()
    assert first_row.startswith("2026-03-10") and "€" in first_row and "," in first_row
    assert page.locator("#per-day th[data-outcome=in_transit]").inner_text() == "in transito"
    assert page.locator("#chart svg rect.collected").count() >= 1
    assert page.locator("#chart svg rect.settled").count() >= 1
    assert "incassato (ricevute)" in page.locator("#chart svg").inner_html()
    # The refund of today is not paid out yet: in transit, not an exception; nothing is open.
    assert page.locator("#open-total").inner_text() == "(0)"
    assert page.locator("#no-exceptions").inner_text().startswith("Nulla da lavorare")
    page.screenshot(path=str(tmp_path / "dashboard-it.png"), full_page=True)
    for code, title in (
        ("et", "Kooskõlastamine"),
        ("hu", "Egyeztetés"),
        ("sv", "Avstämning"),
        ("en", "Reconciliation"),
    ):
        page.click(f"nav a[lang={code}]")
        assert page.locator("h1").inner_text() == title
        assert page.locator("html").get_attribute("lang") == code

    assert problems == []
    # The login opens pages only: the API behind the same gateway still wants its key.
    api = page.goto(f"{site.gateway}/v1/reconciliation/dashboard")
    assert api is not None and api.status == 401
    anonymous, _ = watched_page(browser)
    denied = anonymous.goto(f"{site.gateway}/reconciliation")
    assert denied is not None and denied.status == 401


def test_the_dashboard_api_page_with_a_key_in_the_header(browser: Any, site: Site) -> None:
    page, problems = watched_page(browser, extra_http_headers={"Authorization": f"Bearer {site.officer_key}"})
    response = page.goto(f"{site.gateway}/v1/reconciliation/dashboard?lang=sv")
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Avstämning"
    assert page.locator("#per-day tbody tr").first.inner_text().startswith("2026-03-10")
    assert problems == []
