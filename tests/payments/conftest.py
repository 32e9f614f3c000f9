"""Payments fixtures: localstripe, started once per test session, and a session on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from services.common.db import Database
from tests.payments.servers import Localstripe


@pytest.fixture(scope="session")
def localstripe() -> Iterator[Localstripe]:
    server = Localstripe()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def session(payments_db_url: str) -> Iterator[Session]:
    """A session on a fresh payments database (SQLite and PostgreSQL, as ``payments_db_url``)."""
    database = Database(payments_db_url)
    with database.sessionmaker() as session:
        yield session
    database.dispose()
