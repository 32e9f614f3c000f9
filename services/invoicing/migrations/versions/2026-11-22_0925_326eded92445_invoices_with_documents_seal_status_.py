"""Invoices with documents, seal, status history, routing codes, supplier webhooks, idempotency keys.

The first schema's ``invoices`` table was a placeholder for the supplier listing (no invoice
could be submitted yet), so it is replaced rather than altered: its rows could not satisfy the
new NOT NULL columns (documents, seal, report) anyway.

Revision ID: 326eded92445
Revises: 51588571c5d6
Created: 2026-11-22 09:25:05.723113+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "326eded92445"
down_revision: str | None = "51588571c5d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _invoices_table() -> None:
    op.create_table(
        "invoices",
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("Invoice", "CreditNote", name="document_kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.Column("issue_date", sa.String(length=10), nullable=False),
        sa.Column("issue_year", sa.Integer(), nullable=False),
        sa.Column("type_code", sa.String(length=3), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("amount_due", sa.String(length=40), nullable=True),
        sa.Column("buyer_reference", sa.String(length=200), nullable=True),
        sa.Column("seller_name", sa.String(length=300), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "AB", "IP", "UQ", "CA", "RE", "AP", "PD", name="invoice_status", native_enum=False, length=2
            ),
            nullable=False,
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_reference", sa.String(length=200), nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("supplier_signature", sa.JSON(), nullable=True),
        sa.Column("original", sa.LargeBinary(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("sealed_sha256", sa.String(length=64), nullable=False),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seal_subject", sa.String(length=500), nullable=False),
        sa.Column("seal_development", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "supplier_id",
            "kind",
            "invoice_number",
            "issue_year",
            name=op.f("uq_invoices_supplier_id_kind_invoice_number_issue_year"),
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_supplier_id"), ["supplier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_status"), ["status"], unique=False)


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_supplier_id"))
    op.drop_table("invoices")
    _invoices_table()

    op.create_table(
        "routing_codes",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_routing_codes")),
    )
    op.create_table(
        "supplier_webhooks",
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("supplier_id", name=op.f("pk_supplier_webhooks")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_idempotency_keys_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("supplier_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "invoice_status_changes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("AB", "IP", "UQ", "CA", "RE", "AP", "PD", name="change_status", native_enum=False),
            nullable=False,
        ),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payment_reference", sa.String(length=200), nullable=True),
        sa.Column("actor_key_id", sa.String(length=100), nullable=False),
        sa.Column("actor_name", sa.String(length=200), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_status_changes_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_status_changes")),
        sa.UniqueConstraint("invoice_id", "number", name=op.f("uq_invoice_status_changes_invoice_id_number")),
    )
    with op.batch_alter_table("invoice_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_status_changes_invoice_id"), ["invoice_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_status_changes_invoice_id"))
    op.drop_table("invoice_status_changes")
    op.drop_table("idempotency_keys")
    op.drop_table("supplier_webhooks")
    op.drop_table("routing_codes")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_status"))
        batch_op.drop_index(batch_op.f("ix_invoices_supplier_id"))
    op.drop_table("invoices")
    op.create_table(
        "invoices",
        sa.Column("supplier_id", sa.String(length=64), nullable=False),
        sa.Column("invoice_number", sa.String(length=100), nullable=False),
        sa.Column(
            "status",
            sa.Enum("received", "accepted", "rejected", name="invoice_status", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint(
            "supplier_id", "invoice_number", name=op.f("uq_invoices_supplier_id_invoice_number")
        ),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_supplier_id"), ["supplier_id"], unique=False)
