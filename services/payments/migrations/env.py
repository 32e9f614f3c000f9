"""Alembic environment of the payments database (``alembic -n payments upgrade head``)."""

from services.common.migrations import run_env
from services.payments.app import load_settings
from services.payments.models import Base

run_env(Base.metadata, lambda: load_settings().resolved_database_url())
