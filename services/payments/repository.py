"""Every payments query."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached

from services.common.db import Precompiled, insert_every_column, utcnow
from services.payments.models import (
    UNFINISHED,
    BalanceTransaction,
    IdempotencyRecord,
    Instalment,
    Payment,
    PaymentEvent,
    PaymentRequest,
    PaymentState,
    ProviderEvent,
    Refund,
    RefundState,
    RequestState,
)


def get(session: Session, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
    return session.get(Payment, payment_id, with_for_update=for_update)


def add_new(session: Session, payment: Payment) -> None:
    """Insert a new payment and the first row of its history (its state, at its creation), then
    hold ``payment`` in the session as if it had been loaded: a later change to it in the same
    transaction is flushed as an UPDATE, like any other. Every column the caller left unset
    takes its default first, so that nothing is left to load."""
    # The columns' defaults, as a flush would give them.
    payment.id = payment.id or uuid.uuid4()
    payment.state = payment.state or PaymentState.CREATED
    payment.created_at = payment.created_at or utcnow()
    payment.updated_at = payment.updated_at or utcnow()
    payment.version = payment.version or 1
    values = {name: getattr(payment, name) for name in _PAYMENT_COLUMNS}
    for name, value in values.items():
        setattr(payment, name, value)
    _NEW_PAYMENT.execute(session, values | {"event_state": payment.state, "event_at": payment.created_at})
    if session.get_bind().dialect.name != "postgresql":
        add_event(session, payment.id, payment.state, payment.created_at)
    make_transient_to_detached(payment)
    session.add(payment)


def payment_id_by_provider_id(session: Session, provider: str, provider_id: str) -> uuid.UUID | None:
    """The id of the payment the provider knows as ``provider_id`` (a webhook names it so)."""
    row = _PAYMENT_ID_BY_PROVIDER_ID.first(session, {"provider": provider, "provider_id": provider_id})
    if row is None:
        return None
    found = row[0]  # SQLite keeps a UUID as 32 hex digits
    return found if isinstance(found, uuid.UUID) else uuid.UUID(found)


def search(
    session: Session, *, filters: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[list[Payment], int]:
    total = session.scalar(select(func.count()).select_from(Payment).where(*filters)) or 0
    rows = session.scalars(
        select(Payment)
        .where(*filters)
        .order_by(Payment.created_at.desc(), Payment.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def stale_unfinished(session: Session, *, created_before: datetime, limit: int = 200) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.state.in_(UNFINISHED), Payment.created_at < created_before)
            .order_by(Payment.created_at)
            .limit(limit)
        )
    )


def submitted_before(session: Session, *, before: datetime, limit: int = 200) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.state == PaymentState.SUBMITTED, Payment.updated_at < before)
            .order_by(Payment.updated_at)
            .limit(limit)
        )
    )


def add_event(session: Session, payment_id: uuid.UUID, state: PaymentState, at: datetime) -> None:
    """Append to the payment's history: a plain INSERT now (the history is append-only and
    nothing reads it back as objects in the same request). The payment row must exist."""
    _ADD_EVENT.execute(session, {"payment_id": payment_id, "state": state, "occurred_at": at})


def events(session: Session, payment_id: uuid.UUID) -> list[PaymentEvent]:
    return list(
        session.scalars(
            select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
        )
    )


def refunds(session: Session, payment_id: uuid.UUID) -> list[Refund]:
    return list(
        session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at))
    )


def refunded_amounts(session: Session, payment_id: uuid.UUID) -> tuple[int, int]:
    """(refunded successfully, still submitted) in minor units."""
    rows = session.execute(
        select(Refund.state, func.coalesce(func.sum(Refund.amount), 0))
        .where(Refund.payment_id == payment_id)
        .group_by(Refund.state)
    ).all()
    totals = {state: int(amount) for state, amount in rows}
    return totals.get(RefundState.SUCCESS, 0), totals.get(RefundState.SUBMITTED, 0)


def refund_by_provider_id(session: Session, provider_refund_id: str) -> Refund | None:
    return session.scalars(select(Refund).where(Refund.provider_refund_id == provider_refund_id)).first()


def get_request(
    session: Session, request_id: uuid.UUID, *, for_update: bool = False
) -> PaymentRequest | None:
    return session.get(PaymentRequest, request_id, with_for_update=for_update)


def request_by_reference(session: Session, reference: str) -> PaymentRequest | None:
    return session.scalars(
        select(PaymentRequest).where(PaymentRequest.creditor_reference == reference)
    ).first()


def instalments(session: Session, request_id: uuid.UUID) -> list[Instalment]:
    return list(
        session.scalars(
            select(Instalment).where(Instalment.payment_request_id == request_id).order_by(Instalment.number)
        )
    )


def search_requests(
    session: Session, *, filters: list[ColumnElement[bool]], offset: int, limit: int
) -> tuple[list[PaymentRequest], int]:
    total = session.scalar(select(func.count()).select_from(PaymentRequest).where(*filters)) or 0
    rows = session.scalars(
        select(PaymentRequest)
        .where(*filters)
        .order_by(PaymentRequest.created_at.desc(), PaymentRequest.id)
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def open_requests_due_before(session: Session, day: Any, limit: int = 500) -> list[PaymentRequest]:
    return list(
        session.scalars(
            select(PaymentRequest)
            .where(PaymentRequest.state == RequestState.OPEN, PaymentRequest.due_date < day)
            .limit(limit)
        )
    )


def _insert_ignoring_duplicates(session: Session, table: Any, values: dict[str, Any], returning: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING: True when the row went in. On PostgreSQL a concurrent
    duplicate waits for the first transaction, then inserts nothing."""
    statement = _on_conflict_do_nothing(session, table).values(values).returning(returning)
    return session.execute(statement).first() is not None


