"""Alembic environment of the gateway database: ``alembic -n gateway upgrade head``."""

from gateway.models import Base
from gateway.settings import GatewaySettings
from services.common.migrations import run_env

run_env(Base.metadata, lambda: GatewaySettings().effective_database_url)
