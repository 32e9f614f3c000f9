"""SQLite behaves transactionally the way PostgreSQL does: a savepoint released before any write
does not commit the outer transaction, and a rollback undoes everything since BEGIN."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import (
    JSON,
    Column,
    Engine,
    Enum,
    Integer,
    Table,
    Uuid,
    bindparam,
    create_engine,
    event,
    exc,
    func,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from services.common import db
from services.common.db import Database, SessionDep, SessionRoute, build_engine
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


def _session_app(tmp_path: Path) -> tuple[FastAPI, Database, list[tuple[str, int]]]:
    """An app with one table and routes on SessionRoute, recording which thread did what."""
    database = Database(f"sqlite:///{tmp_path / 'routes.db'}")
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
    seen: list[tuple[str, int]] = []
    event.listen(
        database.sessionmaker, "after_commit", lambda session: seen.append(("commit", threading.get_ident()))
    )
    router = APIRouter(route_class=SessionRoute)

    @router.post("/notes")
    def add(body: str, session: SessionDep) -> dict[str, str]:
        seen.append(("endpoint", threading.get_ident()))
        session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
        if body == "boom":
            raise RuntimeError("the endpoint failed after writing")
        return {"stored": body}

    @router.post("/async-notes")
    async def add_async(body: str, session: SessionDep) -> dict[str, str]:
        session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
        return {"stored": body}

    app = FastAPI()
    app.state.database = database
    app.include_router(router)
    return app, database, seen


def _notes(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT body FROM notes ORDER BY body")).scalars())


def test_a_plain_endpoint_on_a_session_route_commits_in_its_own_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, database, seen = _session_app(tmp_path)
    extra_hops: list[str] = []
    hop = db.run_in_threadpool  # type: ignore[attr-defined]

    async def counted(function: Any, *args: Any) -> Any:
        extra_hops.append(function.__name__)
        return await hop(function, *args)

    monkeypatch.setattr(db, "run_in_threadpool", counted)
    with TestClient(app) as client:
        assert client.post("/notes", params={"body": "kept"}).json() == {"stored": "kept"}
        assert extra_hops == []  # committed in the endpoint's thread, not in a hop of its own
        assert seen[0][0] == "endpoint" and seen[1] == ("commit", seen[0][1])
        assert client.post("/async-notes", params={"body": "kept too"}).status_code == 200
        assert extra_hops == ["_commit"]  # an async endpoint's session commits in one hop
    assert _notes(database) == ["kept", "kept too"]
    database.dispose()


def test_an_endpoint_on_a_session_route_that_fails_stores_nothing(tmp_path: Path) -> None:
    app, database, seen = _session_app(tmp_path)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/notes", params={"body": "boom"}).status_code == 500
    assert _notes(database) == []
    assert [what for what, _ in seen] == ["endpoint"]
    database.dispose()


def test_a_session_route_hands_every_connection_back(tmp_path: Path) -> None:
    """The route closes the sessions it opens, after success and after failure alike."""
    app, database, _ = _session_app(tmp_path)
    used: list[Session] = []  # kept alive here, so that nothing is handed back by being collected
    event.listen(database.sessionmaker, "after_begin", lambda session, *_: used.append(session))
    with TestClient(app, raise_server_exceptions=False) as client:
        for body in ("one", "boom", "two", "boom"):
            client.post("/notes", params={"body": body})
    assert len(used) == 4
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _notes(database) == ["one", "two"]
    database.dispose()


# --- Precompiled: Core statements run on the driver's cursor ------------------------------------

_metadata = db.new_metadata()


class _Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


_things = Table(
    "things",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ref", Uuid, nullable=False, unique=True),
    Column(
        "colour", Enum(_Colour, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e])
    ),
    Column("at", db.UtcDateTime, nullable=False),
    Column("data", JSON, nullable=False),
)


def _insert_thing(dialect: str) -> Any:
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {c: bindparam(c, type_=_things.c[c].type) for c in ("ref", "colour", "at", "data")}
    return insert_(_things).values(values).on_conflict_do_nothing().returning(_things.c.id)


_INSERT_THING = db.Precompiled(_insert_thing)
_PLAIN_INSERT = db.Precompiled(
    lambda _: _things.insert().values(
        ref=bindparam("ref"), colour=bindparam("colour"), at=bindparam("at"), data=bindparam("data")
    )
)
_COLOUR_OF = db.Precompiled(lambda _: select(_things.c.colour).where(_things.c.ref == bindparam("ref")))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'things.db'}")
    else:
        database = Database(request.getfixturevalue("postgres_url"))
    _metadata.create_all(database.engine)
    yield database
    _metadata.drop_all(database.engine)
    database.dispose()


def test_a_precompiled_statement_converts_values_as_its_column_types_do(any_database: Database) -> None:
    ref = uuid.uuid4()
    at = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)
    with any_database.sessionmaker() as session:
        row = _INSERT_THING.first(
            session, {"ref": ref, "colour": _Colour.BLUE, "at": at, "data": {"n": [1, 2]}}
        )
        assert row is not None
        again = _INSERT_THING.first(session, {"ref": ref, "colour": _Colour.RED, "at": at, "data": {}})
        assert again is None  # ON CONFLICT DO NOTHING: nothing inserted, nothing returned
        session.commit()
    with any_database.sessionmaker() as session:
        # Read back through the ORM's usual path: what the driver stored is what Core would have.
        stored = session.execute(select(_things)).one()
        assert (stored.id, stored.ref, stored.colour, stored.at, stored.data) == (
            row[0],
            ref,
            _Colour.BLUE,
            at,
            {"n": [1, 2]},
        )
        assert _COLOUR_OF.first(session, {"ref": ref}) == ("blue",)


def test_a_precompiled_statement_runs_in_the_sessions_transaction(any_database: Database) -> None:
    with any_database.sessionmaker() as session:
        _INSERT_THING.first(
            session, {"ref": uuid.uuid4(), "colour": None, "at": datetime.now(UTC), "data": {}}
        )
        session.rollback()
        assert session.execute(select(func.count()).select_from(_things)).scalar() == 0


def test_a_precompiled_statements_driver_error_is_raised_as_sqlalchemys(any_database: Database) -> None:
    ref = uuid.uuid4()
    values = {"ref": ref, "colour": "red", "at": datetime.now(UTC), "data": {}}
    with any_database.sessionmaker() as session:
        _PLAIN_INSERT.execute(session, dict(values))
        with pytest.raises(exc.IntegrityError):
            _PLAIN_INSERT.execute(session, dict(values))
        session.rollback()
