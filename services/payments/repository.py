"""Every payments query."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from services.payments.models import Payment


def get(session: Session, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
    return session.get(Payment, payment_id, with_for_update=for_update)


def add(session: Session, payment: Payment) -> Payment:
    session.add(payment)
    session.flush()
    return payment
