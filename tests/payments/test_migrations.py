"""The payments migrations build exactly the schema its models describe."""

from __future__ import annotations

from services.payments.models import Base
from tests.dbtools import schema_differences


def test_models_and_migrations_agree(payments_db_url: str) -> None:
    assert schema_differences(payments_db_url, Base.metadata) == []
