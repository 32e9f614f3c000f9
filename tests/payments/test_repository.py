"""The payments queries that bypass the ORM's flush: a new payment is written by one precompiled
statement (with its first history row, on PostgreSQL) and then held by the session as if loaded."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from services.payments import repository
from services.payments.models import Currency, Payment, PaymentEvent, PaymentState

AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def new_payment() -> Payment:
    return Payment(
        id=uuid.uuid4(),
        amount=4500,
        currency=Currency.EUR,
        reference="PARK-1",
        description="Parking permit",
        return_url="https://city.example/done",
        created_by="key-1",
        provider="sandbox",
        provider_transaction_id="sbx_1",
        created_at=AT,
    )


def test_a_new_payment_is_written_with_its_first_history_row(session: Session) -> None:
    payment = new_payment()
    repository.add_new(session, payment)
    session.commit()
    row = session.execute(
        text("SELECT state, amount, currency, version, card_brand FROM payments WHERE reference = 'PARK-1'")
    ).one()
    assert tuple(row) == ("created", 4500, "EUR", 1, None)
    history = session.scalars(select(PaymentEvent).where(PaymentEvent.payment_id == payment.id)).all()
    assert [(e.state, e.occurred_at) for e in history] == [(PaymentState.CREATED, AT)]


def test_the_new_payment_is_held_as_loaded_and_a_later_change_is_flushed(session: Session) -> None:
    payment = new_payment()
    repository.add_new(session, payment)
    statements: list[str] = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: statements.append(a[2]))
    # Every column is there: reading any of them asks the database nothing.
    assert (payment.card_brand, payment.fee, payment.version, payment.state) == (
        None,
        None,
        1,
        PaymentState.CREATED,
    )
    assert session.get(Payment, payment.id) is payment and statements == []
    payment.state = PaymentState.STARTED
    session.commit()
    assert any(s.lstrip().upper().startswith("UPDATE PAYMENTS") for s in statements)
    assert session.execute(text("SELECT state, version FROM payments")).one() == ("started", 2)
