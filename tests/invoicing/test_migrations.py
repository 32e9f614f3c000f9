"""The invoicing migrations build exactly the schema its models describe."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.invoicing.models import Base
from tests.dbtools import schema_differences


def test_models_and_migrations_agree(invoicing_db_url: str) -> None:
    assert schema_differences(invoicing_db_url, Base.metadata) == []


def test_documents_are_compressed_with_lz4_on_postgresql(invoicing_db_url: str) -> None:
    engine = sa.create_engine(invoicing_db_url)
    try:
        if engine.dialect.name != "postgresql":
            pytest.skip("only PostgreSQL compresses stored values")
        with engine.connect() as connection:
            if not connection.exec_driver_sql(
                "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
            ).scalar():
                pytest.skip("this PostgreSQL was built without LZ4")
            methods = connection.exec_driver_sql(
                "SELECT attname, attcompression FROM pg_attribute"
                " WHERE attrelid = 'invoices'::regclass AND attname IN ('original', 'sealed')"
            ).all()
    finally:
        engine.dispose()
    assert sorted(methods) == [("original", "l"), ("sealed", "l")]
