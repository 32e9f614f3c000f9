"""The receipts database: one receipt per successful payment, plus the outbox and inbox."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import IdMixin, TimestampMixin, new_metadata
from services.common.outbox import OutboxDeliveryMixin, OutboxEventMixin, OutboxTables
from services.common.webhooks import InboxEventMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class Receipt(IdMixin, TimestampMixin, Base):
    __tablename__ = "receipts"

    # Unique: whatever happens upstream (redeliveries, replays), a payment gets one receipt.
    payment_id: Mapped[uuid.UUID] = mapped_column(unique=True, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reference: Mapped[str] = mapped_column(String(100), nullable=False, index=True)


class EventOutcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"


class OutboxEvent(OutboxEventMixin, Base):
    pass


class OutboxDelivery(OutboxDeliveryMixin, Base):
    pass


class InboxEvent(InboxEventMixin, Base):
    pass


OUTBOX_TABLES = OutboxTables.from_metadata(Base.metadata)
INBOX_TABLE = Base.metadata.tables["inbox_events"]
