"""Every invoicing query."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    FromClause,
    Insert,
    Select,
    Table,
    bindparam,
    exists,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session, undefer

from services.common.db import Precompiled, insert_every_column
from services.common.outbox import Outbox, event_parameters, event_within, record_event
from services.invoicing.models import (
    OUTBOX_TABLES,
    DocumentKind,
    IdempotencyKey,
    Invoice,
    RoutingCode,
    StatusChange,
    SupplierWebhook,
)
from services.invoicing.ubl.lifecycle import InvoiceStatus
from services.invoicing.webhooks import supplier_outbox


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


def _insert_if(table: Table, prefix: str, source: Any, names: tuple[str, ...] | None = None) -> Insert:
    """INSERT of one row of bound values for the columns ``names`` (default: every column), once
    per row of ``source`` (a WHERE clause or a table): no row when ``source`` gives none."""
    columns = [table.c[name] for name in names] if names is not None else list(table.c)
    row = select(*(bindparam(f"{prefix}{c.name}", type_=c.type) for c in columns))
    row = row.select_from(source) if isinstance(source, FromClause) else row.where(source)
    return insert(table).from_select([c.name for c in columns], row)


def _write_submission(_dialect: str) -> Select[Any]:
    """The whole of a submission's write on PostgreSQL, in one statement, when the buyer reference
    (BT-10) is an active routing code: the invoice, its first status change, and the status event
    with one outbox delivery per subscriber (the service's configured ones for the event, and the
    supplier's webhook, if it registered one; :func:`services.common.outbox.event_within`).
    Answers how many invoices it wrote, 1 or 0. Foreign keys are checked at the end of the
    statement, when the rows they name exist.
    """
    routable = exists().where(
        _ROUTING_CODES.c.code == bindparam("routing_code"), _ROUTING_CODES.c.active.is_(True)
    )
    invoice = _insert_if(_INVOICES, "invoice_", routable).returning(_INVOICES.c.id).cte("new_invoice")
    webhook = select(_SUPPLIER_WEBHOOKS.c.url).where(
        _SUPPLIER_WEBHOOKS.c.supplier_id == bindparam("invoice_supplier_id")
    )
    return (
        select(func.count())
        .select_from(invoice)
        .add_cte(_insert_if(_STATUS_CHANGES, "change_", invoice).cte("new_change"))
        .add_cte(event_within(OUTBOX_TABLES, once_per=invoice, more_subscribers=webhook))
    )


# Compiled once and run on the driver's cursor (services.common.db.Precompiled): SQLAlchemy's
# execution path costs more CPU than these statements' round trips.
_WRITE_SUBMISSION = Precompiled(_write_submission)
_INSERT_INVOICE = Precompiled(lambda _: insert_every_column(_INVOICES))
_INSERT_STATUS_CHANGE = Precompiled(lambda _: insert_every_column(_STATUS_CHANGES))


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """The ``invoice.status_changed`` event of a status change, for :func:`insert_invoice`."""

    outbox: Outbox
    """The service's outbox, with its configured subscribers (the supplier's webhook not among them)."""
    event_type: str
    resource_id: str
    payload: dict[str, Any]
    """JSON values only (strings, numbers, lists, None), stored as given."""


def insert_invoice(
    session: Session,
    values: dict[str, Any],
    *,
    first_change: dict[str, Any],
    event: StatusEvent,
    routing_code: str,
) -> bool:
    """Write a new invoice row, its first status change and their event (delivered to the
    outbox's subscribers and the supplier's webhook), if ``routing_code`` is an active routing
    code; answer whether it did.

    Submission writes each row once and never changes it in that request, so the unit of work's
    bookkeeping (identity map, change tracking, a flush plan per call) is skipped. On PostgreSQL
    the check and every row go in one statement (:func:`_write_submission`), one round trip;
    SQLite has no INSERT inside WITH: it reads first, then takes one statement per row, the event
    through :func:`~services.common.outbox.record_event`. A duplicate raises ``IntegrityError`` as
    a flush would, and nothing is written.
    """
    supplier_id = values["supplier_id"]
    if session.get_bind().dialect.name == "postgresql":
        parameters = {f"invoice_{name}": value for name, value in values.items()}
        parameters.update({f"change_{name}": value for name, value in first_change.items()})
        parameters["routing_code"] = routing_code
        parameters.update(
            event_parameters(
                event.outbox,
                event_type=event.event_type,
                resource_id=event.resource_id,
                payload=event.payload,
            )
        )
        row = _WRITE_SUBMISSION.first(session, parameters)
        assert row is not None  # count(*) answers one row
        return bool(row[0])
    if not routing_code_active(session, routing_code):
        return False
    hook = supplier_webhook(session, supplier_id)
    _INSERT_INVOICE.execute(session, dict(values))
    _INSERT_STATUS_CHANGE.execute(session, dict(first_change))
    record_event(
        session,
        supplier_outbox(event.outbox, hook.url if hook is not None else None),
        event_type=event.event_type,
        resource_id=event.resource_id,
        payload=event.payload,
    )
    return True


def insert_status_change(session: Session, values: dict[str, Any]) -> None:
    """Write a new status history row in one statement (see :func:`insert_invoice`)."""
    _INSERT_STATUS_CHANGE.execute(session, dict(values))


_ROUTING_CODES = RoutingCode.metadata.tables[RoutingCode.__tablename__]
_SUPPLIER_WEBHOOKS = SupplierWebhook.metadata.tables[SupplierWebhook.__tablename__]
_ACTIVE_ROUTING_CODES = select(_ROUTING_CODES.c.code).where(_ROUTING_CODES.c.active.is_(True))


def routing_code_active(session: Session, code: str) -> bool:
    found = session.get(RoutingCode, code)
    return found is not None and found.active


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
