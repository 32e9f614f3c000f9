"""Database plumbing shared by the services: one declarative base per service, engines built in
``lifespan`` from a URL (SQLite by default, PostgreSQL when configured), and the request-scoped
session that commits at the edge.

Services and repositories only ``add`` and ``flush``; :func:`request_session` commits once the
endpoint has returned and before the response leaves, or rolls back on any error.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import anyio
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from sqlalchemy import (
    ClauseElement,
    DateTime,
    Dialect,
    Engine,
    Insert,
    MetaData,
    Table,
    Uuid,
    bindparam,
    create_engine,
    event,
    exc,
    insert,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
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
    statement) costs no thread-pool hop; the commit or the rollback, which talk to the
    database, run in the pool in a single hop. (A plain ``def`` endpoint on a
    :class:`SessionRoute` gets its session from that route instead, which does all this in
    the endpoint's own worker thread.)
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
        session.close()  # never used: nothing to tell the database


# scope="function": the commit happens before the response is sent, so a client never sees
# success for a change that then failed to commit.
SessionDep = Annotated[Session, Depends(request_session, scope="function")]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # parameter names in SQL order, for a positional paramstyle
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # the types' bind conversions


def insert_every_column(table: Table) -> Insert:
    """INSERT of one row, a bound value per column, named as the column (for :class:`Precompiled`)."""
    return insert(table).values({c.name: bindparam(c.name, type_=c.type) for c in table.c})


class Precompiled:
    """A Core statement compiled once per dialect and executed on the DBAPI cursor of the
    session's connection, in the session's transaction.

    For the few statements a busy endpoint runs on every request: SQLAlchemy's execution
    path (cache key, execution context, result object) costs about three times the driver's
    own work for a short statement (measured: 190 k against 50 k instructions for an INSERT
    on PostgreSQL). The statement is still written with Core and its column types still
    convert the values (UUIDs, enums, UTC timestamps, JSON); driver errors are raised as
    SQLAlchemy's (so a database that went away is still a 503), and a dropped connection is
    invalidated as SQLAlchemy would. ``build`` gets the dialect's name.
    """

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self._build(dialect.name).compile(dialect=dialect))
        processors = []
        for bind, name in compiled.bind_names.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        order = tuple(compiled.positiontup) if compiled.positiontup else None
        made = self._compiled[dialect.name] = _Compiled(compiled.string, order, tuple(processors))
        return made

    def _run(self, session: Session, params: dict[str, Any]) -> tuple[Any, Any]:
        connection = session.connection()
        dialect = connection.dialect
        compiled = self._compiled.get(dialect.name) or self._compile(dialect)
        for name, process in compiled.processors:
            params[name] = process(params[name])
        arguments = params if compiled.order is None else tuple(params[name] for name in compiled.order)
        raw = connection.connection
        cursor = raw.cursor()
        try:
            cursor.execute(compiled.sql, arguments)
        except dialect.loaded_dbapi.Error as error:
            cursor.close()
            disconnected = dialect.is_disconnect(error, raw.dbapi_connection, cursor)
            if disconnected:
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                compiled.sql,
                arguments,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=disconnected,
                dialect=dialect,
            ) from error
        return cursor, arguments

    def execute(self, session: Session, params: dict[str, Any]) -> None:
        """Run the statement (``params`` is converted in place)."""
        cursor, _ = self._run(session, params)
        cursor.close()

    def first(self, session: Session, params: dict[str, Any]) -> Any | None:
        """The first row the statement returned, or None."""
        cursor, _ = self._run(session, params)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()


async def _route_session(request: Request) -> Session:
    """A new session for a :class:`SessionRoute` endpoint, which commits, rolls back and closes
    it itself (no I/O here: the connection is taken at the first statement)."""
    database: Database = request.app.state.database
    return database.sessionmaker()


_RouteSessionDep = Annotated[Session, Depends(_route_session)]


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that runs it in a worker thread of the event loop's executor
    and there commits its request session (rolls back on any error) and closes it."""
    signature = inspect.signature(endpoint, eval_str=True)
    owned = [name for name, p in signature.parameters.items() if p.annotation is SessionDep]
    signature = signature.replace(
        parameters=[
            p.replace(annotation=_RouteSessionDep) if p.name in owned else p
            for p in signature.parameters.values()
        ]
    )

    def run(*args: Any, **kwargs: Any) -> Any:
        sessions: list[Session] = [kwargs[name] for name in owned]
        try:
            result = endpoint(*args, **kwargs)
            for session in sessions:
                if session.in_transaction():
                    session.commit()
        except BaseException:
            for session in sessions:
                session.rollback()
            raise
        finally:
            for session in sessions:
                session.close()
        return result

    async def in_worker_thread(*args: Any, **kwargs: Any) -> Any:
        call = functools.partial(contextvars.copy_context().run, run, *args, **kwargs)
        # Shielded, as anyio's own hop is: a cancelled request still waits for its thread to
        # finish with the session.
        with anyio.CancelScope(shield=True):
            return await asyncio.get_running_loop().run_in_executor(None, call)

    # FastAPI reads the parameters from this signature and must see a coroutine function, so
    # there is no ``__wrapped__`` to follow back to the plain one.
    in_worker_thread.__signature__ = signature  # type: ignore[attr-defined]
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(in_worker_thread, attribute, getattr(endpoint, attribute))
    return in_worker_thread


class SessionRoute(APIRoute):
    """A route whose plain ``def`` endpoint runs in a worker thread of the event loop's executor
    and commits its request session (:data:`SessionDep`) there, as soon as it returns.

    FastAPI would run a ``def`` endpoint through anyio's thread pool, and the session
    dependency (a generator) would need a second hop to commit. Both cost more CPU than a
    short statement, so such an endpoint's session is opened by a plain dependency and the
    endpoint, its commit (or rollback, on any error) and the close ride one hop to the
    executor (sized by ``TESSERA_WORKER_THREADS`` in :mod:`services.common.chassis`). The rule
    stays the same: commit once, at the edge, after the endpoint succeeded. Async endpoints
    keep :func:`request_session`.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _committing(endpoint)
        super().__init__(path, endpoint, **kwargs)
