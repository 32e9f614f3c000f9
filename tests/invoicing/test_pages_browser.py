"""The supplier portal and the officers' inbox in headless Chromium (Playwright), through the
real gateway in front of the real invoicing service, each served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway import service as gateway_service
from services.common.db import Database
from services.common.identity import Role
from services.invoicing.samples import sample_invoice
from tests.gateway.conftest import make_key, settings_for
from tests.invoicing.conftest import SELLER
from tests.servers import CHROMIUM, CHROMIUM_ARGS, Served, require_chromium

require_chromium()

playwright_api = pytest.importorskip("playwright.sync_api")


@dataclass
class Site:
    url: str
    gateway_db: str
    supplier_key: str
    supplier_key_id: str
    officer_key: str


@pytest.fixture
def site(invoicing_settings: Any, gateway_db_url: str) -> Iterator[Site]:
    from gateway.app import create_app as gateway_app
    from services.invoicing.app import create_app as invoicing_app

    supplier_id, supplier_key = make_key(
        gateway_db_url, Role.SUPPLIER, supplier_id=SELLER, name="Forniture Demo"
    )
    _, officer_key = make_key(gateway_db_url, Role.OFFICER, name="Officer Rossi")
    with Served(invoicing_app(invoicing_settings)) as invoicing:
        settings = settings_for(gateway_db_url, invoicing_url=invoicing.url)
        with Served(gateway_app(settings)) as gateway:
            yield Site(gateway.url, gateway_db_url, supplier_key, supplier_id, officer_key)


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(browser: Any, site: Site, key: str) -> Any:
    page = browser.new_context().new_page()
    page.goto(f"{site.url}/invoicing/login")
    page.fill("#key", key)
    page.click("button[type=submit]")
    return page


def test_a_supplier_uploads_reads_the_report_and_follows_the_officers_decision(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    supplier = sign_in(browser, site, site.supplier_key)
    assert supplier.url.endswith("/invoicing/portal")
    cookie = next(c for c in supplier.context.cookies() if c["name"] == "tessera_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"

    wrong = tmp_path / "wrong.xml"
    wrong.write_bytes(sample_invoice(number="B-1", buyer_reference="NOWHERE"))
    supplier.set_input_files("#invoice", str(wrong))
    supplier.click("text=Upload")
    assert "Not accepted" in supplier.inner_text("[role=alert]")
    first = supplier.locator("tr.finding").first
    assert "BT-10" in first.inner_text() and "/Invoice/cbc:BuyerReference" in first.inner_text()

    right = tmp_path / "right.xml"
    right.write_bytes(sample_invoice(number="B-2"))
    supplier.set_input_files("#invoice", str(right))
    supplier.click("text=Upload")
    assert supplier.inner_text("#current-status") == "Received (AB)"
    invoice_page = supplier.url

    officer = sign_in(browser, site, site.officer_key)
    assert officer.url.endswith("/invoicing/inbox")
    officer.select_option("#status", "AB")
    officer.click("text=Filter")
    officer.click("text=B-2")
    officer.click("#open-rendered")
    assert "B-2" in officer.content()
    officer.go_back()
    officer.select_option("#decision", "UQ")
    officer.click("text=Record decision")
    assert "reason" in officer.inner_text("#decision-error")
    officer.select_option("#decision", "UQ")
    officer.select_option("#reason", "PRI")
    officer.fill("#note", "Unit price differs from order 7781")
    officer.click("text=Record decision")
    assert officer.inner_text("#current-status") == "Under query (UQ)"
    officer.select_option("#decision", "AP")
    officer.click("text=Record decision")
    assert officer.inner_text("#current-status") == "Accepted (AP)"

    supplier.goto(invoice_page)
    assert supplier.inner_text("#current-status") == "Accepted (AP)"
    history = supplier.inner_text("#history")
    assert "Unit price differs from order 7781" in history and "Officer Rossi" in history


def test_without_a_session_or_with_a_revoked_key_the_pages_are_closed(browser: Any, site: Site) -> None:
    anonymous = browser.new_context().new_page()
    assert anonymous.goto(f"{site.url}/invoicing/portal").status == 401
    supplier = sign_in(browser, site, site.supplier_key)
    assert supplier.url.endswith("/invoicing/portal")
    database = Database(site.gateway_db)
    try:
        with database.sessionmaker() as session:
            gateway_service.revoke_key(session, key_id=uuid.UUID(site.supplier_key_id))
            session.commit()
    finally:
        database.dispose()
    # A fresh request for the same page (Page.reload right after the sign-in's redirect has
    # failed in Chromium with 'Not attached to an active page').
    assert supplier.goto(f"{site.url}/invoicing/portal").status == 401
    supplier.goto(f"{site.url}/invoicing/login")
    supplier.click("button[type=submit]")  # empty key: the form itself refuses to submit
    assert supplier.url.endswith("/invoicing/login")
