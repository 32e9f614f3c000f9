"""A citizen in headless Chromium (Playwright) finds what they owe by its RF reference, pays with
the sandbox card and lands on the result page; every page is checked with axe-core for WCAG 2.1
A and AA, on a phone-sized screen and in another language."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import CHROMIUM, CHROMIUM_ARGS, Served, free_port, require_chromium

WCAG = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
PHONE = {"width": 375, "height": 667}

require_chromium()

playwright_api = pytest.importorskip("playwright.sync_api")
axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")


@pytest.fixture
def site(payments_settings: Any, principal_headers: Any) -> Iterator[tuple[str, httpx.Client]]:
    from services.payments.app import create_app

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = payments_settings.model_copy(update={"public_url": url, "sweep_enabled": False})
    with (
        Served(create_app(settings), port=port),
        httpx.Client(base_url=url, headers=principal_headers("service")) as api,
    ):
        yield url, api


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def accessible(page: Any) -> None:
    results = axe_module.Axe().run(page, options=WCAG)
    assert results.violations_count == 0, results.generate_report()


def owe(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {
        "payer": {"name": "Maria Rossi"},
        "description": "Waste collection tax 2026",
        "category": "TARI",
        "amount": 12000,
        "currency": "EUR",
        "due_date": "2099-12-31",
        **overrides,
    }
    response = api.post("/v1/payment-requests", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def test_a_citizen_pays_with_the_sandbox_on_a_phone(browser: Any, site: tuple[str, httpx.Client]) -> None:
    url, api = site
    request = owe(api)
    page = browser.new_context(viewport=PHONE, locale="en-GB", java_script_enabled=False).new_page()
    page.goto(f"{url}/pay")
    accessible_with_script = browser.new_context(viewport=PHONE).new_page()  # axe needs script
    accessible_with_script.goto(f"{url}/pay")
    accessible(accessible_with_script)
    page.fill("#reference", request["creditor_reference_display"])
    page.click("button:has-text('Find')")
    assert "Waste collection tax 2026" in page.content() and "€120.00" in page.content()
    accessible_with_script.goto(page.url)
    accessible(accessible_with_script)
    page.click("button:has-text('Pay')")
    assert page.is_visible("#card_number")
    page.fill("#card_number", "4000 0000 0000 0002")
    page.fill("#expiry", "12/40")
    page.fill("#cvc", "123")
    page.click("form[method=post] >> button:has-text('Pay')")
    assert page.is_visible("text=Payment not completed")
    page.click("text=Try again")
    page.click("button:has-text('Pay')")
    accessible_with_script.goto(page.url)
    accessible(accessible_with_script)
    page.fill("#card_number", "4242 4242 4242 4242")
    page.fill("#expiry", "12/40")
    page.fill("#cvc", "123")
    page.click("form[method=post] >> button:has-text('Pay')")
    assert "/result" in page.url and page.is_visible("text=Payment received")
    accessible_with_script.goto(page.url)
    accessible(accessible_with_script)
    owed = api.get(f"/v1/payment-requests/{request['payment_request_id']}").json()
    assert (owed["state"], owed["amount_due"]) == ("paid", 0)


def test_pages_in_italian_are_accessible_and_show_errors_accessibly(
    browser: Any, site: tuple[str, httpx.Client]
) -> None:
    url, api = site
    request = owe(api, currency="HUF", amount=1_200_000)
    page = browser.new_context(locale="it-IT", viewport=PHONE).new_page()
    page.goto(f"{url}/pay")
    assert page.get_attribute("html", "lang") == "it" and page.is_visible("text=Riferimento creditore")
    page.fill("#reference", "RF00 0000")
    page.click("button:has-text('Cerca')")
    assert page.is_visible("[role=alert]") and page.get_attribute("#reference", "aria-invalid") == "true"
    accessible(page)
    page.goto(f"{url}/pay/owed/{request['creditor_reference']}")
    accessible(page)
    page.click("button:has-text('Paga')")
    accessible(page)
    page.fill("#card_number", "1234")
    page.fill("#expiry", "12/40")
    page.fill("#cvc", "123")
    page.click("form[method=post] >> button:has-text('Paga')")
    assert page.is_visible("[role=alert]")
    accessible(page)
    # The language switch works without script.
    page.select_option("#lang", "sv")
    page.click("header button")
    assert page.get_attribute("html", "lang") == "sv"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "lang"


def test_a_citizen_pays_with_stripe_js_and_lands_on_the_result_page(
    browser: Any, payments_settings: Any, principal_headers: Any, request: pytest.FixtureRequest
) -> None:
    """The Stripe page loads (localstripe's) Stripe.js under its CSP, mounts the card element and
    confirms with confirmCardPayment; the result page asks Stripe and shows the success.

    localstripe's fake Stripe.js does not turn the card element's input into a payment method:
    its confirmCardPayment only completes a 3-D Secure step. So the test attaches a 3-D Secure
    test card to the PaymentIntent and confirms it server-side first (what real Stripe.js does
    from the card element), and the payer then completes the authentication in the page."""
    import stripe

    from services.payments.app import create_app

    server = request.getfixturevalue("localstripe")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = payments_settings.model_copy(
        update={
            "public_url": url,
            "sweep_enabled": False,
            "provider": "stripe",
            "stripe_secret_key": "sk_test_tessera",
            "stripe_publishable_key": "pk_test_tessera",
            "stripe_api_base": server.url,
            "stripe_js_url": f"{server.url}/js.stripe.com/v3/",
            "stripe_webhook_secrets": "whsec_browser",
        }
    )
    client = stripe.StripeClient("sk_test_tessera", base_addresses={"api": server.url})
    with (
        Served(create_app(settings), port=port),
        httpx.Client(base_url=url, headers=principal_headers("service")) as api,
    ):
        owed = owe(api)
        page = browser.new_context(viewport=PHONE).new_page()
        page.goto(f"{url}/pay/owed/{owed['creditor_reference']}")
        page.click("button:has-text('Pay')")
        page.wait_for_selector("#card-element *")  # Stripe.js mounted its card element
        accessible(page)
        payment_id = page.url.split("/pay/")[1].split("?")[0]
        intent_id = api.get(f"/v1/payments/{payment_id}").json()["provider_id"]
        method = client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": "4000002500003155", "exp_month": 12, "exp_year": 2040, "cvc": "123"},
            }
        )
        client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
        client.v1.payment_intents.confirm(intent_id)
        page.click("#pay-button")
        page.click("text=Complete authentication")
        page.wait_for_url("**/result?*")
        assert page.is_visible("text=Payment received")
        accessible(page)
        assert api.get(f"/v1/payments/{payment_id}").json()["state"]["status"] == "success"
        assert api.get(f"/v1/payment-requests/{owed['payment_request_id']}").json()["state"] == "paid"
