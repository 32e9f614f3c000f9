"""Supplier webhook secrets: each supplier's deliveries are signed with a secret of its own.

A URL registered before this revision has no secret, and none can be made up for it that the
supplier would know: such registrations are removed, and the supplier registers again (the
answer shows the new secret once).

Revision ID: 98e58727857a
Revises: 326eded92445
Created: 2026-11-22 09:36:19.315650+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "98e58727857a"
down_revision: str | None = "326eded92445"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM supplier_webhooks")
    with op.batch_alter_table("supplier_webhooks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret", sa.String(length=100), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("supplier_webhooks", schema=None) as batch_op:
        batch_op.drop_column("secret")
