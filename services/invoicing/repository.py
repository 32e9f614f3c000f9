"""Every invoicing query."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from services.invoicing.models import (
    DocumentKind,
    IdempotencyKey,
    Invoice,
    RoutingCode,
    StatusChange,
    SupplierWebhook,
)
from services.invoicing.ubl.lifecycle import InvoiceStatus


@dataclass(frozen=True, slots=True)
class InvoiceFilter:
    supplier_id: str | None = None
    status: InvoiceStatus | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    number: str | None = None


def page(session: Session, *, where: InvoiceFilter, limit: int, offset: int) -> tuple[list[Invoice], int]:
    conditions = []
    if where.supplier_id is not None:
        conditions.append(Invoice.supplier_id == where.supplier_id)
    if where.status is not None:
        conditions.append(Invoice.status == where.status)
    if where.issued_from is not None:
        conditions.append(Invoice.issue_date >= where.issued_from.isoformat())
    if where.issued_to is not None:
        conditions.append(Invoice.issue_date <= where.issued_to.isoformat())
    if where.number is not None:
        conditions.append(Invoice.invoice_number == where.number)
    total = session.scalar(select(func.count()).select_from(Invoice).where(*conditions)) or 0
    items = session.scalars(
        select(Invoice)
        .where(*conditions)
        .order_by(Invoice.created_at.desc(), Invoice.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


def get_invoice(
    session: Session, invoice_id: uuid.UUID, *, with_documents: bool = False, for_update: bool = False
) -> Invoice | None:
    query = select(Invoice).where(Invoice.id == invoice_id)
    if with_documents:
        query = query.options(undefer(Invoice.original), undefer(Invoice.sealed))
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def find_duplicate(
    session: Session, *, supplier_id: str, kind: DocumentKind, number: str, year: int
) -> Invoice | None:
    return session.scalars(
        select(Invoice).where(
            Invoice.supplier_id == supplier_id,
            Invoice.kind == kind,
            Invoice.invoice_number == number,
            Invoice.issue_year == year,
        )
    ).first()


def status_changes(session: Session, invoice_id: uuid.UUID) -> Sequence[StatusChange]:
    return session.scalars(
        select(StatusChange).where(StatusChange.invoice_id == invoice_id).order_by(StatusChange.number)
    ).all()


def status_change(session: Session, invoice_id: uuid.UUID, number: int) -> StatusChange | None:
    return session.scalars(
        select(StatusChange)
        .where(StatusChange.invoice_id == invoice_id, StatusChange.number == number)
        .options(undefer(StatusChange.response))
    ).first()


def last_change_number(session: Session, invoice_id: uuid.UUID) -> int:
    found = session.scalar(select(func.max(StatusChange.number)).where(StatusChange.invoice_id == invoice_id))
    return int(found or 0)


def idempotency_key(session: Session, *, supplier_id: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (supplier_id, key))


def routing_codes(session: Session, *, active_only: bool) -> Sequence[RoutingCode]:
    query = select(RoutingCode).order_by(RoutingCode.code)
    if active_only:
        query = query.where(RoutingCode.active.is_(True))
    return session.scalars(query).all()


def active_routing_codes(session: Session) -> set[str]:
    return set(session.scalars(select(RoutingCode.code).where(RoutingCode.active.is_(True))).all())


def routing_code(session: Session, code: str) -> RoutingCode | None:
    return session.get(RoutingCode, code)


def supplier_webhook(session: Session, supplier_id: str) -> SupplierWebhook | None:
    return session.get(SupplierWebhook, supplier_id)
