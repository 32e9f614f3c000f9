"""Every invoicing query."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Table, bindparam, exists, func, insert, select
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


_INVOICES = Invoice.metadata.tables[Invoice.__tablename__]
_STATUS_CHANGES = StatusChange.metadata.tables[StatusChange.__tablename__]
_INSERT_INVOICE = insert(_INVOICES)
_INSERT_STATUS_CHANGE = insert(_STATUS_CHANGES)


def _insert_every_column(table: Table, prefix: str) -> Insert:
    return insert(table).values({c.name: bindparam(f"{prefix}{c.name}", type_=c.type) for c in table.c})


# PostgreSQL runs an INSERT inside WITH; the status change's foreign key is checked at the end of
# the statement, when the invoice row exists. https://www.postgresql.org/docs/current/queries-with.html
_INSERT_INVOICE_AND_CHANGE = _insert_every_column(_STATUS_CHANGES, "change_").add_cte(
    _insert_every_column(_INVOICES, "invoice_").cte("new_invoice")
)


def insert_invoice(session: Session, values: dict[str, Any], *, first_change: dict[str, Any]) -> None:
    """Write a new invoice row and its first status change.

    Submission writes each row once and never changes it in that request, so the unit of work's
    bookkeeping (identity map, change tracking, a flush plan per call) is skipped: a Core insert
    costs half the CPU of ``add`` and ``flush`` here. On PostgreSQL both rows go in one statement,
    a round trip fewer; SQLite has no INSERT inside WITH and takes two. A duplicate raises
    ``IntegrityError`` as a flush would, and nothing is written.
    """
    if session.get_bind().dialect.name == "postgresql":
        parameters = {f"invoice_{name}": value for name, value in values.items()}
        parameters.update({f"change_{name}": value for name, value in first_change.items()})
        session.execute(_INSERT_INVOICE_AND_CHANGE, parameters)
    else:
        session.execute(_INSERT_INVOICE, values)
        session.execute(_INSERT_STATUS_CHANGE, first_change)


def insert_status_change(session: Session, values: dict[str, Any]) -> None:
    """Write a new status history row in one statement (see :func:`insert_invoice`)."""
    session.execute(_INSERT_STATUS_CHANGE, values)


@dataclass(frozen=True, slots=True)
class SubmissionLookups:
    """What a submission reads before it writes, in one round trip."""

    routing_code_active: bool
    """The buyer reference (BT-10) is an active routing code."""
    webhook_url: str | None
    """Where the supplier's events go, if it registered a webhook."""


_ROUTING_CODES = RoutingCode.metadata.tables[RoutingCode.__tablename__]
_SUPPLIER_WEBHOOKS = SupplierWebhook.metadata.tables[SupplierWebhook.__tablename__]
# On the tables' columns rather than the mapped attributes: the session then runs it as a plain
# Core statement, without ORM compilation and result handling (0.27 -> 0.20 ms measured).
_ACTIVE_ROUTING_CODES = select(_ROUTING_CODES.c.code).where(_ROUTING_CODES.c.active.is_(True))
_SUBMISSION_LOOKUPS = select(
    exists()
    .where(_ROUTING_CODES.c.code == bindparam("code"), _ROUTING_CODES.c.active.is_(True))
    .label("routing_code_active"),
    select(_SUPPLIER_WEBHOOKS.c.url)
    .where(_SUPPLIER_WEBHOOKS.c.supplier_id == bindparam("supplier_id"))
    .scalar_subquery()
    .label("webhook_url"),
)


def submission_lookups(
    session: Session, *, supplier_id: str, buyer_reference: str | None
) -> SubmissionLookups:
    if buyer_reference is None:
        # No routing code to look for; the finding lists the registered ones (active_routing_codes).
        hook = supplier_webhook(session, supplier_id)
        return SubmissionLookups(False, hook.url if hook is not None else None)
    row = session.execute(_SUBMISSION_LOOKUPS, {"code": buyer_reference, "supplier_id": supplier_id}).one()
    return SubmissionLookups(bool(row.routing_code_active), row.webhook_url)


def idempotency_key(session: Session, *, supplier_id: str, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, (supplier_id, key))


def routing_codes(session: Session, *, active_only: bool) -> Sequence[RoutingCode]:
    query = select(RoutingCode).order_by(RoutingCode.code)
    if active_only:
        query = query.where(RoutingCode.active.is_(True))
    return session.scalars(query).all()


def active_routing_codes(session: Session) -> set[str]:
    return set(session.scalars(_ACTIVE_ROUTING_CODES).all())


def routing_code(session: Session, code: str) -> RoutingCode | None:
    return session.get(RoutingCode, code)


def supplier_webhook(session: Session, supplier_id: str) -> SupplierWebhook | None:
    return session.get(SupplierWebhook, supplier_id)
