"""Fixtures of the gateway tests: its database (the shared ``database_fixture`` of
tests/conftest.py: migrated with Alembic, on SQLite and PostgreSQL, emptied before each test),
keys, and the gateway app running its lifespan."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy.orm import Session

from gateway import service
from gateway.app import create_app
from gateway.policy import ROUTES, Route, Upstream
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.identity import Role
from tests.conftest import INTERNAL_SECRET, database_fixture

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

gateway_db_url = database_fixture("gateway")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def database_url(gateway_db_url: str) -> str:
    """The gateway database, migrated with Alembic, emptied before each test (SQLite and PostgreSQL)."""
    return gateway_db_url


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    """The real Redis at ``REDIS_URL``; a skip (a failure with TESSERA_REQUIRE_REDIS=1) without one."""
    client: Redis = Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except Exception as error:  # noqa: BLE001  (no Redis answering, whatever the reason)
        await client.aclose()
        if os.environ.get("TESSERA_REQUIRE_REDIS") == "1":
            pytest.fail(
                f"Redis is required (TESSERA_REQUIRE_REDIS=1) but {REDIS_URL} does not answer: {error}"
            )
        pytest.skip(
            f"no Redis at {REDIS_URL} ({type(error).__name__}); set TESSERA_REQUIRE_REDIS=1 to fail instead"
        )
    yield client
    await client.aclose()


@pytest.fixture
async def redis_prefix(redis_client: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    prefix = f"tessera:test:{uuid.uuid4().hex}:"
    yield prefix
    keys = [k async for k in redis_client.scan_iter(match=prefix + "*")]
    if keys:
        await redis_client.delete(*keys)


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


def settings_for(database_url: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "environment": "test",
        "internal_secrets": INTERNAL_SECRET,
        "log_format": "console",
        "log_level": "WARNING",
        # Tests revoke keys in the database behind the gateway's back and expect the next request
        # refused; the key cache and its revocation bound are tested with it switched on.
        "key_cache_seconds": 0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


def make_key(
    database_url: str, role: Role, *, supplier_id: str | None = None, name: str = "test"
) -> tuple[str, str]:
    """(key id, plaintext key) of a new key, committed."""
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
    routes: tuple[Route, ...] = ROUTES,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, transports=transports, rate_limiter=rate_limiter, routes=routes)
    async with running(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            yield http
