"""``tessera keys create|list|revoke``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gateway import service
from services.cli import main
from services.common.identity import Role


@pytest.fixture(autouse=True)
def _gateway_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("TESSERA_GATEWAY_DATABASE_URL", database_url)


def test_create_prints_the_key_once_and_it_authenticates(
    capsys: pytest.CaptureFixture[str], session: Session
) -> None:
    assert main(["keys", "create", "--role", "supplier", "--name", "Acme", "--supplier", "BE0123456789"]) == 0
    out = capsys.readouterr().out
    key = out.strip().splitlines()[-1]
    principal = service.authenticate(session, presented=key)
    assert (principal.role, principal.supplier_id, principal.name) == (Role.SUPPLIER, "BE0123456789", "Acme")

    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert principal.key_id in listing and "BE0123456789" in listing
    assert service.parse_key(key).secret not in listing


def test_revoke_then_list_active(capsys: pytest.CaptureFixture[str], session: Session) -> None:
    key, _ = service.create_key(session, name="Clerk", role=Role.OFFICER)
    session.commit()
    assert main(["keys", "revoke", str(key.id)]) == 0
    assert "revoked at" in capsys.readouterr().out
    assert main(["keys", "list", "--active"]) == 0
    assert str(key.id) not in capsys.readouterr().out


def test_errors_are_clear_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--role", "supplier", "--name", "Acme"]) == 1
    assert "supplier identity" in capsys.readouterr().err
    assert main(["keys", "revoke", "not-a-uuid"]) == 1
    assert "not a key id" in capsys.readouterr().err
    assert main(["keys", "revoke", "5d1c0b8e-1b5d-4c43-9f43-4b9a1d1f0c11"]) == 1
    assert "No API key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "root", "--name", "x"])


def test_unmigrated_database_names_the_fix(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("TESSERA_GATEWAY_DATABASE_URL", f"sqlite:///{empty}")
    assert main(["keys", "list"]) == 1
    assert "migrate" in capsys.readouterr().err


def test_missing_sqlite_file_is_not_created(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "gateway.db"
    monkeypatch.setenv("TESSERA_GATEWAY_DATABASE_URL", f"sqlite:///{missing}")
    assert main(["keys", "list"]) == 1
    assert "no gateway database" in capsys.readouterr().err
    assert not missing.exists()
