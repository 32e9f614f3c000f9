"""Alembic for every Tessera database: one ``alembic.ini`` at the repository root with a section per
database (``invoicing``, ``payments``, ``receipts``, ``gateway``), each pointing at that package's
``migrations/`` folder.

The URL a migration runs against is, first found wins: the ``url`` passed to :func:`upgrade` (also
set as the ``sqlalchemy.url`` main option), the
``-x url=...`` command-line argument (``alembic -n payments -x url=postgresql+psycopg://... upgrade
head``), then the service's own settings (``TESSERA_PAYMENTS_DATABASE_URL`` or its SQLite default).

Each ``migrations/env.py`` is two lines that hand its metadata and settings to :func:`run_env`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from services.common.db import UtcDateTime
from services.common.settings import REPO_ROOT

ALEMBIC_INI = REPO_ROOT / "alembic.ini"
SECTIONS = ("invoicing", "payments", "receipts", "gateway")


class UnknownSection(ValueError):
    """No such database section in alembic.ini."""


def alembic_config(section: str, url: str | None = None, *, ini: Path = ALEMBIC_INI) -> Config:
    config = Config(str(ini), ini_section=section)
    if not config.get_section(section):
        raise UnknownSection(f"{ini} has no [{section}] section; known: {', '.join(SECTIONS)}")
    if url:
        config.attributes["url"] = url
        # Also as sqlalchemy.url, for env.py files that read the main option (ConfigParser needs %%).
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(section: str, url: str | None = None, *, revision: str = "head") -> None:
    """Migrate the ``section`` database (at ``url``, or where its settings point) to ``revision``."""
    command.upgrade(alembic_config(section, url), revision)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    # Migrations spell the portable type, not Tessera's decorator around it.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _url(default_url: Callable[[], str]) -> str:
    given = context.config.attributes.get("url") or context.config.get_main_option("sqlalchemy.url")
    if given:
        return str(given)
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    return x_url or default_url()


def run_env(metadata: MetaData, default_url: Callable[[], str]) -> None:
    """The body of every ``migrations/env.py``: run offline (emit SQL) or online against the URL."""
    url = _url(default_url)
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "compare_type": True,
        "render_item": _render_item,
        # SQLite alters a table by copying it; batch mode lets later migrations do that for us.
        "render_as_batch": url.startswith("sqlite"),
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
