"""Alembic environment of the receipts database (``alembic -n receipts upgrade head``)."""

from services.common.migrations import run_env
from services.receipts.app import load_settings
from services.receipts.models import Base

run_env(Base.metadata, lambda: load_settings().resolved_database_url())
