"""outbox: an index of the pending deliveries in event order

The outbox relay claims the earliest due deliveries in event order. Without an index that
holds only the pending ones, PostgreSQL walks every delivery ever made in that order and
filters out the delivered ones: 21 ms a claim with 58,000 delivered rows, growing with the
history (measured). The partial index holds the pending deliveries alone.

Revision ID: 35068e2721fc
Revises: 5f0c1d2e7a4b
Created: 2026-11-22 18:15:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "35068e2721fc"
down_revision: str | None = "5f0c1d2e7a4b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "delivered_at IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_deliveries_pending",
            ["event_sequence", "id"],
            unique=False,
            postgresql_where=sa.text(PENDING),
            sqlite_where=sa.text(PENDING),
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_deliveries_pending")
