"""Every receipts query."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.receipts.models import Receipt


def get(session: Session, receipt_id: uuid.UUID) -> Receipt | None:
    return session.get(Receipt, receipt_id)


def get_by_payment(session: Session, payment_id: uuid.UUID) -> Receipt | None:
    return session.scalars(select(Receipt).where(Receipt.payment_id == payment_id)).one_or_none()


def add(session: Session, receipt: Receipt) -> Receipt:
    session.add(receipt)
    session.flush()
    return receipt


def page(session: Session, *, limit: int, offset: int) -> tuple[list[Receipt], int]:
    total = session.scalar(select(func.count()).select_from(Receipt)) or 0
    items = session.scalars(
        select(Receipt).order_by(Receipt.created_at.desc(), Receipt.id).limit(limit).offset(offset)
    ).all()
    return list(items), total
