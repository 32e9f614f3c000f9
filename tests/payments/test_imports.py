"""Bulk import of payment requests from CSV, through the API and the ``tessera`` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

Headers = Callable[..., dict[str, str]]
HEADER = "payer_name,payer_tax_code,payer_email,description,category,amount,currency,due_date,instalments,metadata\n"
GOOD_ROWS = (
    "Maria Rossi,RSSMRA80A01H501U,maria@example.org,Waste tax,TARI,120.00,EUR,2099-12-31,"
    "60@2099-11-30;60@2099-12-31,notice=N-1;office=Tributi\n"
    "Kovács Péter,,,Parking permit,PARK,12000,HUF,2099-12-31,,\n"
)
BAD_ROWS = (
    "Anna,,,Fee,SCHOOL,12.345,EUR,2099-12-31,,\n"  # line 4: three decimals
    ",,,Fee,SCHOOL,10,EUR,2099-12-31,,\n"  # line 5: no payer name
    "Bo,,,Fee,SCHOOL,10,USD,2099-12-31,,\n"  # line 6: currency
    "Bo,,,Fee,SCHOOL,10,EUR,31/12/2099,,\n"  # line 7: date format
)


def post(client: TestClient, headers: Headers, text: str, **params: str) -> Any:
    return client.post(
        "/v1/payment-requests/import",
        content=text.encode(),
        params=params,
        headers={**headers("officer"), "content-type": "text/csv"},
    )


def count(client: TestClient, headers: Headers) -> int:
    total: int = client.get("/v1/payment-requests", headers=headers("officer")).json()["total"]
    return total


def test_a_good_file_is_imported_with_references(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    response = post(payments_client, principal_headers, HEADER + GOOD_ROWS)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["valid"], report["imported"], report["errors"]) == (2, 2, 2, [])
    first, second = report["created"]
    assert (first["amount"], [i["amount"] for i in first["instalments"]]) == (12000, [6000, 6000])
    assert first["metadata"] == {"notice": "N-1", "office": "Tributi"}
    assert (second["amount"], second["currency"]) == (1_200_000, "HUF")
    assert first["creditor_reference"] != second["creditor_reference"]


def test_a_file_with_errors_imports_nothing_and_names_each_row(
    payments_client: TestClient, principal_headers: Headers
) -> None:
    response = post(payments_client, principal_headers, HEADER + GOOD_ROWS + BAD_ROWS)
    assert response.status_code == 422 and response.json()["code"] == "import_has_errors"
    problems = {(e["row"], e["field"]) for e in response.json()["errors"]}
    assert problems == {(4, "amount"), (5, "payer.name"), (6, "currency"), (7, "due_date")}
    assert count(payments_client, principal_headers) == 0
    # Asked to, it imports the good rows and still reports the bad ones.
    partial = post(
        payments_client, principal_headers, HEADER + GOOD_ROWS + BAD_ROWS, import_valid_rows="true"
    )
    assert (
        partial.status_code == 200 and partial.json()["imported"] == 2 and len(partial.json()["errors"]) == 4
    )
    assert count(payments_client, principal_headers) == 2


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"payer_name,amount\nA,1\n", 400, "missing columns"),
        ((HEADER.strip() + ",colour\n").encode(), 400, "unknown columns: colour"),
        (b"\xff\xfe", 400, "not UTF-8"),
        ((HEADER + "A,,,d,c,1,EUR\n").encode(), 422, "wrong number of columns"),
    ],
)
def test_unreadable_files_are_refused_clearly(
    payments_client: TestClient, principal_headers: Headers, body: bytes, status: int, needle: str
) -> None:
    response = payments_client.post(
        "/v1/payment-requests/import",
        content=body,
        headers={**principal_headers("officer"), "content-type": "text/csv"},
    )
    assert response.status_code == status and needle in response.text


def test_command_line_import(
    payments_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from services.payments import cli

    monkeypatch.setenv("TESSERA_PAYMENTS_DATABASE_URL", payments_settings.resolved_database_url())
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    args = parser.parse_args(["payment-requests", "import", str(bad)])
    assert args.func(args) == 1
    assert "line 4: amount" in capsys.readouterr().err
    args = parser.parse_args(["payment-requests", "import", str(bad), "--import-valid"])
    assert args.func(args) == 0
    out = capsys.readouterr()
    assert out.out.count("RF") == 2 and "Imported 2 of 6 rows" in out.err
    missing = parser.parse_args(["payment-requests", "import", str(tmp_path / "none.csv")])
    assert missing.func(missing) == 2
