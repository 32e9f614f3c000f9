"""Every receipts query."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.receipts.models import Receipt


def get(session: Session, receipt_id: uuid.UUID) -> Receipt | None:
    return session.get(Receipt, receipt_id)


def get_by_payment(session: Session, payment_id: uuid.UUID) -> Receipt | None:
    return session.scalars(select(Receipt).where(Receipt.payment_id == payment_id)).one_or_none()


def add_unless_duplicate(session: Session, receipt: Receipt) -> Receipt:
    """Insert ``receipt``, or return the receipt its payment already has (a concurrent insert
    won the unique constraint on payment_id; only the savepoint is rolled back)."""
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError:
        existing = get_by_payment(session, receipt.payment_id)
        if existing is None:
            raise
        return existing
    return receipt


def page(session: Session, *, limit: int, offset: int) -> tuple[list[Receipt], int]:
    total = session.scalar(select(func.count()).select_from(Receipt)) or 0
    items = session.scalars(
        select(Receipt).order_by(Receipt.created_at.desc(), Receipt.id).limit(limit).offset(offset)
    ).all()
    return list(items), total
