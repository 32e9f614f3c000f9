"""payment requests refunds idempotency provider events

Revision ID: 36c38e48109e
Revises: 389298ea26e8
Created: 2026-11-22 09:22:51.939559+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "36c38e48109e"
down_revision: str | None = "389298ea26e8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("caller", sa.String(length=200), nullable=False),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint(
            "caller", "operation", "key", name=op.f("uq_idempotency_records_caller_operation_key")
        ),
    )
    op.create_table(
        "payment_requests",
        sa.Column("creditor_reference", sa.String(length=25), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "open",
                "partially_paid",
                "paid",
                "cancelled",
                "expired",
                name="request_state",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("payer_name", sa.String(length=200), nullable=False),
        sa.Column("payer_tax_code", sa.String(length=32), nullable=True),
        sa.Column("payer_email", sa.String(length=254), nullable=True),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column(
            "currency",
            sa.Enum("EUR", "GBP", "SEK", "HUF", name="currency", native_enum=False),
            nullable=False,
        ),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payment_requests_amount_positive")),
        sa.CheckConstraint(
            "amount_paid >= 0 AND amount_paid <= amount", name=op.f("ck_payment_requests_amount_paid_within")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_requests")),
        sa.UniqueConstraint("creditor_reference", name=op.f("uq_payment_requests_creditor_reference")),
    )
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_requests_state"), ["state"], unique=False)

    op.create_table(
        "provider_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint("provider", "event_id", name=op.f("uq_provider_events_provider_event_id")),
    )
    op.create_table(
        "instalments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_request_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("amount > 0", name=op.f("ck_instalments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["payment_request_id"],
            ["payment_requests.id"],
            name=op.f("fk_instalments_payment_request_id_payment_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalments")),
        sa.UniqueConstraint(
            "payment_request_id", "number", name=op.f("uq_instalments_payment_request_id_number")
        ),
    )
    op.create_table(
        "balance_transactions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("transaction_id", sa.String(length=100), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payout_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_balance_transactions_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_transactions")),
        sa.UniqueConstraint(
            "provider", "transaction_id", name=op.f("uq_balance_transactions_provider_transaction_id")
        ),
    )
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_balance_transactions_payment_id"), ["payment_id"], unique=False)

    op.create_table(
        "payment_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "created",
                "started",
                "submitted",
                "succeeded",
                "declined",
                "user_cancelled",
                "system_cancelled",
                "expired",
                "error",
                name="payment_state",
                native_enum=False,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["payments.id"],
            name=op.f("fk_payment_events_payment_id_payments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_events_payment_id"), ["payment_id"], unique=False)

    op.create_table(
        "refunds",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column(
            "state",
            sa.Enum("submitted", "success", "error", name="refund_state", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("provider_refund_id", sa.String(length=100), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refunds_payment_id"), ["payment_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_refunds_provider_refund_id"), ["provider_refund_id"], unique=False
        )

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_request_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("instalment_number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_client_secret", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("fee", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("net_amount", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_payments_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_payments_payment_request_id"), ["payment_request_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payments_provider_transaction_id"), ["provider_transaction_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_payments_payment_request_id_payment_requests"),
            "payment_requests",
            ["payment_request_id"],
            ["id"],
        )

    # The first schema knew only created/succeeded/failed; a failed payment was a card decline.
    op.execute("UPDATE payments SET state = 'declined' WHERE state = 'failed'")


def downgrade() -> None:
    op.execute(
        "UPDATE payments SET state = 'failed' "
        "WHERE state IN ('declined', 'user_cancelled', 'system_cancelled', 'expired', 'error')"
    )
    op.execute("UPDATE payments SET state = 'created' WHERE state IN ('started', 'submitted')")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_payments_payment_request_id_payment_requests"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_payments_provider_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_payments_payment_request_id"))
        batch_op.drop_index("ix_payments_created_at")
        batch_op.drop_column("net_amount")
        batch_op.drop_column("fee")
        batch_op.drop_column("provider_client_secret")
        batch_op.drop_column("instalment_number")
        batch_op.drop_column("payment_request_id")

    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refunds_provider_refund_id"))
        batch_op.drop_index(batch_op.f("ix_refunds_payment_id"))

    op.drop_table("refunds")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_payment_id"))

    op.drop_table("payment_events")
    with op.batch_alter_table("balance_transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_balance_transactions_payment_id"))

    op.drop_table("balance_transactions")
    op.drop_table("instalments")
    op.drop_table("provider_events")
    with op.batch_alter_table("payment_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_requests_state"))

    op.drop_table("payment_requests")
    op.drop_table("idempotency_records")
