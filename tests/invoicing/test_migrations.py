"""The invoicing migrations build exactly the schema its models describe."""

from __future__ import annotations

from services.invoicing.models import Base
from tests.dbtools import schema_differences


def test_models_and_migrations_agree(invoicing_db_url: str) -> None:
    assert schema_differences(invoicing_db_url, Base.metadata) == []
