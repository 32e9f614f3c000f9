"""The invoicing database.

- ``invoices``: one row per accepted submission, with the supplier's exact bytes, the sealed
  archive copy (stored in the same transaction: no invoice exists without its seal), the
  validation report and the current Peppol status. The duplicate rule (same seller, document
  kind, number and issue year) is a unique constraint, so concurrent submissions cannot both win.
- ``invoice_status_changes``: the history, one row per status with who set it, why, and the
  Invoice Response document (UBL ApplicationResponse) sent for it; ``number`` counts from 1.
- ``routing_codes``: the buyer references (BT-10) the municipality accepts.
- ``supplier_webhooks``: where each supplier wants ``invoice.status_changed`` events.
- ``idempotency_keys``: the answer given to a supplier's ``Idempotency-Key``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import IdMixin, TimestampMixin, UtcDateTime, new_metadata, utcnow
from services.common.outbox import OutboxDeliveryMixin, OutboxEventMixin, OutboxTables
from services.common.webhooks import InboxEventMixin
from services.invoicing.ubl.lifecycle import InvoiceStatus


class Base(DeclarativeBase):
    metadata = new_metadata()


class DocumentKind(StrEnum):
    INVOICE = "Invoice"
    CREDIT_NOTE = "CreditNote"


def _enum(kind: type[StrEnum], name: str, length: int) -> Enum:
    return Enum(
        kind, name=name, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Invoice(IdMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    # EN 16931 BT-1 is unique per seller; numbering restarts each year in many countries, and a
    # credit note has its own series, so the rule is (seller, kind, number, year).
    __table_args__ = (UniqueConstraint("supplier_id", "kind", "invoice_number", "issue_year"),)

    supplier_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum(DocumentKind, "document_kind", 16), nullable=False)
    invoice_number: Mapped[str] = mapped_column(String(100), nullable=False)
    issue_date: Mapped[str] = mapped_column(String(10), nullable=False)  # ISO date, BT-2
    issue_year: Mapped[int] = mapped_column(Integer, nullable=False)
    type_code: Mapped[str | None] = mapped_column(String(3))
    currency: Mapped[str | None] = mapped_column(String(3))
    amount_due: Mapped[str | None] = mapped_column(String(40))  # BT-115 as written, a decimal
    buyer_reference: Mapped[str | None] = mapped_column(String(200))
    seller_name: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[InvoiceStatus] = mapped_column(
        _enum(InvoiceStatus, "invoice_status", 2), nullable=False, default=InvoiceStatus.RECEIVED, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    payment_reference: Mapped[str | None] = mapped_column(String(200))
    report: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    supplier_signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    original: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    original_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    sealed_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    seal_subject: Mapped[str] = mapped_column(String(500), nullable=False)
    seal_development: Mapped[bool] = mapped_column(Boolean, nullable=False)


class StatusChange(Base):
    __tablename__ = "invoice_status_changes"
    __table_args__ = (UniqueConstraint("invoice_id", "number"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus, "change_status", 2), nullable=False)
    reasons: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    actions: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    payment_reference: Mapped[str | None] = mapped_column(String(200))
    actor_key_id: Mapped[str] = mapped_column(String(100), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    actor_role: Mapped[str] = mapped_column(String(20), nullable=False)
    response: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class RoutingCode(TimestampMixin, Base):
    __tablename__ = "routing_codes"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    description: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)


class SupplierWebhook(TimestampMixin, Base):
    __tablename__ = "supplier_webhooks"

    supplier_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(500), nullable=False)
    # Signs this supplier's deliveries (services/invoicing/webhooks.py); shown once, when set.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class IdempotencyKey(TimestampMixin, Base):
    __tablename__ = "idempotency_keys"

    supplier_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False
    )


class OutboxEvent(OutboxEventMixin, Base):
    pass


class OutboxDelivery(OutboxDeliveryMixin, Base):
    pass


class InboxEvent(InboxEventMixin, Base):
    pass


OUTBOX_TABLES = OutboxTables.from_metadata(Base.metadata)
