"""Every receipts query but reconciliation's set-based statements (in ``reconciliation.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Generator, Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, case, func, select, update
from sqlalchemy import false as sa_false
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.receipts.chain import GENESIS_HASH, EarlierOriginal, StoredReceipt
from services.receipts.document import ReceiptKind, Series
from services.receipts.models import (
    BalanceTransaction,
    BankEntry,
    BankStatement,
    Base,
    DailyClose,
    Payout,
    PdfStatus,
    Receipt,
    ReceiptPdf,
    ReceiptSeries,
    ReconciliationItem,
    ReconciliationRun,
)


def _insert_ignoring_conflicts(session: Session, table: type[Base], rows: Sequence[dict[str, object]]) -> int:
    """Insert ``rows``, skipping those that collide with a unique constraint; how many went in."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    target = cast(Table, table.__table__)
    # RETURNING counts what went in (an executemany's rowcount is -1 on psycopg).
    statement = module.insert(target).on_conflict_do_nothing().returning(*target.primary_key.columns)
    result: CursorResult[Any] = session.connection().execute(statement, list(rows))
    return len(result.all())


# ---- receipts and their series -------------------------------------------------------------


def begin_writing(session: Session) -> None:
    """On SQLite, take the database's write lock before the first read of an issuing transaction: a
    transaction that read first could not write after a concurrent writer committed (its snapshot
    would be stale), and would fail instead of waiting. PostgreSQL locks rows as it goes."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(ReceiptSeries).where(sa_false()).values(last_number=ReceiptSeries.last_number))


def lock_series(session: Session, series: Series) -> ReceiptSeries:
    """The counter row of ``series`` (created if new), locked until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE`` makes a concurrent issuer in the same series wait for
    this transaction, then read the number it left. SQLite has one writer at a time; the no-op
    UPDATE takes the write lock before the read, so the read is never stale.
    """
    _insert_ignoring_conflicts(
        session,
        ReceiptSeries,
        [{"key": series.key, "municipality": series.municipality, "year": series.year, "last_number": 0,
          "last_hash": GENESIS_HASH, "created_at": utcnow()}],
    )  # fmt: skip
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(ReceiptSeries)
            .where(ReceiptSeries.key == series.key)
            .values(last_number=ReceiptSeries.last_number)
        )
    row = session.scalars(
        select(ReceiptSeries)
        .where(ReceiptSeries.key == series.key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row


def get(session: Session, receipt_id: uuid.UUID) -> Receipt | None:
    return session.get(Receipt, receipt_id)


def get_by_source(session: Session, source: str) -> Receipt | None:
    return session.scalars(select(Receipt).where(Receipt.source == source)).one_or_none()


def get_by_number(session: Session, series_key: str, number: int) -> Receipt | None:
    return session.scalars(
        select(Receipt).where(Receipt.series_key == series_key, Receipt.number == number)
    ).one_or_none()


def lock_receipt(session: Session, receipt_id: uuid.UUID) -> Receipt | None:
    """The receipt ``receipt_id``, its row locked until the transaction ends (PostgreSQL; SQLite's
    issuing transactions already hold the database's write lock, see :func:`begin_writing`).

    Refunds lock the receipt they credit: their credit receipts may land in different series
    (the original's, and the next year's), whose locks alone would not keep them apart."""
    return session.scalars(
        select(Receipt)
        .where(Receipt.id == receipt_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def earlier_original(session: Session, receipt_id: str, *, outside_series: str) -> EarlierOriginal | None:
    """A credited receipt as stored, with the stored credit receipts of it in other series than
    ``outside_series`` (the chain check keeps those of earlier series); None when not stored."""
    try:
        key = uuid.UUID(receipt_id)
    except ValueError:
        return None
    original = session.execute(
        select(Receipt.record, Receipt.record_hash, Receipt.signature).where(Receipt.id == key)
    ).one_or_none()
    if original is None:
        return None
    credits = session.execute(
        select(Receipt.record, Receipt.record_hash, Receipt.signature)
        .where(Receipt.credits_id == key, Receipt.series_key != outside_series)
        .order_by(Receipt.series_key, Receipt.number)
    )
    return EarlierOriginal(
        original=StoredReceipt(bytes(original[0]), original[1], bytes(original[2])),
        other_credits=tuple(StoredReceipt(bytes(r), h, bytes(g)) for r, h, g in credits),
    )


def credited_total(session: Session, receipt_id: uuid.UUID) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Receipt.amount), 0)).where(Receipt.credits_id == receipt_id)
    )
    return int(total or 0)


def add_receipt(session: Session, receipt: Receipt, series: ReceiptSeries) -> Receipt:
    """Insert ``receipt`` with its pending PDF and advance the series, or return the receipt its
    source already has (a concurrent insert won the unique constraint; only the savepoint is undone)."""
    try:
        with session.begin_nested():
            session.add(receipt)
            session.flush()
            session.add(ReceiptPdf(receipt_id=receipt.id, status=PdfStatus.PENDING, attempts=0))
            series.last_number = receipt.number
            series.last_hash = receipt.record_hash
    except IntegrityError:
        session.expire(series)
        existing = get_by_source(session, receipt.source)
        if existing is None:
            raise
        return existing
    return receipt


def page(
    session: Session, *, limit: int, offset: int, payment_id: uuid.UUID | None, series_key: str | None
) -> tuple[list[Receipt], int]:
    query = select(Receipt)
    if payment_id is not None:
        query = query.where(Receipt.payment_id == payment_id)
    if series_key is not None:
        query = query.where(Receipt.series_key == series_key)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    items = session.scalars(
        query.order_by(Receipt.created_at.desc(), Receipt.id).limit(limit).offset(offset)
    ).all()
    return list(items), total


def all_series(session: Session) -> list[ReceiptSeries]:
    return list(session.scalars(select(ReceiptSeries).order_by(ReceiptSeries.key)))


def series_keys(session: Session) -> list[str]:
    return list(session.scalars(select(ReceiptSeries.key).order_by(ReceiptSeries.key)))


def series_records(session: Session, series_key: str) -> Generator[StoredReceipt, None, None]:
    """The stored records of a series in number order, streamed."""
    rows = session.execute(
        select(Receipt.record, Receipt.record_hash, Receipt.signature)
        .where(Receipt.series_key == series_key)
        .order_by(Receipt.number)
        .execution_options(yield_per=1000)
    )
    try:
        for record, record_hash, signature in rows:
            yield StoredReceipt(bytes(record), record_hash, bytes(signature))
    finally:
        rows.close()  # the reader may stop at the first broken link


# ---- PDFs ------------------------------------------------------------------------------------


def pdf_of(session: Session, receipt_id: uuid.UUID) -> ReceiptPdf | None:
    return session.get(ReceiptPdf, receipt_id)


def pdf_statuses(session: Session, receipt_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.execute(
        select(ReceiptPdf.receipt_id, ReceiptPdf.status).where(ReceiptPdf.receipt_id.in_(receipt_ids))
    )
    return {receipt_id: status for receipt_id, status in rows}


def due_pdfs(session: Session, *, now: datetime, limit: int) -> list[uuid.UUID]:
    return list(
        session.scalars(
            select(ReceiptPdf.receipt_id)
            .where(ReceiptPdf.status != PdfStatus.READY, ReceiptPdf.next_attempt_at <= now)
            .order_by(ReceiptPdf.next_attempt_at)
            .limit(limit)
        )
    )


def claim_pdf(session: Session, receipt_id: uuid.UUID, *, now: datetime, until: datetime) -> bool:
    """Take the rendering of one due PDF until ``until`` (a lease: another worker skips it meanwhile,
    and a worker that dies lets it fall due again); False when it is not due or another has it."""
    claimed = session.execute(
        update(ReceiptPdf)
        .where(
            ReceiptPdf.receipt_id == receipt_id,
            ReceiptPdf.status != PdfStatus.READY,
            ReceiptPdf.next_attempt_at <= now,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return bool(cast(CursorResult[Any], claimed).rowcount == 1)


# ---- daily close -----------------------------------------------------------------------------


def day_summary(
    session: Session, *, series_key: str, first: datetime, end: datetime
) -> list[dict[str, object]]:
    """Per currency: counts, first and last number and totals of what a series issued in [first, end)."""
    credit = Receipt.kind == ReceiptKind.CREDIT.value
    rows = session.execute(
        select(
            Receipt.currency,
            func.sum(case((credit, 0), else_=1)),
            func.sum(case((credit, 1), else_=0)),
            func.min(Receipt.number),
            func.max(Receipt.number),
            func.sum(case((credit, 0), else_=Receipt.amount)),
            func.sum(case((credit, Receipt.amount), else_=0)),
        )
        .where(Receipt.series_key == series_key, Receipt.issued_at >= first, Receipt.issued_at < end)
        .group_by(Receipt.currency)
        .order_by(Receipt.currency)
    ).all()
    keys = ("currency", "receipts_count", "credits_count", "first_number", "last_number", "receipts_total",
            "credits_total")  # fmt: skip
    return [dict(zip(keys, row, strict=True)) for row in rows]


def series_of_day(session: Session, *, first: datetime, end: datetime) -> list[str]:
    return list(
        session.scalars(
            select(Receipt.series_key).where(Receipt.issued_at >= first, Receipt.issued_at < end).distinct()
        )
    )


def closes_of(session: Session, day: date) -> list[DailyClose]:
    return list(
        session.scalars(select(DailyClose).where(DailyClose.day == day).order_by(DailyClose.series_key))
    )


def closes_of_series(session: Session, series_key: str) -> list[DailyClose]:
    return list(
        session.scalars(
            select(DailyClose)
            .where(DailyClose.series_key == series_key)
            .order_by(DailyClose.day, DailyClose.currency)
        )
    )


def list_closes(session: Session, *, limit: int) -> list[DailyClose]:
    return list(
        session.scalars(
            select(DailyClose).order_by(DailyClose.day.desc(), DailyClose.series_key).limit(limit)
        )
    )


# ---- reconciliation inputs and results ---------------------------------------------------------


def insert_payouts(session: Session, rows: Sequence[dict[str, object]]) -> int:
    return _insert_ignoring_conflicts(session, Payout, rows)


def insert_balance_transactions(session: Session, rows: Sequence[dict[str, object]]) -> int:
    return _insert_ignoring_conflicts(session, BalanceTransaction, rows)


def statement_by_hash(session: Session, sha256: str) -> BankStatement | None:
    return session.scalars(select(BankStatement).where(BankStatement.sha256 == sha256)).one_or_none()


def insert_bank_entries(session: Session, rows: Sequence[dict[str, object]]) -> int:
    return _insert_ignoring_conflicts(session, BankEntry, rows)


def known_payout_ids(session: Session, candidates: Sequence[str]) -> set[str]:
    if not candidates:
        return set()
    return set(session.scalars(select(Payout.payout_id).where(Payout.payout_id.in_(candidates))))


def get_run(session: Session, run_id: uuid.UUID) -> ReconciliationRun | None:
    return session.get(ReconciliationRun, run_id)


def latest_run(session: Session) -> ReconciliationRun | None:
    return session.scalars(
        select(ReconciliationRun).order_by(ReconciliationRun.created_at.desc()).limit(1)
    ).first()


def run_items(
    session: Session, run_id: uuid.UUID, *, outcomes: Sequence[str] | None, limit: int | None, offset: int = 0
) -> tuple[list[ReconciliationItem], int]:
    query = select(ReconciliationItem).where(ReconciliationItem.run_id == run_id)
    if outcomes:
        query = query.where(ReconciliationItem.outcome.in_(outcomes))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(ReconciliationItem.day, ReconciliationItem.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query)), total


def stream_items(session: Session, run_id: uuid.UUID) -> Iterator[ReconciliationItem]:
    yield from session.scalars(
        select(ReconciliationItem)
        .where(ReconciliationItem.run_id == run_id)
        .order_by(ReconciliationItem.id)
        .execution_options(yield_per=2000)
    )


def run_currencies(session: Session, run_id: uuid.UUID) -> list[str]:
    """The currencies of a run's items, the most frequent first."""
    rows = session.execute(
        select(ReconciliationItem.currency, func.count())
        .where(ReconciliationItem.run_id == run_id)
        .group_by(ReconciliationItem.currency)
        .order_by(func.count().desc(), ReconciliationItem.currency)
    )
    return [str(currency) for currency, _ in rows]


def totals_by_day(
    session: Session, run_id: uuid.UUID, subject: str, currency: str
) -> list[tuple[int, str, int, int]]:
    """(day, outcome, count, expected amount) of one subject's items in one currency."""
    rows = session.execute(
        select(
            ReconciliationItem.day,
            ReconciliationItem.outcome,
            func.count(),
            func.coalesce(func.sum(ReconciliationItem.expected), 0),
        )
        .where(
            ReconciliationItem.run_id == run_id,
            ReconciliationItem.subject == subject,
            ReconciliationItem.currency == currency,
        )
        .group_by(ReconciliationItem.day, ReconciliationItem.outcome)
        .order_by(ReconciliationItem.day, ReconciliationItem.outcome)
    )
    return [(int(d), str(o), int(c), int(a or 0)) for d, o, c, a in rows]


def settled_by_day(session: Session, run_id: uuid.UUID, currency: str) -> list[tuple[int, int]]:
    """(day, amount) the bank received in ``currency`` for payouts this run matched."""
    rows = session.execute(
        select(ReconciliationItem.day, func.coalesce(func.sum(ReconciliationItem.actual), 0))
        .where(
            ReconciliationItem.run_id == run_id,
            ReconciliationItem.currency == currency,
            ReconciliationItem.subject == "payout",
            ReconciliationItem.bank_entry_id.is_not(None),
        )
        .group_by(ReconciliationItem.day)
        .order_by(ReconciliationItem.day)
    )
    return [(int(d), int(a or 0)) for d, a in rows]


def display_numbers(session: Session, receipt_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = session.execute(
        select(Receipt.id, Receipt.series_key, Receipt.number).where(Receipt.id.in_(receipt_ids))
    )
    return {receipt_id: f"{series_key}-{number:06d}" for receipt_id, series_key, number in rows}


def add(session: Session, row: object) -> None:
    session.add(row)
    session.flush()
