"""The Alembic plumbing: sections, URLs, and the models-versus-migrations check itself."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from services.common.migrations import UnknownSection, alembic_config, upgrade
from services.payments.models import Base
from tests.dbtools import schema_differences


def test_every_service_has_a_section_with_dated_file_names() -> None:
    for section in ("invoicing", "payments", "receipts", "gateway"):
        config = alembic_config(section)
        assert (config.get_main_option("script_location") or "").endswith(f"{section}/migrations")
        assert (config.get_main_option("file_template") or "").startswith("%(year)d-%(month).2d-%(day).2d")


def test_unknown_section_is_named() -> None:
    with pytest.raises(UnknownSection, match=r"no \[ledger\] section"):
        alembic_config("ledger")


def test_the_agreement_check_notices_a_model_the_migrations_lack(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade("payments", url)
    assert schema_differences(url, Base.metadata) == []
    drifted = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    sa.Table("disputes", drifted, sa.Column("id", sa.Integer, primary_key=True))
    drifted.tables["payments"].append_column(sa.Column("note", sa.String(20)))
    differences = schema_differences(url, drifted)
    assert ("add_table", "disputes") in [(d[0], d[1].name) for d in differences if d[0] == "add_table"]
    assert any(d[0] == "add_column" and d[3].name == "note" for d in differences)


def test_url_with_a_percent_sign_survives_the_ini_file(tmp_path: Path) -> None:
    # URLs may carry percent-escapes (passwords, paths); ConfigParser must not read them as its own.
    folder = tmp_path / "odd name"
    folder.mkdir()
    upgrade("payments", f"sqlite:///{tmp_path}/odd%20name/p.db")
    assert (folder / "p.db").is_file()


@pytest.mark.parametrize("section", ["invoicing", "payments", "receipts"])
def test_migrations_downgrade_to_nothing_and_back(section: str, db_backend: str, tmp_path: Path) -> None:
    from alembic import command

    from tests.dbtools import drop_postgres_database, migrated_url

    url = migrated_url(section, db_backend, tmp_path)
    try:
        command.downgrade(alembic_config(section, url), "base")
        engine = sa.create_engine(url)
        try:
            assert [t for t in sa.inspect(engine).get_table_names() if t != "alembic_version"] == []
        finally:
            engine.dispose()
        upgrade(section, url)
    finally:
        if db_backend == "postgresql":
            drop_postgres_database(url)
