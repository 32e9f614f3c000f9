"""SQLite behaves transactionally the way PostgreSQL does: a savepoint released before any write
does not commit the outer transaction, and a rollback undoes everything since BEGIN."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from services.common import db
from services.common.db import build_engine
from tests.dbtools import (
    admin_url,
    create_postgres_database,
    drop_postgres_database,
    postgres_required,
    postgres_unavailable,
)


def test_sqlite_savepoint_does_not_commit_the_outer_transaction(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'tx.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with Session(engine) as session:
        with session.begin_nested():
            session.execute(text("INSERT INTO t VALUES (1)"))
        session.execute(text("INSERT INTO t VALUES (2)"))
        session.rollback()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 0
    engine.dispose()


def test_sqlite_savepoint_rollback_keeps_the_outer_work(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'tx.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    with Session(engine) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        nested = session.begin_nested()
        session.execute(text("INSERT INTO t VALUES (2)"))
        nested.rollback()
        session.commit()
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
    engine.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    reason = postgres_unavailable()
    if reason is not None:
        if postgres_required():
            pytest.fail(reason)
        pytest.skip(reason)
    url = create_postgres_database("db")
    yield url
    drop_postgres_database(url)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        pid: int = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
        return pid


def _terminate(pid: int) -> None:
    admin = create_engine(admin_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_idle_in_the_pool_is_checked_and_replaced_when_the_server_dropped_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = build_engine(postgres_url)
    first = _backend_pid(engine)
    _terminate(first)
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # everything counts as idle
    assert _backend_pid(engine) != first  # no error: the dead connection was replaced
    engine.dispose()


def test_a_connection_back_in_the_pool_a_moment_ago_is_used_without_a_ping(postgres_url: str) -> None:
    engine = build_engine(postgres_url)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    first = _backend_pid(engine)
    assert _backend_pid(engine) == first
    assert statements == ["SELECT pg_backend_pid()"] * 2  # nothing else went to the server
    # The price: a connection the server dropped a moment ago fails one statement, and the
    # engine then discards the pool, so the next one connects afresh.
    _terminate(first)
    with pytest.raises(exc.OperationalError):
        _backend_pid(engine)
    assert _backend_pid(engine) != first
    engine.dispose()
