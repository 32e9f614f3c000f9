"""Fixtures of the gateway tests: its database migrated with Alembic for real, on SQLite and
(when a server answers, or always with TESSERA_REQUIRE_POSTGRES=1) on PostgreSQL, emptied after
each test; the gateway app running its lifespan; an admin key."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gateway.app import create_app
from gateway.models import ApiKey
from gateway.policy import Upstream
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.identity import Role

REPO_ROOT = Path(__file__).resolve().parents[2]
POSTGRES_ADMIN_URL = os.environ.get(
    "TESSERA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def migrate(url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "gateway" / "migrations"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tessera_gateway_test_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:  # noqa: BLE001  (any failure to reach the server means: no PostgreSQL)
        admin.dispose()
        if os.environ.get("TESSERA_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (TESSERA_REQUIRE_POSTGRES=1) but unusable: {error}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {type(error).__name__}")
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate(url)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated gateway database, empty at the start of each test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gateway.db'}"
        migrate(url)
        yield url
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(delete(ApiKey))
    engine.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.sessionmaker() as s:
        yield s
        s.rollback()


def settings_for(database_url: str, **overrides: object) -> GatewaySettings:
    return GatewaySettings(database_url=database_url, **overrides)  # type: ignore[arg-type]


def make_key(
    database_url: str, role: Role, *, supplier_id: str | None = None, name: str = "test"
) -> tuple[str, str]:
    """(key id, plaintext key) of a new key, committed."""
    from gateway import service

    db = Database(database_url)
    try:
        with db.sessionmaker() as s:
            key, plaintext = service.create_key(s, name=name, role=role, supplier_id=supplier_id)
            s.commit()
            return str(key.id), plaintext
    finally:
        db.dispose()


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """``app`` with its lifespan entered (httpx.ASGITransport does not run lifespans)."""
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def gateway_client(
    settings: GatewaySettings,
    *,
    transports: Mapping[Upstream, httpx.AsyncBaseTransport] | None = None,
    rate_limiter: RateLimiter | None = None,
    client: tuple[str, int] = ("203.0.113.7", 50000),
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, transports=transports, rate_limiter=rate_limiter)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http
