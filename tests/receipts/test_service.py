"""Issuing receipts: one sealed record per payment and one credit receipt per refund, numbered
without gaps per series (also under concurrent issuance), chained, signed, never edited."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from services.common.db import Database
from services.receipts import service
from services.receipts.chain import BreakReason
from services.receipts.document import CreditedReceipt, ReceiptKind, Series, parse_receipt
from services.receipts.errors import EventDataInvalid, OriginalReceiptMissing, PdfNotReady
from services.receipts.models import BalanceTransaction, PdfStatus, Receipt, ReceiptPdf
from services.receipts.schemas import PaymentRefundedData, PaymentSucceededData
from services.receipts.service import Issuing

PAID_AT = datetime(2026, 3, 12, 9, 30, 5, 123456, tzinfo=UTC)


def paid(payment_id: uuid.UUID | None = None, **extra: Any) -> PaymentSucceededData:
    data: dict[str, Any] = {
        "payment_id": str(payment_id or uuid.uuid4()),
        "amount": 4500,
        "currency": "EUR",
        "reference": "PARK-1",
        "description": "Parking permit",
        "provider": "sandbox",
        "provider_transaction_id": "sbx_ch_1",
        "card_brand": "visa",
        "card_last4": "4242",
        "paid_at": PAID_AT.isoformat(),
    }
    data.update(extra)
    return PaymentSucceededData.model_validate(data)


def refunded(payment_id: uuid.UUID, amount: int, refund_id: str | None = None) -> PaymentRefundedData:
    return PaymentRefundedData.model_validate(
        {"payment_id": str(payment_id), "refund_id": refund_id or f"re_{uuid.uuid4().hex[:8]}",
         "amount": amount, "currency": "EUR", "reason": "Permit cancelled"}
    )  # fmt: skip


def issue(database: Database, issuing: Issuing, data: PaymentSucceededData) -> Receipt:
    with database.sessionmaker() as session:
        row = service.issue_receipt(session, data=data, issuing=issuing)
        session.commit()
        return row


def rows(database: Database) -> list[Receipt]:
    with database.sessionmaker() as session:
        return list(session.scalars(select(Receipt).order_by(Receipt.series_key, Receipt.number)))


def verdict(database: Database, issuing: Issuing, key: str) -> Any:
    with database.sessionmaker() as session:
        return service.verify_series(session, series_key=key, verifier=issuing.verifier)


def test_a_payment_gets_a_sealed_record_holding_what_a_citizen_needs(
    database: Database, issuing: Issuing
) -> None:
    row = issue(database, issuing, paid(language="it"))
    record = parse_receipt(bytes(row.record))  # strict: canonical RFC 8785 bytes or an error
    assert record.kind is ReceiptKind.RECEIPT and record.number == 1 and row.number == 1
    year = datetime.now(UTC).year
    assert row.series_key == record.series.key and record.series.municipality == "DEMO"
    assert record.series.year in {year - 1, year, year + 1}
    assert (record.amount.amount_minor, record.amount.currency) == (4500, "EUR")
    assert record.issuer.name == "Città di Demo" and record.issuer.tax_id == "IT00000000000"
    assert record.payer.language == "it" and record.payer.name is None
    assert record.purpose.description == "Parking permit" and record.purpose.category == "fee"
    method = record.payment.method
    assert (method.kind, method.card_brand, method.card_last4) == ("card", "visa", "4242")
    assert record.payment.transaction_id == "sbx_ch_1"
    assert record.payment.paid_at == PAID_AT.replace(microsecond=0)
    assert record.integrity is not None and record.integrity.key_id == issuing.signer.key_id
    assert verdict(database, issuing, row.series_key).intact


def test_the_richer_payment_event_fills_the_record_and_the_provider_fee(
    database: Database, issuing: Issuing
) -> None:
    row = issue(
        database,
        issuing,
        paid(
            amount=3000,
            payer={"name": "Maria Rossi", "language": "sv-SE"},
            purpose="Waste collection 2026",
            category="waste",
            creditor_reference="RF18539007547034",
            lines=[
                {"description": "Bin", "quantity": 2, "unit_amount": 1000},
                {"description": "Collection", "unit_amount": 1000},
            ],
            fee=45,
            balance_transaction_id="txn_1",
            payout_id="po_1",
        ),  # fmt: skip
    )
    record = parse_receipt(bytes(row.record))
    assert record.payer.name == "Maria Rossi" and record.payer.language == "sv"
    assert (record.purpose.description, record.purpose.category) == ("Waste collection 2026", "waste")
    assert record.purpose.creditor_reference == "RF18539007547034"
    assert [line.amount_minor for line in record.purpose.lines] == [2000, 1000]
    with database.sessionmaker() as session:
        (transaction,) = session.scalars(select(BalanceTransaction)).all()
    assert (
        transaction.source,
        transaction.gross,
        transaction.fee,
        transaction.net,
        transaction.payout_id,
    ) == (f"payment:{row.payment_id}", 3000, 45, 2955, "po_1")


def test_lines_that_do_not_add_up_are_refused_with_the_reason(database: Database, issuing: Issuing) -> None:
    with database.sessionmaker() as session, pytest.raises(EventDataInvalid, match="purpose.lines"):
        service.issue_receipt(
            session, data=paid(lines=[{"description": "Bin", "unit_amount": 1}]), issuing=issuing
        )
    assert rows(database) == []


def test_the_same_payment_twice_is_one_receipt(database: Database, issuing: Issuing) -> None:
    payment_id = uuid.uuid4()
    first = issue(database, issuing, paid(payment_id))
    second = issue(database, issuing, paid(payment_id, amount=1))
    assert first.id == second.id and len(rows(database)) == 1


def test_numbers_are_gapless_and_chained_under_concurrent_issuance(
    database: Database, issuing: Issuing
) -> None:
    """Six workers issue at once, each payment twice (a duplicate delivery); every payment gets one
    receipt and the series is 1..N without gap, each record chained onto the one before."""
    payments = [uuid.uuid4() for _ in range(24)]
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        barrier.wait()
        mine = payments[index::6] * 2
        for payment_id in mine:
            try:
                issue(database, issuing, paid(payment_id))
            except BaseException as error:  # noqa: BLE001  (collected and asserted below)
                errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    stored = rows(database)
    assert sorted(r.number for r in stored) == list(range(1, 25))
    assert sorted(r.payment_id for r in stored) == sorted(payments)
    result = verdict(database, issuing, stored[0].series_key)
    assert result.intact and result.checked == 24


def test_a_refund_is_a_credit_receipt_in_the_same_series_naming_the_original(
    database: Database, issuing: Issuing
) -> None:
    payment_id = uuid.uuid4()
    original = issue(database, issuing, paid(payment_id))
    with database.sessionmaker() as session:
        credit = service.issue_credit(session, data=refunded(payment_id, 1500, "re_1"), issuing=issuing)
        again = service.issue_credit(session, data=refunded(payment_id, 1500, "re_1"), issuing=issuing)
        session.commit()
    assert again.id == credit.id
    record = parse_receipt(bytes(credit.record))
    assert record.kind is ReceiptKind.CREDIT and record.amount.amount_minor == 1500
    assert record.credits is not None and record.credits.number == original.number == 1
    assert (credit.series_key, credit.number, credit.credits_id) == (original.series_key, 2, original.id)
    with database.sessionmaker() as session:
        view = service.verify_receipt(session, receipt_id=original.id, issuing=issuing)
        assert view.status is service.VerificationStatus.PARTIALLY_REFUNDED and view.signature_holds
        with pytest.raises(EventDataInvalid, match="exceeds"):
            service.issue_credit(session, data=refunded(payment_id, 3001), issuing=issuing)
        service.issue_credit(session, data=refunded(payment_id, 3000), issuing=issuing)
        session.commit()
        view = service.verify_receipt(session, receipt_id=original.id, issuing=issuing)
    assert view.status is service.VerificationStatus.REFUNDED
    assert verdict(database, issuing, original.series_key).intact


def test_a_refund_before_its_receipt_waits(database: Database, issuing: Issuing) -> None:
    with database.sessionmaker() as session, pytest.raises(OriginalReceiptMissing):
        service.issue_credit(session, data=refunded(uuid.uuid4(), 100), issuing=issuing)


SQLITE_TRIGGER = "receipts_are_frozen"


def tamper(database: Database, statement: str, **params: Any) -> None:
    """What an intruder with the database owner's rights could do: get past the trigger and edit."""
    with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            connection.execute(sa.text(statement), params)
            return
        trigger = connection.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": SQLITE_TRIGGER},
        ).scalar_one()
        connection.execute(sa.text(f"DROP TRIGGER {SQLITE_TRIGGER}"))
        connection.execute(sa.text(statement), params)
        connection.execute(sa.text(trigger))


