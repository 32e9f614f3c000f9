"""Bank statements (camt.053, MT940) and CSV imports of payment requests that are truncated,
duplicated, mis-encoded or hostile, sent to the upload endpoints of the real apps on SQLite and
PostgreSQL (and the CSV also to ``tessera payment-requests import``): each is refused with errors
that name their line, and no row of any table is written by a refused file.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.receipts.test_statements import MT940, camt053
from tests.resilience.test_hostile_xml import Canary, canary, row_counts

__all__ = ["canary"]  # the fixture, shared with the XML corpus tests

Headers = Callable[..., dict[str, str]]
SECONDS = 10.0
STATEMENTS = "/v1/reconciliation/statements"
IMPORT = "/v1/payment-requests/import"
CSV_HEADER = "payer_name,payer_tax_code,payer_email,description,category,amount,currency,due_date\n"
CSV_ROW = "Maria Rossi,RSSMRA80A01H501U,maria@example.org,Waste tax,TARI,120.00,EUR,2099-12-31\n"


def _camt_with_doctype(canary_url: str) -> bytes:
    head = f'<?xml version="1.0"?>\n<!DOCTYPE Document [<!ENTITY x SYSTEM "{canary_url}/camt">]>\n'
    text = camt053().split("\n", 1)[1].replace("Commissioni bancarie", "&x;")
    return head.encode() + text.encode()


def _camt_billion_laughs() -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    text = camt053().split("\n", 1)[1].replace("Commissioni bancarie", "&a9;")
    return f"<!DOCTYPE Document [{entities}]>\n".encode() + text.encode()


def _camt_duplicate_entry() -> bytes:
    text = camt053()
    start, end = text.index("<Ntry>"), text.index("</Ntry>") + len("</Ntry>")
    return (text[:end] + text[start:end] + text[end:]).encode()


def statement_corpus(canary_url: str) -> dict[str, bytes]:
    camt = camt053().encode()
    mt940 = MT940.encode()
    return {
        "camt-xxe": _camt_with_doctype(canary_url),
        "camt-billion-laughs": _camt_billion_laughs(),
        "camt-truncated": camt[: len(camt) * 2 // 3],
        "camt-duplicate-entry": _camt_duplicate_entry(),
        "camt-invalid-utf8": camt.replace(b"Commissioni", b"Commissioni \xff\xfe\xc3"),
        "camt-latin1-declared-utf8": camt053().encode("latin-1"),  # "Città" in one byte, declared UTF-8
        "camt-nul-bytes": camt.replace(b"Commissioni", b"Commis\0sioni"),
        "camt-huge-line": camt.replace(b"Commissioni bancarie", b"x" * (11 * 1024 * 1024)),
        "camt-not-camt": b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"/>',
        "mt940-truncated": mt940[: len(mt940) // 2],
        "mt940-duplicated-statement": mt940 + mt940,
        "mt940-latin1": MT940.replace("Commissioni bancarie", "Commissioni più alte").encode("latin-1"),
        "mt940-utf16": MT940.encode("utf-16"),
        "mt940-nul-bytes": mt940.replace(b":86:Storno", b":86:Sto\0rno"),
        "mt940-huge-line": mt940.replace(b":86:Storno", b":86:" + b"S" * (5 * 1024 * 1024)),
        "binary": bytes(range(256)) * 64,
        "empty": b"",
    }


@pytest.fixture
def officer(principal_headers: Headers) -> dict[str, str]:
    return principal_headers("officer")


def test_every_hostile_statement_is_refused_line_by_line_and_stores_nothing(
    receipts_client: TestClient, receipts_settings: Any, officer: dict[str, str], canary: Canary
) -> None:
    url = receipts_settings.resolved_database_url()
    before = row_counts(url)
    corpus = statement_corpus(canary.url)
    slowest = 0.0
    for name, data in corpus.items():
        started = time.monotonic()
        answer = receipts_client.post(f"{STATEMENTS}?filename={name}", content=data, headers=officer)
        slowest = max(slowest, time.monotonic() - started)
        assert answer.status_code in (413, 422), f"{name}: {answer.status_code} {answer.text[:300]}"
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json"), name
        if answer.status_code == 422:
            assert problem["errors"], name
            assert all(e["message"] for e in problem["errors"]), name
            assert any(e["line"] for e in problem["errors"]) or name in ("binary", "empty", "mt940-utf16"), (
                name,
                problem["errors"][:3],
            )
        assert row_counts(url) == before, f"{name} left rows behind"
    assert slowest < SECONDS
    print(f"\nstatements: {len(corpus)} hostile files refused, slowest {slowest:.2f} s")


def test_a_statement_uploaded_twice_is_stored_once(
    receipts_client: TestClient, receipts_settings: Any, officer: dict[str, str]
) -> None:
    url = receipts_settings.resolved_database_url()
    for data in (camt053().encode(), MT940.encode()):
        first = receipts_client.post(STATEMENTS, content=data, headers=officer)
        assert first.status_code == 201, first.text
        after_first = row_counts(url)
        again = receipts_client.post(STATEMENTS, content=data, headers=officer)
        assert again.status_code in (200, 201) and again.json()["already_imported"] is True
        assert row_counts(url) == after_first


def test_an_oversized_statement_is_refused_before_it_is_read(
    receipts_client: TestClient, receipts_settings: Any, officer: dict[str, str]
) -> None:
    url = receipts_settings.resolved_database_url()
    before = row_counts(url)
    big = camt053().encode().replace(b"Commissioni bancarie", b"x" * (21 * 1024 * 1024))
    answer = receipts_client.post(STATEMENTS, content=big, headers=officer)
    assert answer.status_code == 413, answer.text[:300]
    assert row_counts(url) == before


# ---- CSV imports of payment requests ------------------------------------------------------------


def csv_corpus() -> dict[str, bytes]:
    good = CSV_HEADER + CSV_ROW
    return {
        "truncated-in-quotes": (good + 'Bo,,,"Unclosed quote,SCHOOL,10,EUR,2099-12-31\n').encode(),
        "truncated-row": (good + "Bo,,,Fee,SCHO").encode(),
        "latin1": (good + "Niccolò Bianchi,,,Fee,SCHOOL,10,EUR,2099-12-31\n").encode("latin-1"),
        "utf16": good.encode("utf-16"),
        "nul-in-cell": (good + "Bo\0b,,,Fee,SCHOOL,10,EUR,2099-12-31\n").encode(),
        "huge-line": (good + "Bo,,," + "F" * 200_000 + ",SCHOOL,10,EUR,2099-12-31\n").encode(),
        "huge-description": (good + "Bo,,," + "F" * 50_000 + "x,SCHOOL,10,EUR,2099-12-31\n").encode(),
        "formula-equals": (
            good + '=HYPERLINK("http://evil.test","Pay"),,,Fee,SCHOOL,10,EUR,2099-12-31\n'
        ).encode(),
        "formula-plus": (good + "Bo,,,+cmd|' /C calc'!A0,SCHOOL,10,EUR,2099-12-31\n").encode(),
        "formula-at": (good + "Bo,,,@SUM(1+1)*cmd|' /C calc'!A0,SCHOOL,10,EUR,2099-12-31\n").encode(),
        "formula-minus": (good + "Bo,,,-2+3+cmd|' /C calc'!A0,SCHOOL,10,EUR,2099-12-31\n").encode(),
        "formula-tab": (good + "Bo,,,Fee,\t=1+1,10,EUR,2099-12-31\n").encode(),
        "too-many-columns": (good + "Bo,,,Fee,SCHOOL,10,EUR,2099-12-31,extra\n").encode(),
        "header-only-wrong": b"name;amount\nBo;10\n",
        "binary": bytes(range(256)) * 16,
        "empty": b"",
    }


def _import(client: TestClient, headers: dict[str, str], data: bytes, **params: str) -> Any:
    return client.post(IMPORT, content=data, params=params, headers={**headers, "content-type": "text/csv"})


def test_every_hostile_csv_is_refused_with_its_line_and_imports_nothing(
    payments_client: TestClient, payments_settings: Any, officer: dict[str, str]
) -> None:
    url = payments_settings.resolved_database_url()
    before = row_counts(url)
    corpus = csv_corpus()
    for name, data in corpus.items():
        answer = _import(payments_client, officer, data)
        assert answer.status_code in (400, 413, 422), f"{name}: {answer.status_code} {answer.text[:300]}"
        assert answer.headers["content-type"].startswith("application/problem+json"), name
        problem = answer.json()
        assert problem["detail"], name
        if answer.status_code == 422:
            assert problem["errors"] and all(e["row"] > 1 and e["message"] for e in problem["errors"]), name
        assert row_counts(url) == before, f"{name} left rows behind"
    print(f"\nCSV imports: {len(corpus)} hostile files refused")


def test_formulas_are_named_per_line_even_when_importing_the_valid_rows(
    payments_client: TestClient, payments_settings: Any, officer: dict[str, str]
) -> None:
    data = (
        CSV_HEADER
        + CSV_ROW
        + '=HYPERLINK("http://evil.test"),,,Fee,SCHOOL,10,EUR,2099-12-31\n'
        + "Bo,,,@SUM(A1),SCHOOL,10,EUR,2099-12-31\n"
    ).encode()
    answer = _import(payments_client, officer, data, import_valid_rows="true")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["imported"] == 1
    assert {(e["row"], e["field"]) for e in report["errors"]} == {(3, "payer_name"), (4, "description")}
    assert all("formula" in e["message"] for e in report["errors"])


def test_a_byte_order_mark_is_not_an_error(
    payments_client: TestClient, payments_settings: Any, officer: dict[str, str]
) -> None:
    answer = _import(payments_client, officer, ("\ufeff" + CSV_HEADER + CSV_ROW).encode())
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 1


def test_the_command_refuses_the_same_files_and_imports_nothing(
    payments_settings: Any, tmp_path: Path, db_backend: str
) -> None:
    if db_backend != "sqlite":
        pytest.skip("the command is the same code on either database; run once")
    url = payments_settings.resolved_database_url()
    before = row_counts(url)
    tessera = str(Path(sys.executable).with_name("tessera"))
    env = {"TESSERA_PAYMENTS_DATABASE_URL": url, "TESSERA_ENVIRONMENT": "test", "PATH": "/usr/bin:/bin"}
    # The command shares check_rows with the endpoint, which gets the whole corpus above: one case
    # of each kind here (a process start is a second each).
    chosen = ("truncated-in-quotes", "latin1", "nul-in-cell", "formula-equals", "huge-line", "binary")
    for name, data in ((n, d) for n, d in csv_corpus().items() if n in chosen):
        path = tmp_path / f"{name}.csv"
        path.write_bytes(data)
        run = subprocess.run(
            [tessera, "payment-requests", "import", str(path), "--json"],
            capture_output=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert run.returncode != 0, f"{name}: {run.stdout.decode()[:300]}"
        assert b"Traceback" not in run.stderr, f"{name}: {run.stderr.decode()[-800:]}"
        assert run.stderr.strip() or run.stdout.strip(), name
        assert row_counts(url) == before, f"{name} left rows behind"
