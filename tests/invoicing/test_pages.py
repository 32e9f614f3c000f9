"""The portal and inbox pages, called as the gateway forwards them (signed caller identity):
rendering, forms with their security tokens, and the report grouped for people."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from services.invoicing.pages import LOGIN_COOKIE, SESSION_COOKIE, group_findings
from services.invoicing.samples import sample_invoice
from tests.invoicing.conftest import SELLER, Headers

KEY = "tsk_" + "ab" * 16 + "_" + "s" * 43


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', html)
    assert found is not None
    return found.group(1)


def test_login_sets_a_strict_httponly_session_cookie_after_the_double_submit_check(
    invoicing_client: TestClient,
) -> None:
    invoicing_client.base_url = "https://invoicing.test"  # Secure cookies travel over https only
    form = invoicing_client.get("/invoicing/login")
    assert form.status_code == 200 and "script-src" not in form.headers["content-security-policy"]
    token = csrf_of(form.text)
    assert invoicing_client.cookies.get(LOGIN_COOKIE) == token
    forged = invoicing_client.post(
        "/invoicing/login", data={"csrf": "other", "key": KEY}, follow_redirects=False
    )
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    signed_in = invoicing_client.post(
        "/invoicing/login", data={"csrf": token, "key": KEY}, follow_redirects=False
    )
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/invoicing/"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert all(part in cookie.lower() for part in ("httponly", "secure", "samesite=strict", "path=/;"))


def test_login_refuses_what_is_not_a_key(invoicing_client: TestClient) -> None:
    invoicing_client.base_url = "https://invoicing.test"  # Secure cookies travel over https only
    token = csrf_of(invoicing_client.get("/invoicing/login").text)
    refused = invoicing_client.post("/invoicing/login", data={"csrf": token, "key": "password1"})
    assert refused.status_code == 400 and "not a Tessera API key" in refused.text


def test_home_sends_each_role_to_its_pages(invoicing_client: TestClient, principal_headers: Headers) -> None:
    supplier = principal_headers("supplier", supplier_id=SELLER)
    officer = principal_headers("officer")
    assert (
        invoicing_client.get("/invoicing/", headers=supplier, follow_redirects=False).headers["location"]
        == "/invoicing/portal"
    )
    assert (
        invoicing_client.get("/invoicing/", headers=officer, follow_redirects=False).headers["location"]
        == "/invoicing/inbox"
    )
    assert invoicing_client.get("/invoicing/inbox", headers=supplier).status_code == 403
    assert invoicing_client.get("/invoicing/portal", headers=officer).status_code == 403
    assert invoicing_client.get("/invoicing/portal").status_code == 401


def test_upload_shows_the_report_grouped_and_an_accepted_invoice_its_page(
    invoicing_client: TestClient, principal_headers: Headers
) -> None:
    supplier = principal_headers("supplier", supplier_id=SELLER)
    token = csrf_of(invoicing_client.get("/invoicing/portal", headers=supplier).text)
    bad = sample_invoice(number="P-1", buyer_reference="NOWHERE")
    refused = invoicing_client.post(
        "/invoicing/portal/upload",
        headers=supplier,
        data={"csrf": token},
        files={"invoice": ("p1.xml", bad, "application/xml")},
    )
    assert refused.status_code == 422
    assert "No invoices yet." in refused.text
    assert "The municipality&#39;s checks" in refused.text and "BT-10" in refused.text
    assert "/Invoice/cbc:BuyerReference" in refused.text
    no_token = invoicing_client.post(
        "/invoicing/portal/upload",
        headers=supplier,
        files={"invoice": ("p.xml", sample_invoice(), "application/xml")},
    )
    assert no_token.status_code == 403
    accepted = invoicing_client.post(
        "/invoicing/portal/upload",
        headers=supplier,
        data={"csrf": token},
        files={"invoice": ("p2.xml", sample_invoice(number="P-2"), "application/xml")},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    page = invoicing_client.get(accepted.headers["location"], headers=supplier)
    assert "P-2" in page.text and "Received (AB)" in page.text and "Decide" not in page.text
    invoice_id = accepted.headers["location"].rsplit("/", 1)[1]
    original = invoicing_client.get(f"/invoicing/documents/{invoice_id}/original", headers=supplier)
    assert (
        original.content == sample_invoice(number="P-2")
        and "attachment" in original.headers["content-disposition"]
    )
    response = invoicing_client.get(f"/invoicing/documents/{invoice_id}/response-1", headers=supplier)
    assert b"ApplicationResponse" in response.content
    assert (
        invoicing_client.get(f"/invoicing/documents/{invoice_id}/other", headers=supplier).status_code == 404
    )
    other = principal_headers("supplier", supplier_id="IT09876543210")
    assert (
        invoicing_client.get(f"/invoicing/documents/{invoice_id}/original", headers=other).status_code == 404
    )


def test_officers_decide_from_the_inbox_with_a_reason(
    invoicing_client: TestClient, principal_headers: Headers
) -> None:
    supplier = {**principal_headers("supplier", supplier_id=SELLER), "Content-Type": "application/xml"}
    invoice = invoicing_client.post(
        "/v1/invoices", content=sample_invoice(number="Q-1"), headers=supplier
    ).json()
    officer = principal_headers("officer")
    inbox = invoicing_client.get("/invoicing/inbox?status=AB", headers=officer)
    assert "Q-1" in inbox.text
    detail = invoicing_client.get(f"/invoicing/inbox/invoices/{invoice['id']}", headers=officer)
    token = csrf_of(detail.text)
    url = f"/invoicing/inbox/invoices/{invoice['id']}/status"
    missing_reason = invoicing_client.post(url, headers=officer, data={"csrf": token, "status": "RE"})
    assert missing_reason.status_code == 422 and "reason" in missing_reason.text
    rejected = invoicing_client.post(
        url,
        headers=officer,
        data={"csrf": token, "status": "RE", "reason": "PRI", "note": "Price <b>wrong</b>"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    after = invoicing_client.get(f"/invoicing/inbox/invoices/{invoice['id']}", headers=officer).text
    assert (
        "Rejected (RE)" in after
        and "Price &lt;b&gt;wrong&lt;/b&gt;" in after
        and "Record decision" not in after
    )


def test_findings_are_grouped_by_family_with_their_business_terms() -> None:
    groups = group_findings(
        [
            {"rule": "BR-S-08", "severity": "fatal", "message": "VAT (BT-116)", "location": "/a", "line": 3},
            {
                "rule": "TESSERA-B2G-02",
                "severity": "fatal",
                "message": "BT-10 Buyer reference",
                "location": "/b",
            },
            {"rule": "UBL-CR-001", "severity": "warning", "message": "extensions", "location": "/c"},
            {"rule": "BR-CO-10", "severity": "fatal", "message": "Sum of BT-131 = BT-106", "location": "/d"},
        ]
    )
    assert [g.title for g in groups] == [
        "The municipality's checks (public buyer)",
        "Calculations and conditions",
        "UBL syntax rules",
        "VAT category rules",
    ]
    assert groups[1].findings[0].terms == ("BT-131", "BT-106")


def test_long_lists_are_paged(invoicing_client: TestClient, principal_headers: Headers) -> None:
    from tests.invoicing.factories import stored_invoice

    with invoicing_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        session.add_all(stored_invoice(SELLER, f"M-{n:03d}") for n in range(55))
        session.commit()
    officer = principal_headers("officer")
    first = invoicing_client.get("/invoicing/inbox?status=AB", headers=officer).text
    assert "showing 1–50 of 55" in first and 'rel="next"' in first and "offset=50" in first
    second = invoicing_client.get("/invoicing/inbox?status=AB&offset=50", headers=officer).text
    assert "showing 51–55 of 55" in second and 'rel="prev"' in second and 'rel="next"' not in second