def test_an_altered_stored_receipt_is_caught_and_named(database: Database, issuing: Issuing) -> None:
    for _ in range(3):
        issue(database, issuing, paid())
    second = rows(database)[1]
    record = json.loads(bytes(second.record))
    record["amount"]["amount_minor"] = 1  # canonical form kept: only the content changes
    altered = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    tamper(database, "UPDATE receipts SET record = :record WHERE id = :id", record=altered, id=second.id.hex
            if database.engine.dialect.name == "sqlite" else second.id)  # fmt: skip
    result = verdict(database, issuing, second.series_key)
    assert not result.intact and result.checked == 1
    assert result.first_broken is not None
    assert (result.first_broken.number, result.first_broken.reason) == (2, BreakReason.ALTERED_CONTENT)
    with database.sessionmaker() as session:
        view = service.verify_receipt(session, receipt_id=second.id, issuing=issuing)
    assert view.status is service.VerificationStatus.INVALID and not view.signature_holds


def test_a_deleted_receipt_is_a_gap(database: Database, issuing: Issuing) -> None:
    for _ in range(3):
        issue(database, issuing, paid())
    second = rows(database)[1]
    key = second.id.hex if database.engine.dialect.name == "sqlite" else second.id
    tamper(database, "DELETE FROM receipt_pdfs WHERE receipt_id = :id", id=key)
    tamper(database, "DELETE FROM receipts WHERE id = :id", id=key)
    result = verdict(database, issuing, second.series_key)
    assert result.first_broken is not None and result.first_broken.reason is BreakReason.GAP_IN_NUMBERING
    assert result.first_broken.number == 3


