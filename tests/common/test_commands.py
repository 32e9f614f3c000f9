"""``tessera migrate`` and ``tessera relay``."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common import commands
from services.common.db import Database
from services.common.outbox import Outbox, Subscriptions, record_event
from services.invoicing.models import OUTBOX_TABLES


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tessera")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    code: int = args.func(args)
    return code


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrate_one_database_at_a_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert run("migrate", "payments", "--url", url) == 0
    assert {"payments", "outbox_events", "outbox_deliveries", "inbox_events", "alembic_version"} <= tables(
        url
    )
    assert "payments: at head" in capsys.readouterr().out


def test_migrate_uses_the_service_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    monkeypatch.setenv("TESSERA_RECEIPTS_DATABASE_URL", url)
    assert run("migrate", "receipts") == 0
    assert "receipts" in tables(url)


def test_migrate_refuses_unknown_databases_and_ambiguous_urls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("migrate", "ledger") == 2
    assert "no [ledger] section" in capsys.readouterr().err
    assert run("migrate", "payments", "receipts", "--url", f"sqlite:///{tmp_path / 'x.db'}") == 2
    assert "exactly one DATABASE" in capsys.readouterr().err


def test_migrate_reports_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    assert run("migrate", "payments", "--url", url) == 1
    assert "payments:" in capsys.readouterr().err


def test_relay_once_delivers_what_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'i.db'}"
    assert run("migrate", "invoicing", "--url", url) == 0
    monkeypatch.setenv("TESSERA_INVOICING_DATABASE_URL", url)
    assert run("relay", "invoicing", "--once") == 0
    assert "invoicing: 0 delivered, 0 failed" in capsys.readouterr().out

    database = Database(url)
    with database.sessionmaker() as session:  # a subscriber nobody listens for
        outbox = Outbox(OUTBOX_TABLES, Subscriptions.parse("http://127.0.0.1:9/hook"))
        record_event(session, outbox, event_type="invoice.accepted", resource_id="i1", payload={})
        session.commit()
    database.dispose()
    monkeypatch.setenv("TESSERA_INVOICING_RELAY_TIMEOUT_SECONDS", "2")
    assert run("relay", "invoicing", "--once") == 0
    assert "invoicing: 0 delivered, 1 failed" in capsys.readouterr().out


def test_relay_names_the_services() -> None:
    with pytest.raises(SystemExit):
        run("relay", "ledger")


def test_standalone_relay_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert run("migrate", "payments", "--url", url) == 0
    env = {
        **os.environ,
        "TESSERA_PAYMENTS_DATABASE_URL": url,
        "TESSERA_PAYMENTS_RELAY_INTERVAL_SECONDS": "0.05",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "relay", "payments"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = process.stdout.readline()  # once the handlers are in place
        assert "delivering; SIGINT or SIGTERM stops it" in started
        time.sleep(0.3)
        assert process.poll() is None  # still running, waiting for events
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
