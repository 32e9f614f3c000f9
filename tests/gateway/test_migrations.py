"""The gateway's migrations build exactly the tables its models describe."""

from __future__ import annotations

from gateway.models import Base
from tests.dbtools import schema_differences


def test_models_and_migrations_agree(database_url: str) -> None:
    assert schema_differences(database_url, Base.metadata) == []