def test_the_database_refuses_to_edit_or_delete_a_receipt(database: Database, issuing: Issuing) -> None:
    row = issue(database, issuing, paid())
    postgresql = database.engine.dialect.name == "postgresql"
    key = row.id if postgresql else row.id.hex
    statements = [
        "UPDATE receipts SET amount = 1 WHERE id = :id",
        "UPDATE receipts SET key_id = 'other' WHERE id = :id",
    ]
    if postgresql:  # SQLite refuses edits only (the test suite empties its tables with DELETE)
        statements.append("DELETE FROM receipts WHERE id = :id")
    for statement in statements:
        with pytest.raises(sa.exc.DBAPIError, match="never edited or deleted"), database.engine.begin() as c:
            c.execute(sa.text(statement), {"id": key})
    assert rows(database)[0].amount == 4500


def test_pdfs_render_in_the_background_and_a_failing_renderer_loses_nothing(
    database: Database, issuing: Issuing
) -> None:
    row = issue(database, issuing, paid())
    attempts: list[str] = []

    def broken(sealed: Any) -> bytes:
        attempts.append(sealed.receipt.receipt_id)
        raise RuntimeError("font cache unavailable")

    backoff = timedelta(seconds=30)
    assert service.render_due_pdfs(database.sessionmaker, renderer=broken, backoff=backoff) == 0
    with database.sessionmaker() as session:
        pdf = session.get(ReceiptPdf, row.id)
        assert pdf is not None and (pdf.status, pdf.attempts) == (PdfStatus.FAILED, 1)
        assert pdf.last_error == "RuntimeError: font cache unavailable"
        with pytest.raises(PdfNotReady):
            service.receipt_pdf(session, receipt_id=row.id, retry_after=5)
        assert (
            service.receipt_read(session, receipt_id=row.id, base_url=issuing.base_url).record["number"] == 1
        )
    # Not due again until the backoff has passed.
    assert service.render_due_pdfs(database.sessionmaker, renderer=broken, backoff=backoff) == 0
    assert attempts == [str(row.id)]
    with database.sessionmaker() as session:
        session.execute(
            sa.update(ReceiptPdf).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    assert (
        service.render_due_pdfs(database.sessionmaker, renderer=lambda s: b"%PDF-1.7 ok", backoff=backoff)
        == 1
    )
    with database.sessionmaker() as session:
        content, name = service.receipt_pdf(session, receipt_id=row.id, retry_after=5)
        assert content == b"%PDF-1.7 ok" and name.endswith("-000001.pdf")
        count = session.scalar(select(func.count()).select_from(Receipt))
    assert count == 1


def test_two_refunds_at_once_cannot_both_take_the_last_of_a_receipt(
    database: Database, issuing: Issuing
) -> None:
    payment_id = uuid.uuid4()
    issue(database, issuing, paid(payment_id))  # 4500
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund(refund_id: str) -> None:
        barrier.wait()
        with database.sessionmaker() as session:
            try:
                service.issue_credit(session, data=refunded(payment_id, 3000, refund_id), issuing=issuing)
                session.commit()
                outcomes.append("credited")
            except EventDataInvalid:
                outcomes.append("refused")

    threads = [threading.Thread(target=refund, args=(f"re_{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["credited", "refused"]
    assert verdict(database, issuing, rows(database)[0].series_key).intact


def at(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """Issue as if the clock showed ``moment``."""
    monkeypatch.setattr(service, "utcnow", lambda: moment)


DEC_30 = datetime(2025, 12, 30, 11, 0, tzinfo=UTC)
JAN_2 = datetime(2026, 1, 2, 9, 15, tzinfo=UTC)


def test_a_january_refund_of_a_december_receipt_is_numbered_in_the_new_year(
    database: Database, issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = issuing.series_code
    at(monkeypatch, DEC_30)
    payment_id = uuid.uuid4()
    original = issue(database, issuing, paid(payment_id, paid_at=DEC_30.isoformat()))
    issue(database, issuing, paid(paid_at=DEC_30.isoformat()))
    assert (original.series_key, original.number) == (f"{code}-2025", 1)

    at(monkeypatch, JAN_2)
    with database.sessionmaker() as session:
        credit = service.issue_credit(session, data=refunded(payment_id, 1500, "re_jan"), issuing=issuing)
        session.commit()
    after = issue(database, issuing, paid(paid_at=JAN_2.isoformat()))
    assert (credit.series_key, credit.number, credit.credits_id) == (f"{code}-2026", 1, original.id)
    assert (after.series_key, after.number) == (f"{code}-2026", 2)
    record = parse_receipt(bytes(credit.record))
    assert record.kind is ReceiptKind.CREDIT and record.series == Series(code, 2026)
    assert record.credits == CreditedReceipt(str(original.id), 1, Series(code, 2025))
    assert record.credited_display_number == f"{code}-2025-000001"
    for key in (f"{code}-2025", f"{code}-2026"):
        result = verdict(database, issuing, key)
        assert result.intact, result.first_broken

    with database.sessionmaker() as session:
        with pytest.raises(EventDataInvalid, match="exceeds what is left of receipt 1 \\(3000\\)"):
            service.issue_credit(session, data=refunded(payment_id, 3001), issuing=issuing)
        service.issue_credit(session, data=refunded(payment_id, 3000), issuing=issuing)
        session.commit()
        view = service.verify_receipt(session, receipt_id=original.id, issuing=issuing)
    assert view.status is service.VerificationStatus.REFUNDED and view.signature_holds
    assert verdict(database, issuing, f"{code}-2026").checked == 3


def test_tampering_with_last_years_original_breaks_this_years_credit(
    database: Database, issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = issuing.series_code
    at(monkeypatch, DEC_30)
    payment_id = uuid.uuid4()
    original = issue(database, issuing, paid(payment_id, paid_at=DEC_30.isoformat()))
    at(monkeypatch, JAN_2)
    with database.sessionmaker() as session:
        service.issue_credit(session, data=refunded(payment_id, 4500), issuing=issuing)
        session.commit()
    assert verdict(database, issuing, f"{code}-2026").intact
    # Raising the original's amount would make room for more refunds: both series now fail.
    record = json.loads(bytes(original.record))
    record["amount"]["amount_minor"] = 9000
    record["purpose"]["lines"] = []
    altered = json.dumps(record, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    key = original.id.hex if database.engine.dialect.name == "sqlite" else original.id
    tamper(database, "UPDATE receipts SET record = :record WHERE id = :id", record=altered, id=key)
    old = verdict(database, issuing, f"{code}-2025").first_broken
    assert old is not None and old.reason is BreakReason.ALTERED_CONTENT
    new = verdict(database, issuing, f"{code}-2026").first_broken
    assert new is not None and (new.number, new.reason) == (1, BreakReason.CREDITED_RECEIPT_BROKEN)


def test_two_refunds_in_two_series_cannot_both_take_the_last_of_a_receipt(
    database: Database, issuing: Issuing, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = issuing.series_code
    at(monkeypatch, DEC_30)
    payment_id = uuid.uuid4()
    issue(database, issuing, paid(payment_id, paid_at=DEC_30.isoformat()))  # 4500
    # One refund is issued on the last day of the year, the other already in the new one: their
    # series locks differ, so only the lock on the original keeps them from both crediting 3000.
    clocks = {"old-year": datetime(2025, 12, 31, 11, 0, tzinfo=UTC), "new-year": JAN_2}
    monkeypatch.setattr(service, "utcnow", lambda: clocks[threading.current_thread().name])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def refund(refund_id: str) -> None:
        barrier.wait()
        with database.sessionmaker() as session:
            try:
                service.issue_credit(session, data=refunded(payment_id, 3000, refund_id), issuing=issuing)
                session.commit()
                outcomes.append("credited")
            except EventDataInvalid:
                outcomes.append("refused")

    threads = [threading.Thread(target=refund, args=(f"re_{name}",), name=name) for name in clocks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["credited", "refused"]
    for key in (f"{code}-2025", f"{code}-2026"):
        assert verdict(database, issuing, key).intact
