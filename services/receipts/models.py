"""The receipts database: sealed receipt records and their numbering series, the background PDF
renderings, the reconciliation inputs (provider payouts and balance transactions, bank statements)
and runs, the daily closes, plus the outbox and inbox.

A receipt row holds the record's canonical bytes (the record itself), their SHA-256 and the
signature; the other columns are copies of record values kept for queries. No code path updates
or deletes a receipt, and on PostgreSQL a trigger (see the migrations) refuses both.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
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

# BIGINT on PostgreSQL; INTEGER on SQLite, where only an INTEGER PRIMARY KEY is auto-numbered.
Serial64 = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = new_metadata()


class ReceiptSeries(Base):
    """The counter of one series (municipality, year): locked while a receipt is numbered, so
    numbers are handed out one at a time and without gaps, and each record chains onto the last."""

    __tablename__ = "receipt_series"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    municipality: Mapped[str] = mapped_column(String(16), nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    last_number: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class Receipt(IdMixin, TimestampMixin, Base):
    __tablename__ = "receipts"
    __table_args__ = (UniqueConstraint("series_key", "number"),)

    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    series_key: Mapped[str] = mapped_column(ForeignKey("receipt_series.key"), nullable=False)
    number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Unique: "payment:<id>" or "refund:<id>". Whatever happens upstream (redeliveries, replays,
    # two workers at once), a payment gets one receipt and a refund one credit receipt.
    source: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(nullable=False, index=True)
    credits_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("receipts.id"), nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reference: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    language: Mapped[str] = mapped_column(String(8), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    # Days since 1970-01-01 of the payment (or refund) time, for portable date-window SQL.
    paid_day: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    record: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    record_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    signature: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    key_id: Mapped[str] = mapped_column(String(64), nullable=False)


class PdfStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"  # kept being retried with a growing wait; the record itself is unaffected


class ReceiptPdf(Base):
    """The archival PDF of a receipt, rendered in the background after the record committed."""

    __tablename__ = "receipt_pdfs"

    receipt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("receipts.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    rendered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Payout(IdMixin, TimestampMixin, Base):
    """A provider's transfer to the municipality's bank account: ``amount`` is what arrives (net),
    ``gross`` what was collected and ``fee`` what the provider kept."""

    __tablename__ = "payouts"
    __table_args__ = (UniqueConstraint("provider", "payout_id"),)

    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    payout_id: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    arrival_date: Mapped[date] = mapped_column(Date, nullable=False)
    arrival_day: Mapped[int] = mapped_column(Integer, nullable=False)


class BalanceTransaction(Base):
    """A money movement the provider reports: a charge (positive gross) or a refund (negative),
    its fee and net, and the payout that carried it (None while not paid out)."""

    __tablename__ = "balance_transactions"
    __table_args__ = (UniqueConstraint("provider", "transaction_id"),)

    id: Mapped[int] = mapped_column(Serial64, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32), nullable=False)
    transaction_id: Mapped[str] = mapped_column(String(100), nullable=False)
    # The receipt source it belongs to: "payment:<id>" or "refund:<id>".
    source: Mapped[str] = mapped_column(String(120), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    fee: Mapped[int] = mapped_column(BigInteger, nullable=False)
    net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    payout_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class BankStatement(IdMixin, Base):
    __tablename__ = "bank_statements"

    sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    format: Mapped[str] = mapped_column(String(16), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    entries: Mapped[int] = mapped_column(Integer, nullable=False)
    new_entries: Mapped[int] = mapped_column(Integer, nullable=False)
    imported_by: Mapped[str] = mapped_column(String(200), nullable=False)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class BankEntry(Base):
    """One booked movement on the account. ``fingerprint`` makes a movement that appears in two
    uploaded statements (a re-import, overlapping periods) one row; ``match_ref`` is the payout
    identifier found in its end-to-end id or remittance information, if any."""

    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(Serial64, primary_key=True, autoincrement=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("bank_statements.id"), nullable=False, index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    account_iban: Mapped[str] = mapped_column(String(34), nullable=False)
    booking_date: Mapped[date] = mapped_column(Date, nullable=False)
    booking_day: Mapped[int] = mapped_column(Integer, nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    direction: Mapped[str] = mapped_column(String(4), nullable=False)
    reversal: Mapped[bool] = mapped_column(Boolean, nullable=False)
    end_to_end_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    remittance_information: Mapped[str | None] = mapped_column(Text, nullable=True)
    bank_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    match_ref: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)


class Outcome(StrEnum):
    MATCHED = "matched"
    UNMATCHED_RECEIPT = "unmatched_receipt"
    UNMATCHED_BANK_ENTRY = "unmatched_bank_entry"
    PARTIAL = "partial"
    DUPLICATE = "duplicate"
    FEE_DIFFERENCE = "fee_difference"
    IN_TRANSIT = "in_transit"
    # The provider reports money moved (a charge or a refund) that no receipt records.
    UNMATCHED_PROVIDER_TRANSACTION = "unmatched_provider_transaction"


# What an officer must work on; a fee difference is explained and in-transit money is not late yet.
OPEN_OUTCOMES = frozenset({Outcome.UNMATCHED_RECEIPT, Outcome.UNMATCHED_BANK_ENTRY, Outcome.PARTIAL,
                           Outcome.DUPLICATE, Outcome.UNMATCHED_PROVIDER_TRANSACTION})  # fmt: skip


class Subject(StrEnum):
    RECEIPT = "receipt"
    PAYOUT = "payout"
    BANK_ENTRY = "bank_entry"
    TRANSACTION = "transaction"  # a provider balance transaction


class ReconciliationRun(IdMixin, TimestampMixin, Base):
    __tablename__ = "reconciliation_runs"

    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    as_of: Mapped[date] = mapped_column(Date, nullable=False)
    date_from: Mapped[date] = mapped_column(Date, nullable=False)
    date_to: Mapped[date] = mapped_column(Date, nullable=False)
    window_days: Mapped[int] = mapped_column(Integer, nullable=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    seconds: Mapped[float | None] = mapped_column(nullable=True)


class ReconciliationItem(Base):
    """One outcome of a run: for a receipt, a payout or a bank entry, with what linked them."""

    __tablename__ = "reconciliation_items"
    __table_args__ = (
        Index("ix_reconciliation_items_run_payout", "run_id", "payout_id"),
        Index("ix_reconciliation_items_run_entry", "run_id", "bank_entry_id"),
        Index("ix_reconciliation_items_run_outcome", "run_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(Serial64, primary_key=True, autoincrement=True)
    # No foreign key: items are only written by the run, in the transaction that writes the run row,
    # and a per-row key check costs a quarter of a run of a million receipts.
    run_id: Mapped[uuid.UUID] = mapped_column(nullable=False)
    subject: Mapped[str] = mapped_column(String(16), nullable=False)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    day: Mapped[int] = mapped_column(Integer, nullable=False)
    receipt_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    payout_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    bank_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    expected: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    actual: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    fee: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    detail: Mapped[str | None] = mapped_column(String(300), nullable=True)


class DailyClose(IdMixin, Base):
    """What one series issued on one day, fixed for auditors: counts, first and last number, totals
    and the hash of the last record (which pins everything before it through the chain)."""

    __tablename__ = "daily_closes"
    __table_args__ = (UniqueConstraint("series_key", "day", "currency"),)

    series_key: Mapped[str] = mapped_column(ForeignKey("receipt_series.key"), nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    receipts_count: Mapped[int] = mapped_column(Integer, nullable=False)
    credits_count: Mapped[int] = mapped_column(Integer, nullable=False)
    first_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    receipts_total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    credits_total: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    closed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


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
