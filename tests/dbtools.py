"""Real databases for tests: SQLite files and PostgreSQL databases created per test session,
migrated with Alembic exactly as in production, emptied between tests and dropped at the end.

PostgreSQL is found at ``$TESSERA_TEST_POSTGRES_URL`` (an admin URL, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``), by default at 127.0.0.1:5432 as ``postgres``.
Where none answers, PostgreSQL tests skip, unless ``TESSERA_REQUIRE_POSTGRES=1`` (CI), where they fail.

Usable from any test package (the gateway uses the ``gateway`` section)::

    registry = MigratedDatabases(tmp_dir)
    url = registry.url("gateway", "postgresql")   # created and migrated once
    registry.clear("gateway", "postgresql")       # empties every table except Alembic's
    registry.close()                              # drops the PostgreSQL databases
"""

from __future__ import annotations

import functools
import os
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from services.common.migrations import upgrade

POSTGRES_URL_ENV = "TESSERA_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "TESSERA_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


def postgres_required() -> bool:
    return os.environ.get(REQUIRE_POSTGRES_ENV, "") == "1"


def admin_url() -> URL:
    url = make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_URL)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url


@functools.cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it answers."""
    url = admin_url()
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001  (any failure means: not usable here)
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return (
            f"PostgreSQL not reachable at {url.render_as_string(hide_password=True)} ({first_line}). "
            f"Start PostgreSQL there (user postgres, trust auth) or set {POSTGRES_URL_ENV} to an admin URL; "
            f"CI sets {REQUIRE_POSTGRES_ENV}=1 to make this a failure."
        )
    finally:
        engine.dispose()
    return None


def _admin_engine() -> Engine:
    return sa.create_engine(admin_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")


def create_postgres_database(label: str) -> str:
    """A new, empty, uniquely named database; its URL (with password, for the app to use)."""
    name = f"tessera_test_{label}_{uuid.uuid4().hex[:12]}"
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return admin_url().set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    if not name or not name.startswith("tessera_test_"):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            # WITH (FORCE) (PostgreSQL 13+) ends connections a test may have leaked.
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def deletion_order(url: str) -> list[str]:
    """The tables of the database at ``url`` (but Alembic's), children before parents."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            ordered = [name for name, _ in sa.inspect(connection).get_sorted_table_and_fkc_names() if name]
    finally:
        engine.dispose()
    return [name for name in reversed(ordered) if not name.startswith("alembic_version")]


def clear_tables(url: str, tables: list[str] | None = None) -> None:
    """Empty every table but Alembic's version table(s): fast per-test isolation that also covers
    what other threads and connections (relays, second app instances) committed. ``DELETE`` rather
    than ``TRUNCATE``: on tables this small PostgreSQL deletes several times faster."""
    names = deletion_order(url) if tables is None else tables
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Ordinary triggers do not fire in replica mode: tests may empty tables whose
                # triggers refuse deletion in service (the receipts are never deleted).
                connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            for name in names:
                connection.execute(sa.text(f'DELETE FROM "{name}"'))
    finally:
        engine.dispose()


class MigratedDatabases:
    """One migrated database per (alembic section, backend), made on first use in a session."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._urls: dict[tuple[str, str], str] = {}
        self._tables: dict[str, list[str]] = {}

    def url(self, section: str, backend: str) -> str:
        key = (section, backend)
        if key not in self._urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.directory / f'{section}-{uuid.uuid4().hex[:8]}.db'}"
            elif backend == "postgresql":
                url = create_postgres_database(section)
            else:
                raise ValueError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
            try:
                upgrade(section, url)
            except BaseException:
                if backend == "postgresql":
                    drop_postgres_database(url)
                raise
            self._urls[key] = url
        return self._urls[key]

    def clear(self, section: str, backend: str) -> None:
        url = self.url(section, backend)
        if url not in self._tables:
            self._tables[url] = deletion_order(url)
        clear_tables(url, self._tables[url])

    def close(self) -> None:
        for (_, backend), url in self._urls.items():
            if backend == "postgresql":
                drop_postgres_database(url)
            else:
                Path(make_url(url).database or "").unlink(missing_ok=True)
        self._urls.clear()


def migrated_url(section: str, backend: str, directory: Path) -> str:
    """A one-off migrated database (the caller drops a PostgreSQL one with drop_postgres_database)."""
    return MigratedDatabases(directory).url(section, backend)


def schema_differences(url: str, metadata: sa.MetaData) -> list[Any]:
    """What Alembic autogenerate would still change to make the database at ``url`` match
    ``metadata``: empty when models and migrations agree."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()