def _on_conflict_do_nothing(session: Session, table: Any) -> Any:
    return _dialect_insert(session.get_bind().dialect.name)(table).on_conflict_do_nothing()


def _dialect_insert(dialect: str) -> Any:
    """The INSERT construct of ``dialect``, the one that knows ON CONFLICT."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"Tessera runs on PostgreSQL or SQLite, not {dialect}")  # pragma: no cover


# The statements below run on every payment creation and every provider webhook. They are
# written once with Core and compiled once per dialect (:class:`Precompiled`): building a
# statement, computing its cache key and SQLAlchemy's execution path cost more CPU than the
# round trip itself. None of them touches an object the session holds.
_idempotency: Any = IdempotencyRecord.__table__
_provider_events: Any = ProviderEvent.__table__
_payments: Any = Payment.__table__
_payment_events: Any = PaymentEvent.__table__


def _insert_once(table: Any, columns: tuple[str, ...]) -> Precompiled:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: a row, or none when it was there already.
    On PostgreSQL a concurrent duplicate waits for the first transaction, then inserts nothing."""

    def build(dialect: str) -> Any:
        values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
        return _dialect_insert(dialect)(table).values(values).on_conflict_do_nothing().returning(table.c.id)

    return Precompiled(build)


_CLAIM = _insert_once(
    _idempotency, ("caller", "operation", "key", "fingerprint", "status_code", "response", "created_at")
)
_STORE_EVENT = _insert_once(
    _provider_events, ("provider", "event_id", "type", "payload", "received_at", "processed_at", "outcome")
)
_STORE_RESPONSE = Precompiled(
    lambda _: (
        update(_idempotency)
        .where(
            _idempotency.c.caller == bindparam("w_caller"),
            _idempotency.c.operation == bindparam("w_operation"),
            _idempotency.c.key == bindparam("w_key"),
        )
        .values(status_code=bindparam("status_code"), response=bindparam("response"))
    )
)
_MARK_EVENT = Precompiled(
    lambda _: (
        update(_provider_events)
        .where(_provider_events.c.id == bindparam("row_id"))
        .values(processed_at=bindparam("processed_at"), outcome=bindparam("outcome"))
    )
)
_ADD_EVENT = Precompiled(
    lambda _: insert(_payment_events).values(
        payment_id=bindparam("payment_id"), state=bindparam("state"), occurred_at=bindparam("occurred_at")
    )
)
_PAYMENT_COLUMNS = tuple(column.name for column in _payments.columns)


