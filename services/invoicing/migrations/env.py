"""Alembic environment of the invoicing database (``alembic -n invoicing upgrade head``)."""

from services.common.migrations import run_env
from services.invoicing.app import load_settings
from services.invoicing.models import Base

run_env(Base.metadata, lambda: load_settings().resolved_database_url())
