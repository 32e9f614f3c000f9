"""Database plumbing shared by the services: one declarative base per service, engines built in
``lifespan`` from a URL (SQLite by default, PostgreSQL when configured), and the request-scoped
session that commits at the edge.

Services and repositories only ``add`` and ``flush``; :func:`request_session` commits once the
endpoint has returned and before the response leaves, or rolls back on any error.
"""

from __future__ import annotations

import functools
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import DateTime, Dialect, Engine, MetaData, Uuid, create_engine, event, exc, text
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from starlette.concurrency import run_in_threadpool

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_metadata() -> MetaData:
    """Each service database gets its own MetaData (and so its own migrations)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend. PostgreSQL keeps the zone itself; SQLite
    stores naive text, so values are normalised to UTC on the way in and marked UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # A naive value is taken to be UTC already (what utcnow-style code means by it).
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets WAL, foreign keys and a busy timeout so that several
    threads of one process (and the outbox relay) can share the file safely."""
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if is_sqlite(url):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if not is_sqlite(url):
        _ping_after_idle(engine)
    if is_sqlite(url):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _sqlite_savepoint_inside_a_transaction(connection: Any, _name: str) -> None:
            # The sqlite3 module opens a transaction only before a write, so a SAVEPOINT issued
            # before any write would itself become the outermost transaction and its RELEASE
            # would commit everything. Open the real transaction first.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")

    return engine


# A pooled connection unused for longer than this is checked with a round trip before it is
# handed out; see _ping_after_idle.
IDLE_PING_SECONDS = 10.0


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled connection before use only if it sat idle in the pool for a while.

    SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout, a sizeable share of a
    short request. A connection that was in use a moment ago is alive; one that waited in the
    pool may belong to a server that restarted or a firewall that dropped it, and gets the
    ping. A connection that dies under load anyway fails one statement; SQLAlchemy recognises
    the disconnect and discards the whole pool, and the next checkouts connect afresh.
    """

    @event.listens_for(engine, "checkin")
    def _stamp(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return  # new, or back in the pool only a moment ago
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except Exception as error:  # noqa: BLE001  (any failure: the connection is unusable)
            # The pool drops this connection and hands out a fresh one instead.
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


class Database:
    """An engine and its session factory, owned by an app's lifespan."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = build_engine(url, echo=echo)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001  (readiness reports any failure as not ready)
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _discard(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def request_session(request: Request) -> AsyncIterator[Session]:
    """One session per request: commit when the endpoint succeeded, roll back on any error.

    ``async`` so that opening the session (no I/O: the connection is taken at the first
    statement) costs no thread-pool hop. A plain ``def`` endpoint on a :class:`SessionRoute`
    has committed already, in its own worker thread, and closing costs nothing; otherwise the
    commit or the rollback, which talk to the database, run in the pool in a single hop.
    """
    database: Database = request.app.state.database
    session = database.sessionmaker()
    try:
        yield session
    except BaseException:
        # Shielded: a request cancelled by a client that went away still hands its connection
        # back clean.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_discard, session)
        raise
    if session.in_transaction():
        await run_in_threadpool(_commit, session)
    else:
        session.close()  # committed by SessionRoute, or never used: nothing to tell the database


# scope="function": the commit happens before the response is sent, so a client never sees
# success for a change that then failed to commit.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        result = endpoint(*args, **kwargs)
        for value in kwargs.values():
            if isinstance(value, Session) and value.in_transaction():
                value.commit()
        return result

    return run


class SessionRoute(APIRoute):
    """A route whose plain ``def`` endpoint commits its request session (:data:`SessionDep`)
    in the endpoint's own worker thread, as soon as it returns.

    FastAPI runs a ``def`` endpoint in the thread pool; the session dependency's exit would
    then need a second hop to commit. Each hop costs more CPU than a short statement, so the
    commit rides along with the endpoint. The rule stays the same: commit once, at the edge,
    after the endpoint succeeded; an exception (from the endpoint or from the commit) reaches
    :func:`request_session`, which rolls back.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)