def _new_payment(dialect: str) -> Any:
    """INSERT of a whole payment row; on PostgreSQL with its first history row in the same
    statement (one round trip less: the history row's foreign key is checked at the end of the
    statement, when the payment is there)."""
    payment = insert_every_column(_payments)
    if dialect != "postgresql":
        return payment
    written = payment.returning(_payments.c.id).cte("written")
    first = select(
        written.c.id,
        bindparam("event_state", type_=_payment_events.c.state.type),
        bindparam("event_at", type_=_payment_events.c.occurred_at.type),
    )
    return insert(_payment_events).from_select(["payment_id", "state", "occurred_at"], first)


_NEW_PAYMENT = Precompiled(_new_payment)
_PAYMENT_ID_BY_PROVIDER_ID = Precompiled(
    lambda _: select(_payments.c.id).where(
        _payments.c.provider == bindparam("provider"),
        _payments.c.provider_transaction_id == bindparam("provider_id"),
    )
)


def claim_idempotency(
    session: Session, *, caller: str, operation: str, key: str, fingerprint: str, now: datetime
) -> bool:
    values = {
        "caller": caller,
        "operation": operation,
        "key": key,
        "fingerprint": fingerprint,
        "status_code": 0,
        "response": {},
        "created_at": now,
    }
    return _CLAIM.first(session, values) is not None


def idempotency_record(
    session: Session, *, caller: str, operation: str, key: str
) -> IdempotencyRecord | None:
    return session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller,
            IdempotencyRecord.operation == operation,
            IdempotencyRecord.key == key,
        )
    ).first()


def store_idempotent_response(
    session: Session, *, caller: str, operation: str, key: str, status_code: int, response: dict[str, Any]
) -> None:
    _STORE_RESPONSE.execute(
        session,
        {
            "w_caller": caller,
            "w_operation": operation,
            "w_key": key,
            "status_code": status_code,
            "response": response,
        },
    )


def store_provider_event(
    session: Session,
    *,
    provider: str,
    event_id: str,
    type_: str,
    payload: dict[str, Any],
    now: datetime,
    outcome: str | None = None,
) -> int | None:
    """The stored row's id, or None when this event id was already stored (a redelivery).
    With an ``outcome`` the event is stored as processed already."""
    values = {
        "provider": provider,
        "event_id": event_id,
        "type": type_,
        "payload": payload,
        "received_at": now,
        "processed_at": None if outcome is None else now,
        "outcome": outcome,
    }
    row = _STORE_EVENT.first(session, values)
    return None if row is None else int(row[0])


def add_balance_transaction(session: Session, values: dict[str, Any]) -> bool:
    table: Any = BalanceTransaction.__table__
    return _insert_ignoring_duplicates(session, table, values, table.c.id)


def balance_transactions(session: Session, payment_id: uuid.UUID) -> list[BalanceTransaction]:
    return list(
        session.scalars(
            select(BalanceTransaction)
            .where(BalanceTransaction.payment_id == payment_id)
            .order_by(BalanceTransaction.id)
        )
    )


def mark_payout(session: Session, *, provider: str, transaction_ids: list[str], payout_id: str) -> int:
    result = session.execute(
        update(BalanceTransaction)
        .where(
            BalanceTransaction.provider == provider, BalanceTransaction.transaction_id.in_(transaction_ids)
        )
        .values(payout_id=payout_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_provider_event(session: Session, row_id: int, *, outcome: str, now: datetime) -> None:
    _MARK_EVENT.execute(session, {"row_id": row_id, "processed_at": now, "outcome": outcome})


def unfinished_for_request(
    session: Session, request_id: uuid.UUID, instalment_number: int | None, *, created_by: str
) -> Payment | None:
    return session.scalars(
        select(Payment)
        .where(
            Payment.payment_request_id == request_id,
            Payment.instalment_number == instalment_number
            if instalment_number is not None
            else Payment.instalment_number.is_(None),
            Payment.created_by == created_by,
            Payment.state.in_([PaymentState.CREATED, PaymentState.STARTED]),
        )
        .order_by(Payment.created_at.desc())
    ).first()
