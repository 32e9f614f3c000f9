"""The invoicing service's supplier listing and its readiness."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.common import ubl_schemas
from services.invoicing.models import Invoice, InvoiceStatus

Headers = Callable[..., dict[str, str]]


def add_invoices(client: TestClient, supplier_id: str, count: int) -> list[Invoice]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    invoices = [
        Invoice(
            id=uuid.uuid4(),
            supplier_id=supplier_id,
            invoice_number=f"INV-{n}",
            status=InvoiceStatus.RECEIVED,
            created_at=start + timedelta(days=n),
        )
        for n in range(count)
    ]
    with client.app.state.database.sessionmaker() as session:  # type: ignore[attr-defined]
        session.add_all(invoices)
        session.commit()
    return invoices


def test_a_new_supplier_gets_an_empty_page(invoicing_client: TestClient, principal_headers: Headers) -> None:
    response = invoicing_client.get(
        "/v1/invoices", headers=principal_headers("supplier", supplier_id="FI12345678")
    )
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


def test_a_supplier_sees_only_its_own_invoices_newest_first(
    invoicing_client: TestClient, principal_headers: Headers
) -> None:
    mine = add_invoices(invoicing_client, "FI1", 3)
    add_invoices(invoicing_client, "FI2", 2)
    response = invoicing_client.get(
        "/v1/invoices?limit=2&offset=0", headers=principal_headers("supplier", supplier_id="FI1")
    )
    page = response.json()
    assert (page["total"], page["limit"]) == (3, 2)
    assert [i["invoice_number"] for i in page["items"]] == [mine[2].invoice_number, mine[1].invoice_number]
    rest = invoicing_client.get(
        "/v1/invoices?limit=2&offset=2", headers=principal_headers("supplier", supplier_id="FI1")
    )
    assert [i["invoice_number"] for i in rest.json()["items"]] == ["INV-0"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "limit=x"])
def test_bad_paging_is_a_problem(
    invoicing_client: TestClient, principal_headers: Headers, query: str
) -> None:
    response = invoicing_client.get(
        f"/v1/invoices?{query}", headers=principal_headers("supplier", supplier_id="FI1")
    )
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


def test_only_bound_suppliers_list_invoices(invoicing_client: TestClient, principal_headers: Headers) -> None:
    assert invoicing_client.get("/v1/invoices", headers=principal_headers("officer")).status_code == 403
    unbound = invoicing_client.get("/v1/invoices", headers=principal_headers("supplier"))
    assert unbound.status_code == 403 and "not bound" in unbound.json()["detail"]
    assert invoicing_client.get("/v1/invoices").status_code == 401


def test_readiness_needs_the_ubl_schemas(
    invoicing_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(directory: Path | None = None, **_: object) -> Path:
        raise ubl_schemas.SchemasMissing("UBL 2.1 schemas missing; run tessera ubl-schemas fetch")

    def present(directory: Path | None = None, **_: object) -> Path:
        return Path("/schemas")

    monkeypatch.setattr(ubl_schemas, "verify", missing)
    down = invoicing_client.get("/readyz")
    assert down.status_code == 503
    assert down.json()["checks"] == {"database": "ok", "ubl_schemas": "failing"}
    monkeypatch.setattr(ubl_schemas, "verify", present)
    assert invoicing_client.get("/readyz").status_code == 200
