"""``tessera receipts ...``: the chain check names the first broken link; statements, sandbox payouts,
a run and a daily close from the command line."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from services.common.db import Database
from services.receipts import cli, service
from services.receipts.service import Issuing
from services.receipts.signing import ReceiptSigner
from tests.receipts.test_reconciliation import DAY1, receipt_on, simulate
from tests.receipts.test_service import DEC_30, JAN_2, at, issue, paid, refunded, rows, tamper


def tessera_receipts(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tessera")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["receipts", *argv])
    code: int = args.func(args)
    return code


@pytest.fixture
def public_key(tmp_path: Path, signer: ReceiptSigner) -> Path:
    path = tmp_path / "receipts-public.pem"
    path.write_bytes(signer.public_pem())
    return path


def test_verify_chain_names_the_first_broken_link(
    database: Database,
    issuing: Issuing,
    receipts_db_url: str,
    public_key: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for amount in (100, 200, 300, 400):
        receipt_on(database, issuing, DAY1, amount)
    check = ("verify-chain", "--database-url", receipts_db_url, "--public-key", str(public_key))
    assert tessera_receipts(*check) == 0
    assert "intact, 4 receipts" in capsys.readouterr().out

    third = rows(database)[2]
    record = json.loads(bytes(third.record))
    record["purpose"]["description"] = "Something else"
    altered = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    key = third.id.hex if database.engine.dialect.name == "sqlite" else third.id
    tamper(database, "UPDATE receipts SET record = :r WHERE id = :id", r=altered, id=key)
    assert tessera_receipts(*check) == 1
    out = capsys.readouterr().out
    assert "BROKEN after 2 good receipts: receipt number 3: altered_content" in out


def test_verify_chain_with_a_key_that_did_not_sign_is_a_failure(
    database: Database,
    issuing: Issuing,
    receipts_db_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receipt_on(database, issuing, DAY1, 100)
    other = tmp_path / "other.pem"
    other.write_bytes(ReceiptSigner.development(tmp_path / "other").public_pem())
    assert (
        tessera_receipts("verify-chain", "--database-url", receipts_db_url, "--public-key", str(other)) == 1
    )
    assert "unknown_key" in capsys.readouterr().out
    missing = tmp_path / "missing.pem"
    assert (
        tessera_receipts("verify-chain", "--database-url", receipts_db_url, "--public-key", str(missing)) == 2
    )


def test_statement_payouts_reconcile_and_close_from_the_command_line(
    database: Database,
    issuing: Issuing,
    receipts_db_url: str,
    tmp_path: Path,
    public_key: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receipt_on(database, issuing, DAY1, 1500)
    url = ("--database-url", receipts_db_url)
    statement = tmp_path / "march.xml"
    assert (
        tessera_receipts("simulate-payouts", "--day", DAY1.isoformat(), "--statement", str(statement), *url)
        == 0
    )
    assert "po_sbx_20260310_EUR: 1500 EUR arriving 2026-03-12" in capsys.readouterr().out
    (payout,) = simulate(database, DAY1)  # already there: returned, not made twice
    written = statement.read_bytes()
    assert b"<EndToEndId>po_sbx_20260310_EUR</EndToEndId>" in written and b'Ccy="EUR">15.00<' in written
    assert payout.payout_id == "po_sbx_20260310_EUR"
    assert tessera_receipts("import-statement", str(statement), *url) == 0
    assert "camt.053, 1 entries, 1 new" in capsys.readouterr().out
    bad = tmp_path / "bad.sta"
    bad.write_text(":20:X\n:25:NOT-AN-ACCOUNT\n")
    assert tessera_receipts("import-statement", str(bad), *url) == 1
    assert "nothing was imported" in capsys.readouterr().err
    assert tessera_receipts("reconcile", "--as-of", "2026-03-20", "--from", "2026-03-01", *url) == 0
    out = capsys.readouterr().out
    assert "receipt     matched" in out and "payout      matched" in out
    today = datetime.now(ZoneInfo("Europe/Rome")).date().isoformat()  # the municipality's day
    assert tessera_receipts("close-day", "--day", today, *url) == 0
    assert "1 receipts, 0 credits, numbers 1-1, total 1500" in capsys.readouterr().out
    assert tessera_receipts("close-day", "--day", today, *url) == 1
    assert "already closed" in capsys.readouterr().err

    # The close pins the hash of the day's last receipt: a series rewritten afterwards (or a close
    # edited) no longer agrees with it.
    check = ("verify-chain", *url, "--public-key", str(public_key))
    assert tessera_receipts(*check) == 0
    with database.engine.begin() as connection:
        connection.execute(sa.text("UPDATE daily_closes SET last_hash = :h"), {"h": "f" * 64})
    assert tessera_receipts(*check) == 1
    assert "DAILY CLOSE MISMATCH" in capsys.readouterr().out


def test_verify_chain_passes_over_a_refund_across_the_new_year(
    database: Database,
    issuing: Issuing,
    receipts_db_url: str,
    public_key: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    at(monkeypatch, DEC_30)
    payment_id = uuid.uuid4()
    issue(database, issuing, paid(payment_id, paid_at=DEC_30.isoformat()))
    at(monkeypatch, JAN_2)
    with database.sessionmaker() as session:
        service.issue_credit(session, data=refunded(payment_id, 4000), issuing=issuing)
        session.commit()
    check = ("verify-chain", "--database-url", receipts_db_url, "--public-key", str(public_key))
    assert tessera_receipts(*check) == 0
    out = capsys.readouterr().out
    assert f"{issuing.series_code}-2025: intact, 1 receipts" in out
    assert f"{issuing.series_code}-2026: intact, 1 receipts" in out
