"""Fixtures shared by every test package.

Databases: ``db_backend`` is parametrised over ``sqlite`` and ``postgresql``; each
``<section>_db_url`` fixture gives a database of that Alembic section on the current backend,
migrated once per session and emptied before each test. Another section gets the same with one
line in its own conftest: ``ledger_db_url = database_fixture("ledger")`` (``gateway_db_url`` is
already here).

Apps: ``payments_app`` / ``receipts_app`` / ``invoicing_app`` build the real service apps on those
databases (relay thread off; tests drive relays themselves); ``principal_headers(role)`` signs a
caller identity as the gateway would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.common.identity import PRINCIPAL_HEADER, Principal, Role, encode_principal
from tests.dbtools import MigratedDatabases, postgres_required, postgres_unavailable

WEBHOOK_SECRET = "test-webhook-secret"
INTERNAL_SECRET = "test-internal-secret"
RECEIPTS_WEBHOOK = "http://receipts.test/webhooks/events"


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedDatabases]:
    registry = MigratedDatabases(tmp_path_factory.mktemp("databases"))
    yield registry
    registry.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql":
        reason = postgres_unavailable()
        if reason is not None:
            if postgres_required():
                pytest.fail(reason)
            pytest.skip(reason)
    return backend


def database_fixture(section: str) -> Any:
    """A fixture giving a migrated, emptied database URL of ``section`` on ``db_backend``."""

    @pytest.fixture
    def fixture(db_backend: str, migrated_databases: MigratedDatabases) -> str:
        url = migrated_databases.url(section, db_backend)
        migrated_databases.clear(section, db_backend)
        return url

    return fixture


invoicing_db_url = database_fixture("invoicing")
payments_db_url = database_fixture("payments")
receipts_db_url = database_fixture("receipts")
gateway_db_url = database_fixture("gateway")


@pytest.fixture
def principal_headers() -> Callable[..., dict[str, str]]:
    def make(role: Role | str, *, supplier_id: str | None = None, key_id: str = "key-test") -> dict[str, str]:
        principal = Principal(key_id=key_id, role=Role(role), name=f"test {role}", supplier_id=supplier_id)
        return {PRINCIPAL_HEADER: encode_principal(principal, INTERNAL_SECRET)}

    return make


def service_settings(settings_class: type[Any], url: str, tmp_path: Path, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "database_url": url,
        "environment": "test",
        "data_dir": tmp_path,
        "webhook_secrets": WEBHOOK_SECRET,
        "internal_secrets": INTERNAL_SECRET,
        "relay_enabled": False,
        "log_format": "console",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return settings_class(**values)


@pytest.fixture
def payments_settings(payments_db_url: str, tmp_path: Path) -> Any:
    from services.payments.settings import PaymentsSettings

    return service_settings(
        PaymentsSettings,
        payments_db_url,
        tmp_path,
        subscribers=RECEIPTS_WEBHOOK,
        public_url="http://payments.test",
    )


@pytest.fixture
def receipts_settings(receipts_db_url: str, tmp_path: Path) -> Any:
    from services.receipts.settings import ReceiptsSettings

    return service_settings(ReceiptsSettings, receipts_db_url, tmp_path)


@pytest.fixture
def invoicing_settings(invoicing_db_url: str, tmp_path: Path) -> Any:
    from services.invoicing.settings import InvoicingSettings

    return service_settings(InvoicingSettings, invoicing_db_url, tmp_path)


@pytest.fixture
def payments_client(payments_settings: Any) -> Iterator[TestClient]:
    from services.payments.app import create_app

    with TestClient(create_app(payments_settings), base_url="http://payments.test") as client:
        yield client


@pytest.fixture
def receipts_client(receipts_settings: Any) -> Iterator[TestClient]:
    from services.receipts.app import create_app

    with TestClient(create_app(receipts_settings), base_url="http://receipts.test") as client:
        yield client


@pytest.fixture
def invoicing_client(invoicing_settings: Any) -> Iterator[TestClient]:
    from services.invoicing.app import create_app

    with TestClient(create_app(invoicing_settings), base_url="http://invoicing.test") as client:
        yield client
