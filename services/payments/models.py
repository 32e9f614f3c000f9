"""The payments database: what is owed (payment requests and their instalments), payments with
their internal state, events and refunds, idempotency records, provider webhooks and balance
transactions, plus the outbox and inbox."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import IdMixin, TimestampMixin, UtcDateTime, new_metadata, utcnow
from services.common.outbox import OutboxDeliveryMixin, OutboxEventMixin, OutboxTables
from services.common.webhooks import InboxEventMixin


class Base(DeclarativeBase):
    metadata = new_metadata()


class PaymentState(StrEnum):
    """Internal states: finer than what callers see (:class:`ExternalStatus`)."""

    CREATED = "created"
    STARTED = "started"  # the payer opened the payment page
    SUBMITTED = "submitted"  # card details sent to the provider, outcome not yet known
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    USER_CANCELLED = "user_cancelled"
    SYSTEM_CANCELLED = "system_cancelled"  # cancelled through the API
    EXPIRED = "expired"
    ERROR = "error"  # the provider failed in a way that is not a decline


class ExternalStatus(StrEnum):
    """The small, stable state set of the API (the GOV.UK Pay vocabulary)."""

    CREATED = "created"
    STARTED = "started"
    SUBMITTED = "submitted"
    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    ERROR = "error"


EXTERNAL: dict[PaymentState, ExternalStatus] = {
    PaymentState.CREATED: ExternalStatus.CREATED,
    PaymentState.STARTED: ExternalStatus.STARTED,
    PaymentState.SUBMITTED: ExternalStatus.SUBMITTED,
    PaymentState.SUCCEEDED: ExternalStatus.SUCCESS,
    PaymentState.DECLINED: ExternalStatus.FAILED,
    PaymentState.USER_CANCELLED: ExternalStatus.FAILED,  # GOV.UK Pay: the payer gave up (P0030)
    PaymentState.SYSTEM_CANCELLED: ExternalStatus.CANCELLED,
    PaymentState.EXPIRED: ExternalStatus.EXPIRED,
    PaymentState.ERROR: ExternalStatus.ERROR,
}

UNFINISHED = frozenset({PaymentState.CREATED, PaymentState.STARTED, PaymentState.SUBMITTED})

# Every legal move; anything else is refused (see service.transition).
TRANSITIONS: dict[PaymentState, frozenset[PaymentState]] = {
    PaymentState.CREATED: frozenset(
        {
            PaymentState.STARTED,
            PaymentState.SUBMITTED,
            PaymentState.SUCCEEDED,
            PaymentState.DECLINED,
            PaymentState.SYSTEM_CANCELLED,
            PaymentState.EXPIRED,
            PaymentState.ERROR,
        }
    ),
    PaymentState.STARTED: frozenset(
        {
            PaymentState.SUBMITTED,
            PaymentState.SUCCEEDED,
            PaymentState.DECLINED,
            PaymentState.USER_CANCELLED,
            PaymentState.SYSTEM_CANCELLED,
            PaymentState.EXPIRED,
            PaymentState.ERROR,
        }
    ),
    PaymentState.SUBMITTED: frozenset(
        {
            PaymentState.SUCCEEDED,
            PaymentState.DECLINED,
            PaymentState.SYSTEM_CANCELLED,
            PaymentState.EXPIRED,
            PaymentState.ERROR,
        }
    ),
    PaymentState.SUCCEEDED: frozenset(),
    PaymentState.DECLINED: frozenset(),
    PaymentState.USER_CANCELLED: frozenset(),
    PaymentState.SYSTEM_CANCELLED: frozenset(),
    PaymentState.EXPIRED: frozenset(),
    PaymentState.ERROR: frozenset(),
}


class Currency(StrEnum):
    """The ISO 4217 currencies the partner cities use; amounts are in their minor units."""

    EUR = "EUR"
    GBP = "GBP"
    SEK = "SEK"
    HUF = "HUF"


class RequestState(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class RefundState(StrEnum):
    SUBMITTED = "submitted"
    SUCCESS = "success"
    ERROR = "error"


def _values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


def _enum(enum: type[StrEnum], name: str, length: int) -> Enum:
    return Enum(enum, name=name, native_enum=False, length=length, values_callable=_values)


class PaymentRequest(IdMixin, TimestampMixin, Base):
    """Money a payer owes the municipality (a pagoPA debt position), found by its RF reference."""

    __tablename__ = "payment_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_paid >= 0 AND amount_paid <= amount", name="amount_paid_within"),
    )

    creditor_reference: Mapped[str] = mapped_column(String(25), nullable=False, unique=True)
    state: Mapped[RequestState] = mapped_column(
        _enum(RequestState, "request_state", 16), nullable=False, default=RequestState.OPEN, index=True
    )
    payer_name: Mapped[str] = mapped_column(String(200), nullable=False)
    payer_tax_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payer_email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    category: Mapped[str] = mapped_column(String(50), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_paid: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency", 3), nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    # "metadata" is reserved by SQLAlchemy's declarative base; the column keeps the API's name.
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, nullable=False, default=dict)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class Instalment(Base):
    """One part of a payment request, with its own amount and due date (paid as one payment)."""

    __tablename__ = "instalments"
    __table_args__ = (
        UniqueConstraint("payment_request_id", "number"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    payment_request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payment_requests.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)


class Payment(IdMixin, TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    state: Mapped[PaymentState] = mapped_column(
        _enum(PaymentState, "payment_state", 16), nullable=False, default=PaymentState.CREATED, index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[Currency] = mapped_column(_enum(Currency, "currency", 3), nullable=False)
    reference: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    description: Mapped[str] = mapped_column(String(500), nullable=False)
    return_url: Mapped[str] = mapped_column(String(2000), nullable=False)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    provider_transaction_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    card_brand: Mapped[str | None] = mapped_column(String(20), nullable=True)
    card_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    failure_code: Mapped[str | None] = mapped_column(String(50), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False)
    payment_request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("payment_requests.id"), nullable=True, index=True
    )
    instalment_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    provider_client_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    fee: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    net_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Optimistic lock: an UPDATE that finds the row changed since it was read fails, so two
    # submissions racing on SQLite (which has no SELECT ... FOR UPDATE) cannot both settle it.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}


class PaymentEvent(Base):
    """Each state a payment entered, in order (``GET /v1/payments/{id}/events``)."""

    __tablename__ = "payment_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    payment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), nullable=False, index=True
    )
    state: Mapped[PaymentState] = mapped_column(_enum(PaymentState, "payment_state", 16), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


class Refund(IdMixin, TimestampMixin, Base):
    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[RefundState] = mapped_column(_enum(RefundState, "refund_state", 16), nullable=False)
    provider_refund_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class IdempotencyRecord(TimestampMixin, Base):
    """The first response to an ``Idempotency-Key``: its unique key is what makes a concurrent
    duplicate create nothing (it waits for, then collides with, the first insert)."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("caller", "operation", "key"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    caller: Mapped[str] = mapped_column(String(200), nullable=False)
    operation: Mapped[str] = mapped_column(String(100), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status_code: Mapped[int] = mapped_column(Integer, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class ProviderEvent(Base):
    """A provider webhook, stored once by its event id before it is processed."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)


class BalanceTransaction(Base):
    """Money movements a provider reports for a payment (charge, refund, payout), for reconciliation."""

    __tablename__ = "balance_transactions"
    __table_args__ = (UniqueConstraint("provider", "transaction_id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    transaction_id: Mapped[str] = mapped_column(String(100), nullable=False)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    payout_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)


Index("ix_payments_created_at", Payment.created_at)


class OutboxEvent(OutboxEventMixin, Base):
    pass


class OutboxDelivery(OutboxDeliveryMixin, Base):
    pass


class InboxEvent(InboxEventMixin, Base):
    pass


OUTBOX_TABLES = OutboxTables.from_metadata(Base.metadata)
