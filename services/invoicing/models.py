"""The invoicing database. ``invoices`` holds what the supplier listing needs so far; the
invoicing issue extends it (documents, validation reports, states) with its own migrations."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import IdMixin, TimestampMixin, new_metadata
from services.common.outbox import OutboxDeliveryMixin, OutboxEventMixin, OutboxTables
from services.common.webhooks import InboxEventMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class InvoiceStatus(StrEnum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class Invoice(IdMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    # A supplier numbers its own invoices (EN 16931 BT-1 is unique per seller).
    __table_args__ = (UniqueConstraint("supplier_id", "invoice_number"),)

    supplier_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    invoice_number: Mapped[str] = mapped_column(String(100), nullable=False)
    status: Mapped[InvoiceStatus] = mapped_column(
        Enum(
            InvoiceStatus,
            name="invoice_status",
            native_enum=False,
            length=16,
            values_callable=lambda e: [m.value for m in e],
        ),
        nullable=False,
        default=InvoiceStatus.RECEIVED,
    )


class OutboxEvent(OutboxEventMixin, Base):
    pass


class OutboxDelivery(OutboxDeliveryMixin, Base):
    pass


class InboxEvent(InboxEventMixin, Base):
    pass


OUTBOX_TABLES = OutboxTables.from_metadata(Base.metadata)
