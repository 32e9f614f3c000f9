"""The invoicing API on SQLite and PostgreSQL: submission and its refusals, what each caller
sees, the lifecycle with its Invoice Responses, routing codes and supplier webhooks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from services.invoicing.models import OutboxDelivery, OutboxEvent
from services.invoicing.samples import default_seller, sample_invoice
from services.invoicing.ubl.seal import Sealer
from services.invoicing.validation import validate, xsd
from tests.invoicing.conftest import OTHER_SELLER, SELLER, Headers
from tests.invoicing.factories import stored_invoice

PROBLEM = "application/problem+json"
AR = "{urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def submit(client: TestClient, headers: dict[str, str], body: bytes, **extra: str):  # type: ignore[no-untyped-def]
    return client.post("/v1/invoices", content=body, headers={**headers, **extra})


def total(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/v1/invoices", headers=headers).json()["total"])


def test_an_accepted_invoice_is_sealed_acknowledged_and_linked(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    body = sample_invoice(number="A-1")
    created = submit(invoicing_client, supplier, body)
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert created.headers["location"] == f"/v1/invoices/{invoice['id']}"
    assert (invoice["status"], invoice["invoice_number"], invoice["supplier_id"]) == ("AB", "A-1", SELLER)
    assert invoice["report"]["valid"] and invoice["report"]["fatal"] == 0
    assert invoice["seal"]["development"] is True
    links = invoice["_links"]
    original = invoicing_client.get(links["original"], headers=supplier)
    assert original.content == body and original.headers["content-type"] == "application/xml"
    sealed = invoicing_client.get(links["sealed"], headers=supplier).content
    assert b"urn:tessera:seal" in sealed
    archived = validate(sealed)  # the archive copy still meets UBL 2.1 and EN 16931; the extension warns
    assert archived.valid and {f.rule for f in archived.findings} == {"UBL-CR-001"}
    verified = invoicing_client.post("/v1/invoices/verify", content=sealed, headers=supplier).json()
    assert verified["status"] == "intact" and "DEVELOPMENT" in verified["certificate_subject"]
    assert invoicing_client.get(links["report"], headers=supplier).json() == invoice["report"]
    events = invoicing_client.get(links["events"], headers=supplier).json()
    assert [(e["number"], e["status"], e["actor_role"]) for e in events] == [(1, "AB", "system")]
    html = invoicing_client.get(links["html"], headers=supplier)
    assert "A-1" in html.text and "script-src" not in html.headers["content-security-policy"]
    response = invoicing_client.get(events[0]["response"], headers=supplier)
    root = etree.fromstring(response.content)
    assert root.tag == f"{AR}ApplicationResponse"
    assert root.findtext(f".//{CBC}ResponseCode") == "AB"


def test_a_tampered_seal_is_reported_altered(invoicing_client: TestClient, supplier: dict[str, str]) -> None:
    invoice = submit(invoicing_client, supplier, sample_invoice(number="T-1")).json()
    sealed = invoicing_client.get(invoice["_links"]["sealed"], headers=supplier).content
    tampered = sealed.replace(b">T-1<", b">T-2<")
    verdict = invoicing_client.post("/v1/invoices/verify", content=tampered, headers=supplier).json()
    assert verdict["status"] == "altered" and not verdict["intact"]


def test_fatal_findings_are_a_422_with_the_full_report_and_nothing_stored(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    body = sample_invoice(number="BAD-1").replace(
        b'<cbc:PayableAmount currencyID="EUR">', b'<cbc:PayableAmount currencyID="EUR">1'
    )
    refused = submit(invoicing_client, supplier, body)
    assert refused.status_code == 422 and refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["code"] == "invoice_invalid"
    rules = {f["rule"] for f in problem["report"]["findings"]}
    assert "BR-CO-16" in rules
    assert all({"rule", "severity", "location", "message"} <= f.keys() for f in problem["report"]["findings"])
    assert total(invoicing_client, supplier) == 0


def test_the_buyer_must_be_this_municipality_with_a_known_routing_code(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    unknown = submit(
        invoicing_client, supplier, sample_invoice(number="R-1", buyer_reference="SOMEWHERE-ELSE")
    ).json()
    finding = next(f for f in unknown["report"]["findings"] if f["rule"] == "TESSERA-B2G-02")
    assert "UFDEMO-FIN" in finding["message"] and "UFDEMO-PW" in finding["message"]
    assert finding["location"] == "/Invoice/cbc:BuyerReference"
    without = sample_invoice(number="R-3").replace(
        b"<cbc:BuyerReference>UFDEMO-FIN</cbc:BuyerReference>", b""
    )
    missing = submit(invoicing_client, supplier, without).json()
    finding = next(f for f in missing["report"]["findings"] if f["rule"] == "TESSERA-B2G-02")
    assert "missing" in finding["message"] and "UFDEMO-PW" in finding["message"]
    other_town = sample_invoice(number="R-2").replace(b"IT00000000000", b"FR00000000000")
    refused = submit(invoicing_client, supplier, other_town)
    assert refused.status_code == 422
    assert any(
        "BT-48" in f["message"] for f in refused.json()["report"]["findings"] if f["rule"] == "TESSERA-B2G-01"
    )
    assert total(invoicing_client, supplier) == 0


def test_a_seller_other_than_the_keys_supplier_is_403_and_nothing_is_stored(
    invoicing_client: TestClient, other_supplier: dict[str, str], supplier: dict[str, str]
) -> None:
    refused = submit(invoicing_client, other_supplier, sample_invoice(number="S-1"))
    assert refused.status_code == 403 and refused.json()["code"] == "seller_mismatch"
    assert total(invoicing_client, other_supplier) == 0 and total(invoicing_client, supplier) == 0


def test_duplicates_are_409_linking_the_original_but_credit_notes_and_new_years_may_reuse_a_number(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    first = submit(invoicing_client, supplier, sample_invoice(number="D-1")).json()
    again = submit(invoicing_client, supplier, sample_invoice(number="D-1", lines=3))
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["original"] == f"/v1/invoices/{first['id']}"
    assert again.headers["location"] == f"/v1/invoices/{first['id']}"
    credit = submit(invoicing_client, supplier, sample_invoice(number="D-1", credit_note=True))
    assert credit.status_code == 201 and credit.json()["kind"] == "CreditNote"
    next_year = submit(
        invoicing_client, supplier, sample_invoice(number="D-1", issue_date=dt.date(2027, 1, 5))
    )
    assert next_year.status_code == 201
    assert total(invoicing_client, supplier) == 3


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"invoice": 1}'),
        ("text/plain", b"<Invoice/>"),
        ("application/xml", b'{"invoice": 1}'),
        ("application/xml", b""),
    ],
)
def test_what_is_not_xml_is_415(
    invoicing_client: TestClient, supplier: dict[str, str], content_type: str, body: bytes
) -> None:
    refused = submit(invoicing_client, supplier, body, **{"Content-Type": content_type})
    assert refused.status_code == 415 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "not_xml"


def test_an_oversized_body_is_413(invoicing_settings: object, supplier: dict[str, str]) -> None:
    from services.invoicing.app import create_app

    invoicing_settings.max_invoice_bytes = 5000  # type: ignore[attr-defined]
    with TestClient(create_app(invoicing_settings)) as client:  # type: ignore[arg-type]
        refused = submit(client, supplier, sample_invoice(number="L-1"))
        assert refused.status_code == 413 and refused.json()["code"] == "invoice_too_large"
        assert total(client, supplier) == 0


HOSTILE = [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    b"<Invoice>&lol2;</Invoice>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Invoice>&xxe;</Invoice>',
    b"<Invoice><unclosed></Invoice>",
    b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>',
    b"<a>" * 200 + b"</a>" * 200,
]


@pytest.mark.parametrize("body", HOSTILE, ids=["entities", "external-entity", "malformed", "order", "deep"])
def test_hostile_or_foreign_xml_is_a_clear_422_and_nothing_is_stored(
    invoicing_client: TestClient, supplier: dict[str, str], body: bytes
) -> None:
    refused = submit(invoicing_client, supplier, body)
    assert refused.status_code == 422, refused.text
    findings = refused.json()["report"]["findings"]
    assert findings and findings[0]["rule"] in ("XML", "DOCTYPE") and findings[0]["message"]
    assert b"root:" not in refused.content
    assert total(invoicing_client, supplier) == 0


def test_idempotency_key_replays_the_same_body_and_refuses_another(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    body = sample_invoice(number="I-1")
    first = submit(invoicing_client, supplier, body, **{"Idempotency-Key": "order-77"})
    again = submit(invoicing_client, supplier, body, **{"Idempotency-Key": "order-77"})
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = submit(
        invoicing_client, supplier, sample_invoice(number="I-2"), **{"Idempotency-Key": "order-77"}
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    too_long = submit(
        invoicing_client, supplier, sample_invoice(number="I-3"), **{"Idempotency-Key": "k" * 256}
    )
    assert too_long.status_code == 400
    assert total(invoicing_client, supplier) == 1


def test_a_supplier_sees_only_its_own_invoices_and_another_suppliers_id_is_404(
    invoicing_client: TestClient,
    supplier: dict[str, str],
    other_supplier: dict[str, str],
    officer: dict[str, str],
) -> None:
    invoice = submit(invoicing_client, supplier, sample_invoice(number="V-1")).json()
    for link in [*invoice["_links"].values(), f"/v1/invoices/{invoice['id']}/responses/1"]:
        hidden = invoicing_client.get(link, headers=other_supplier)
        assert hidden.status_code == 404 and hidden.json()["code"] == "invoice_not_found", link
        assert invoicing_client.get(link, headers=officer).status_code == 200, link
    assert (
        invoicing_client.get(
            "/v1/invoices/00000000-0000-0000-0000-000000000000", headers=supplier
        ).status_code
        == 404
    )
    assert invoicing_client.get("/v1/invoices/not-an-id", headers=supplier).status_code == 422
    assert (
        invoicing_client.get(f"/v1/invoices/{invoice['id']}/responses/9", headers=supplier).status_code == 404
    )


def test_listing_filters_and_pages(
    invoicing_client: TestClient, supplier: dict[str, str], officer: dict[str, str]
) -> None:
    from services.invoicing.ubl.lifecycle import InvoiceStatus

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        stored_invoice(
            SELLER,
            f"F-{n}",
            issue_date=dt.date(2026, 1, 1 + n),
            created_at=start + dt.timedelta(days=n),
            status=InvoiceStatus.ACCEPTED if n % 2 else InvoiceStatus.RECEIVED,
        )
        for n in range(5)
    ]
    rows.append(stored_invoice(OTHER_SELLER, "F-0"))
    with invoicing_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        session.add_all(rows)
        session.commit()

    def numbers(query: str, headers: dict[str, str] = supplier, path: str = "/v1/invoices") -> list[str]:
        page = invoicing_client.get(f"{path}?{query}", headers=headers)
        assert page.status_code == 200, page.text
        return [i["invoice_number"] for i in page.json()["items"]]

    assert numbers("") == ["F-4", "F-3", "F-2", "F-1", "F-0"]
    assert numbers("status=AP") == ["F-3", "F-1"]
    assert numbers("issued_from=2026-01-02&issued_to=2026-01-03") == ["F-2", "F-1"]
    assert numbers("number=F-0") == ["F-0"]
    assert numbers("limit=2&offset=2") == ["F-2", "F-1"]
    assert numbers("number=F-0", officer, "/v1/inbox") == ["F-0", "F-0"]
    assert numbers(f"supplier_id={OTHER_SELLER}", officer, "/v1/inbox") == ["F-0"]
    assert invoicing_client.get("/v1/invoices?status=XX", headers=supplier).status_code == 422
    assert invoicing_client.get("/v1/inbox", headers=supplier).status_code == 403


def test_only_bound_suppliers_submit_and_list(
    invoicing_client: TestClient, principal_headers: Headers, officer: dict[str, str]
) -> None:
    assert invoicing_client.get("/v1/invoices", headers=officer).status_code == 403
    unbound = {**principal_headers("supplier"), "Content-Type": "application/xml"}
    refused = submit(invoicing_client, unbound, sample_invoice())
    assert refused.status_code == 403 and "bound" in refused.json()["detail"]
    assert invoicing_client.post("/v1/invoices", content=sample_invoice()).status_code == 401


def test_officers_move_invoices_along_the_lifecycle_with_reasons_and_responses(
    invoicing_client: TestClient, supplier: dict[str, str], officer: dict[str, str]
) -> None:
    invoice = submit(invoicing_client, supplier, sample_invoice(number="L-1")).json()
    status_url = f"/v1/invoices/{invoice['id']}/status"

    def move(body: dict[str, object], headers: dict[str, str] = officer) -> tuple[int, dict[str, object]]:
        answer = invoicing_client.post(status_url, json=body, headers=headers)
        return answer.status_code, answer.json()

    assert move({"status": "UQ"})[0] == 422  # a query needs a reason (PEPPOL-T111-R001)
    assert move({"status": "AP"}, supplier)[0] == 403
    code, query = move({"status": "UQ", "reasons": ["PRI"], "note": "Unit price differs from order 7781"})
    assert code == 201 and query["number"] == 2 and query["actor"] == "test officer"
    assert move({"status": "AP"})[0] == 201
    code, problem = move({"status": "UQ", "reasons": ["PRI"]})
    assert code == 409 and problem["code"] == "transition_not_allowed"
    assert move({"status": "PD"})[0] == 422  # paid needs the payment reference
    code, paid = move({"status": "PD", "payment_reference": "SEPA-2026-000987"})
    assert code == 201 and paid["payment_reference"] == "SEPA-2026-000987"
    assert move({"status": "RE", "reasons": ["OTH"], "note": "x"})[0] == 409  # PD is final
    current = invoicing_client.get(f"/v1/invoices/{invoice['id']}", headers=supplier).json()
    assert (current["status"], current["payment_reference"]) == ("PD", "SEPA-2026-000987")
    events = invoicing_client.get(f"/v1/invoices/{invoice['id']}/events", headers=supplier).json()
    assert [e["status"] for e in events] == ["AB", "UQ", "AP", "PD"]
    assert events[1]["reasons"] == ["PRI"] and events[1]["actor_key_id"] == "key-officer"
    for event in events:
        document = invoicing_client.get(event["response"], headers=supplier).content
        root = etree.fromstring(document)
        assert root.findtext(f".//{CBC}ResponseCode") == event["status"]
        assert [v.message for v in xsd.validate(root, "ApplicationResponse")] == []
    query_doc = etree.fromstring(invoicing_client.get(events[1]["response"], headers=supplier).content)
    assert query_doc.findtext(f".//{CBC}StatusReasonCode") == "PRI"
    assert query_doc.findtext(f".//{CBC}StatusReason") == "Unit price differs from order 7781"


def test_status_events_go_to_the_suppliers_registered_webhook(
    invoicing_client: TestClient, supplier: dict[str, str], officer: dict[str, str]
) -> None:
    supplier = {k: v for k, v in supplier.items() if k != "Content-Type"}
    assert invoicing_client.get("/v1/invoices/webhook", headers=supplier).status_code == 404
    bad = invoicing_client.put("/v1/invoices/webhook", json={"url": "ftp://x"}, headers=supplier)
    assert bad.status_code == 422
    url = "https://erp.supplier.example/tessera/events"
    registered = invoicing_client.put("/v1/invoices/webhook", json={"url": url}, headers=supplier)
    assert registered.status_code == 200 and registered.json()["url"] == url
    secret = registered.json()["secret"]
    assert secret.startswith("whsec_")
    moved = invoicing_client.put("/v1/invoices/webhook", json={"url": url}, headers=supplier).json()
    assert moved["secret"] is None  # shown once
    rotated = invoicing_client.put(
        "/v1/invoices/webhook", json={"url": url, "rotate_secret": True}, headers=supplier
    )
    assert rotated.json()["secret"] not in (None, secret)
    invoice = submit(
        invoicing_client, supplier, sample_invoice(number="W-1"), **{"Content-Type": "text/xml"}
    ).json()
    invoicing_client.post(f"/v1/invoices/{invoice['id']}/status", json={"status": "AP"}, headers=officer)
    with invoicing_client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        events = session.query(OutboxEvent).order_by(OutboxEvent.sequence).all()
        assert [(e.type, e.payload["status"]) for e in events] == [
            ("invoice.status_changed", "AB"),
            ("invoice.status_changed", "AP"),
        ]
        assert events[1].payload["previous_status"] == "AB"
        deliveries = session.query(OutboxDelivery).all()
        assert {d.subscriber for d in deliveries} == {url} and len(deliveries) == 2
    assert invoicing_client.delete("/v1/invoices/webhook", headers=supplier).status_code == 204


def test_officers_manage_routing_codes_and_submissions_follow_them(
    invoicing_client: TestClient, supplier: dict[str, str], officer: dict[str, str]
) -> None:
    seeded = invoicing_client.get("/v1/invoices/routing-codes", headers=supplier).json()
    assert [c["code"] for c in seeded] == ["UFDEMO-FIN", "UFDEMO-PW"]
    assert invoicing_client.post("/v1/routing-codes", json={"code": "X"}, headers=supplier).status_code == 403
    added = invoicing_client.post(
        "/v1/routing-codes", json={"code": "PO-2026-17", "description": "Roadworks"}, headers=officer
    )
    assert added.status_code == 201 and added.json()["created_by"] == "test officer"
    assert (
        invoicing_client.post("/v1/routing-codes", json={"code": "PO-2026-17"}, headers=officer).status_code
        == 409
    )
    assert (
        submit(
            invoicing_client, supplier, sample_invoice(number="P-1", buyer_reference="PO-2026-17")
        ).status_code
        == 201
    )
    off = invoicing_client.patch("/v1/routing-codes/PO-2026-17", json={"active": False}, headers=officer)
    assert off.status_code == 200 and off.json()["active"] is False
    refused = submit(invoicing_client, supplier, sample_invoice(number="P-2", buyer_reference="PO-2026-17"))
    assert refused.status_code == 422
    assert (
        invoicing_client.patch("/v1/routing-codes/NOPE", json={"active": True}, headers=officer).status_code
        == 404
    )


def test_attachments_of_other_types_or_too_large_are_refused(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    exe = (
        "<cac:AdditionalDocumentReference><cbc:ID>att-1</cbc:ID><cac:Attachment>"
        '<cbc:EmbeddedDocumentBinaryObject mimeCode="application/x-msdownload" filename="a.exe">'
        "TVqQAAMAAAAEAAAA</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>"
    )
    refused = submit(
        invoicing_client,
        supplier,
        sample_invoice(number="X-1").replace(
            b"<cac:AccountingSupplierParty>", exe.encode() + b"<cac:AccountingSupplierParty>", 1
        ),
    )
    assert refused.status_code == 422
    assert any(f["rule"] in ("TESSERA-B2G-04", "BR-CL-24") for f in refused.json()["report"]["findings"])


def test_an_invoice_the_supplier_signed_is_accepted_with_the_check_reported(
    invoicing_client: TestClient, supplier: dict[str, str], tmp_path: Path
) -> None:
    suppliers_own = Sealer.development(tmp_path / "supplier").seal(sample_invoice(number="G-1")).sealed
    accepted = submit(invoicing_client, supplier, suppliers_own)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["supplier_signature"]["status"] in ("untrusted", "intact")
    unsigned = submit(invoicing_client, supplier, sample_invoice(number="G-2")).json()
    assert unsigned["supplier_signature"] is None


def test_the_default_seller_matches_the_supplier_binding() -> None:
    assert default_seller().vat_id == SELLER


def test_an_issue_date_with_a_timezone_is_filed_by_its_day(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    body = sample_invoice(number="Z-1").replace(
        b"<cbc:IssueDate>2026-03-02<", b"<cbc:IssueDate>2026-03-02+01:00<"
    )
    accepted = submit(invoicing_client, supplier, body)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["issue_date"] == "2026-03-02"


def test_an_invoice_number_too_long_to_file_is_a_finding_not_a_crash(
    invoicing_client: TestClient, supplier: dict[str, str]
) -> None:
    refused = submit(invoicing_client, supplier, sample_invoice(number="N" * 101))
    assert refused.status_code == 422
    assert [f["rule"] for f in refused.json()["report"]["findings"]] == ["TESSERA-B2G-06"]
    assert total(invoicing_client, supplier) == 0
