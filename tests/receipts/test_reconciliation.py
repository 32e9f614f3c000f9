"""Reconciliation: a camt.053 statement built from simulated payouts reconciles fully, and each
seeded discrepancy lands in its own outcome; statements import once; runs are stored and exported."""

from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.common.db import Database
from services.common.webhooks import WebhookEvent
from services.receipts import pages, reconciliation, service
from services.receipts.errors import StatementRejected
from services.receipts.models import (
    OPEN_OUTCOMES,
    BalanceTransaction,
    BankEntry,
    Payout,
    Receipt,
    ReconciliationItem,
    ReconciliationRun,
)
from services.receipts.reconciliation import BankCredit, Scope, camt053_statement, payout_credits
from services.receipts.schemas import PayoutData
from services.receipts.service import Issuing
from tests.receipts.test_endpoints import deliver, paid_event
from tests.receipts.test_service import paid, refunded

Headers = Callable[..., dict[str, str]]
IBAN = "IT60X0542811101000000123456"
DAY1, DAY2 = date(2026, 3, 10), date(2026, 3, 11)
SCOPE = Scope(as_of=date(2026, 3, 25), date_from=date(2026, 3, 1), date_to=date(2026, 3, 25), window_days=3)


def receipt_on(database: Database, issuing: Issuing, day: date, amount: int) -> Receipt:
    moment = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=10)
    with database.sessionmaker() as session:
        row = service.issue_receipt(
            session, data=paid(amount=amount, paid_at=moment.isoformat()), issuing=issuing
        )
        session.commit()
        return row


def import_file(database: Database, data: bytes) -> Any:
    with database.sessionmaker() as session:
        result = reconciliation.import_statement(session, data=data, filename="s.xml", imported_by="test")
        session.commit()
        return result


def run(database: Database, scope: Scope = SCOPE) -> tuple[ReconciliationRun, list[ReconciliationItem]]:
    with database.sessionmaker() as session:
        made = reconciliation.run(session, scope=scope, created_by="test")
        session.commit()
        items = list(session.scalars(select(ReconciliationItem).where(ReconciliationItem.run_id == made.id)))
        return made, items


def outcomes(items: list[ReconciliationItem], subject: str) -> Counter[str]:
    return Counter(i.outcome for i in items if i.subject == subject)


def simulate(database: Database, day: date, **fees: int) -> list[Any]:
    with database.sessionmaker() as session:
        payouts = reconciliation.simulate_sandbox_payouts(session, day=day, **fees)
        session.commit()
        return payouts


def test_a_statement_of_simulated_payouts_reconciles_fully(database: Database, issuing: Issuing) -> None:
    for day, amount in [(DAY1, 1000), (DAY1, 2000), (DAY1, 3000), (DAY2, 500), (DAY2, 700)]:
        receipt_on(database, issuing, day, amount)
    payouts = simulate(database, DAY1) + simulate(database, DAY2)
    assert [(p.payout_id, p.amount) for p in payouts] == [
        ("po_sbx_20260310_EUR", 6000),
        ("po_sbx_20260311_EUR", 1200),
    ]
    statement = camt053_statement(
        iban=IBAN, statement_id="STMT-1", credits=payout_credits(payouts, delay_days=1)
    )
    assert import_file(database, statement).new_entries == 2

    made, items = run(database)
    assert outcomes(items, "receipt") == {"matched": 5}
    assert outcomes(items, "payout") == {"matched": 2}
    assert outcomes(items, "bank_entry") == {}
    assert {i.method for i in items if i.subject == "payout"} == {"identifier"}
    assert made.inputs["receipts"] == 5 and made.inputs["bank_entries"] == 2
    assert made.totals["receipt"]["matched"] == {"count": 5, "amounts": {"EUR": 7200}}


def test_the_same_statement_twice_or_overlapping_creates_nothing_twice(
    database: Database, issuing: Issuing
) -> None:
    receipt_on(database, issuing, DAY1, 1000)
    payouts = simulate(database, DAY1)
    credits = payout_credits(payouts)
    first = camt053_statement(iban=IBAN, statement_id="STMT-1", credits=credits)
    assert (import_file(database, first).new_entries, import_file(database, first).already_imported) == (
        1,
        True,
    )
    extra = BankCredit(999, "EUR", DAY2, None, "Unknown transfer", "BNK-X")
    overlapping = camt053_statement(iban=IBAN, statement_id="STMT-2", credits=[*credits, extra])
    result = import_file(database, overlapping)
    assert (result.entries, result.new_entries, result.already_imported) == (2, 1, False)
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(BankEntry)) == 2


def test_a_provider_fee_is_an_explained_difference(database: Database, issuing: Issuing) -> None:
    receipt_on(database, issuing, DAY1, 10000)
    (payout,) = simulate(database, DAY1, fee_fixed=25, fee_basis_points=140)
    assert (payout.gross, payout.fee, payout.amount) == (10000, 165, 9835)
    import_file(database, camt053_statement(iban=IBAN, statement_id="S", credits=payout_credits([payout])))
    _, items = run(database)
    assert outcomes(items, "receipt") == {"fee_difference": 1}
    (item,) = [i for i in items if i.subject == "payout"]
    assert (item.expected, item.actual, item.fee) == (10000, 9835, 165)


def payout(payout_id: str, arrival: date, *charges: tuple[Receipt, int]) -> PayoutData:
    return PayoutData.model_validate(
        {"provider": "stripe", "payout_id": payout_id, "currency": "EUR", "arrival_date": arrival.isoformat(),
         "balance_transactions": [
             {"transaction_id": f"txn_{uuid.uuid4().hex[:10]}", "payment_id": str(r.payment_id), "gross": gross}
             for r, gross in charges]}
    )  # fmt: skip


def test_seeded_discrepancies_each_land_in_their_outcome(database: Database, issuing: Issuing) -> None:
    ok = receipt_on(database, issuing, DAY1, 1000)
    short = receipt_on(database, issuing, DAY1, 2000)
    twice_reported = receipt_on(database, issuing, DAY1, 3000)
    by_amount = receipt_on(database, issuing, DAY1, 4100)
    twin_a = receipt_on(database, issuing, DAY1, 5000)
    twin_b = receipt_on(database, issuing, DAY2, 5000)
    missing = receipt_on(database, issuing, DAY1, 6000)  # the provider never reports it
    recent = receipt_on(database, issuing, date(2026, 3, 24), 7000)  # too recent to be reported
    reported_wrong = receipt_on(database, issuing, DAY1, 8000)
    arrival = date(2026, 3, 12)
    data = [
        payout("po_okay", arrival, (ok, 1000)),
        payout("po_short", arrival, (short, 2000)),
        payout("po_twice", arrival, (twice_reported, 3000)),
        payout("po_amount", arrival, (by_amount, 4100)),
        payout("po_twin_a", arrival, (twin_a, 5000)),
        payout("po_twin_b", arrival, (twin_b, 5000)),
        payout("po_wrong", arrival, (reported_wrong, 7999)),
        payout("po_late", date(2026, 3, 24), (recent, 7000)),
    ]
    # The provider reports the same charge a second time in another payout.
    data.append(payout("po_again", arrival, (twice_reported, 3000)))
    with database.sessionmaker() as session:
        result = reconciliation.import_payouts(session, payouts=data)
        again = reconciliation.import_payouts(session, payouts=data)
        session.commit()
    assert (result.payouts_new, again.payouts_new, again.payouts_known) == (9, 0, 9)
    credits = [
        BankCredit(1000, "EUR", arrival, "po_okay", "Payout po_okay", "B1"),
        BankCredit(1900, "EUR", arrival, None, "STRIPE PAYOUT po_short", "B2"),  # 100 short
        BankCredit(1000, "EUR", arrival + timedelta(days=1), None, "Payout po_okay", "B3"),  # credited twice
        BankCredit(4100, "EUR", arrival + timedelta(days=2), None, "TRANSFER", "B4"),  # amount only
        BankCredit(5000, "EUR", arrival, None, "TRANSFER", "B5"),  # two payouts of 5000: ambiguous
        BankCredit(5000, "EUR", arrival, None, "TRANSFER", "B6"),
        BankCredit(4242, "EUR", arrival, None, "Unknown sender", "B7"),
        BankCredit(3000, "EUR", arrival, "po_twice", None, "B8"),
        BankCredit(7999, "EUR", arrival, "po_wrong", None, "B9"),
    ]
    import_file(database, camt053_statement(iban=IBAN, statement_id="S", credits=credits))
    made, items = run(database)

    by_receipt = {i.receipt_id: i for i in items if i.subject == "receipt"}
    assert by_receipt[ok.id].outcome == "matched"
    assert by_receipt[short.id].outcome == "partial"
    assert by_receipt[twice_reported.id].outcome == "duplicate"
    assert (by_receipt[by_amount.id].outcome, by_receipt[by_amount.id].method) == ("matched", "amount_date")
    assert by_receipt[twin_a.id].outcome == by_receipt[twin_b.id].outcome == "unmatched_receipt"
    assert by_receipt[missing.id].outcome == "unmatched_receipt"
    assert by_receipt[recent.id].outcome == "in_transit"
    assert by_receipt[reported_wrong.id].outcome == "partial"
    payouts = {i.payout_id: i for i in items if i.subject == "payout"}
    assert "match by hand" in (payouts["po_twin_a"].detail or "")
    assert payouts["po_late"].outcome == "in_transit"
    entries = Counter((i.outcome, i.actual) for i in items if i.subject == "bank_entry")
    assert entries == {
        ("duplicate", 1000): 1,
        ("unmatched_bank_entry", 5000): 2,
        ("unmatched_bank_entry", 4242): 1,
    }

    # The officers' page lists each open exception once, receipts by their number.
    with database.sessionmaker() as session:
        page = pages.dashboard(session, run_id=made.id)
    open_items = [i for i in items if i.outcome in {o.value for o in OPEN_OUTCOMES}]
    assert f'id="open-total">({len(open_items)})<' in page
    assert f"{missing.series_key}-{missing.number:06d}" in page and "match by hand" in page
    assert page.count('<td class="open">') == len(open_items)


def test_a_refund_and_its_credit_receipt_reconcile_together(database: Database, issuing: Issuing) -> None:
    original = receipt_on(database, issuing, DAY1, 5000)
    with database.sessionmaker() as session:
        service.issue_credit(session, data=refunded(original.payment_id, 2000), issuing=issuing)
        session.commit()
    with database.sessionmaker() as session:
        credit = session.scalars(select(Receipt).where(Receipt.kind == "credit_receipt")).one()
    assert credit.amount == 2000
    (payout,) = simulate(database, DAY1)
    scope = Scope(as_of=datetime.now(UTC).date(), date_from=DAY1,
                  date_to=datetime.now(UTC).date(), window_days=3)  # fmt: skip
    import_file(database, camt053_statement(iban=IBAN, statement_id="S", credits=payout_credits([payout])))
    _, items = run(database, scope)
    by_receipt = {i.receipt_id: i for i in items if i.subject == "receipt"}
    assert by_receipt[original.id].outcome == "matched"
    assert by_receipt[credit.id].outcome == "in_transit"  # refunded today: the provider reports it later


def test_a_malformed_statement_is_refused_line_by_line_and_changes_nothing(database: Database) -> None:
    good = camt053_statement(
        iban=IBAN, statement_id="S", credits=[BankCredit(100, "EUR", DAY1, None, None, "B1")]
    )
    bad = good.replace(b">1.00<", b">1.0.0<").replace(b"<Cd>BOOK</Cd>", b"<Cd>BOOK</Cd>", 1)
    with database.sessionmaker() as session, pytest.raises(StatementRejected) as caught:
        reconciliation.import_statement(session, data=bad, filename="bad.xml", imported_by="test")
    (error,) = caught.value.extra["errors"]
    assert error["line"] is not None and "1.0.0" in error["message"]
    with database.sessionmaker() as session, pytest.raises(StatementRejected):
        reconciliation.import_statement(session, data=b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>", filename=None,
                                        imported_by="test")  # fmt: skip
    with database.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(BankEntry)) == 0


def test_reconciliation_over_http(
    receipts_client: TestClient, principal_headers: Headers, receipts_db_url: str
) -> None:
    officer = principal_headers("officer")
    database = Database(receipts_db_url)
    try:
        for amount in (1000, 2500):
            receipt_on(database, receipts_client.app.state.issuing, DAY1, amount)  # type: ignore[attr-defined]
        (simulated,) = simulate(database, DAY1)
    finally:
        database.dispose()
    statement = camt053_statement(iban=IBAN, statement_id="S-1", credits=payout_credits([simulated]))
    upload = receipts_client.post(
        "/v1/reconciliation/statements?filename=march.xml", content=statement, headers=officer
    )
    assert upload.status_code == 201 and upload.json()["new_entries"] == 1
    broken = receipts_client.post(
        "/v1/reconciliation/statements", content=b"not a statement", headers=officer
    )
    assert broken.status_code == 422 and broken.json()["code"] == "statement_rejected"
    assert broken.json()["errors"]
    assert receipts_client.post("/v1/reconciliation/statements", content=statement).status_code == 401

    created = receipts_client.post(
        "/v1/reconciliation/runs", json={"as_of": "2026-03-25", "date_from": "2026-03-01"}, headers=officer
    )
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    fetched = receipts_client.get(f"/v1/reconciliation/runs/{run_id}", headers=officer).json()
    assert fetched["totals"]["receipt"]["matched"] == {"count": 2, "amounts": {"EUR": 3500}}
    assert fetched["inputs"]["statements"] == 1
    page = receipts_client.get(
        f"/v1/reconciliation/runs/{run_id}/items?outcome=matched", headers=officer
    ).json()
    assert page["total"] == 3 and {i["subject"] for i in page["items"]} == {"receipt", "payout"}
    exported = receipts_client.get(f"/v1/reconciliation/runs/{run_id}/export.csv", headers=officer)
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == 3 and {row["outcome"] for row in table} == {"matched"}
    assert all(
        row["receipt_number"].endswith(("-000001", "-000002")) for row in table if row["subject"] == "receipt"
    )
    assert receipts_client.get(f"/v1/reconciliation/runs/{uuid.uuid4()}", headers=officer).status_code == 404

    dashboard = receipts_client.get("/v1/reconciliation/dashboard", headers=officer)
    assert (
        dashboard.status_code == 200 and "Nothing to work on" in dashboard.text and "<svg" in dashboard.text
    )
    assert receipts_client.get("/v1/reconciliation/dashboard").status_code == 401


def test_daily_close_fixes_counts_numbers_and_totals(
    receipts_client: TestClient, principal_headers: Headers, receipts_db_url: str
) -> None:
    officer = principal_headers("officer")
    database = Database(receipts_db_url)
    issuing = receipts_client.app.state.issuing  # type: ignore[attr-defined]
    try:
        first = receipt_on(database, issuing, DAY1, 1000)
        receipt_on(database, issuing, DAY1, 2000)
        with database.sessionmaker() as session:
            service.issue_credit(session, data=refunded(first.payment_id, 400), issuing=issuing)
            session.commit()
    finally:
        database.dispose()
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Rome")).date()
    closed = receipts_client.post(
        "/v1/reconciliation/closes", json={"day": today.isoformat()}, headers=officer
    )
    assert closed.status_code == 201, closed.text
    (close,) = closed.json()
    assert (close["receipts_count"], close["credits_count"], close["first_number"], close["last_number"]) == (
        2, 1, 1, 3
    )  # fmt: skip
    assert (close["receipts_total"], close["credits_total"]) == (3000, 400) and len(close["last_hash"]) == 64
    twice = receipts_client.post(
        "/v1/reconciliation/closes", json={"day": today.isoformat()}, headers=officer
    )
    assert twice.status_code == 409
    empty = receipts_client.post("/v1/reconciliation/closes", json={"day": "2001-01-01"}, headers=officer)
    assert empty.status_code == 404 and empty.json()["code"] == "nothing_to_close"
    assert len(receipts_client.get("/v1/reconciliation/closes", headers=officer).json()) == 1


def test_sandbox_payouts_carry_the_fees_the_payment_events_reported(
    database: Database, issuing: Issuing
) -> None:
    moment = datetime.combine(DAY1, datetime.min.time(), tzinfo=UTC) + timedelta(hours=9)
    with database.sessionmaker() as session:
        service.issue_receipt(
            session, data=paid(amount=2000, paid_at=moment.isoformat(), fee=30), issuing=issuing
        )
        session.commit()
    receipt_on(database, issuing, DAY1, 1000)
    (payout,) = simulate(database, DAY1)
    assert (payout.gross, payout.fee, payout.amount) == (3000, 30, 2970)
    assert simulate(database, DAY1)[0].id == payout.id  # a second simulation adds nothing


def test_a_payout_event_is_imported_once(
    receipts_client: TestClient, principal_headers: Headers, receipts_db_url: str
) -> None:
    payment_id = uuid.uuid4()
    deliver(receipts_client, paid_event(payment_id, amount=4000).encode())
    data = {"provider": "stripe", "payout_id": "po_1Q2w3E4r", "currency": "EUR", "arrival_date": "2026-03-12",
            "balance_transactions": [{"transaction_id": "txn_1", "payment_id": str(payment_id), "gross": 4000,
                                      "fee": 60}]}  # fmt: skip
    for _ in range(2):
        event = WebhookEvent(id=uuid.uuid4(), type="payout.paid", resource_id="po_1Q2w3E4r",
                             created_at=datetime.now(UTC), data=data)  # fmt: skip
        assert deliver(receipts_client, event.encode()).json()["outcome"] == "processed"
    database = Database(receipts_db_url)
    try:
        with database.sessionmaker() as session:
            payouts = session.scalars(select(Payout)).all()
            assert [(p.payout_id, p.amount, p.fee) for p in payouts] == [("po_1Q2w3E4r", 3940, 60)]
            assert session.scalar(select(func.count()).select_from(BalanceTransaction)) == 1
    finally:
        database.dispose()
    bad = WebhookEvent(id=uuid.uuid4(), type="payout.paid", resource_id="x", created_at=datetime.now(UTC),
                       data={**data, "balance_transactions": [{**data["balance_transactions"][0], "gross": -5}]})  # type: ignore[dict-item]  # fmt: skip
    refused = deliver(receipts_client, bad.encode())
    assert refused.status_code == 422 and refused.json()["code"] == "payout_rejected"


def test_an_oversized_statement_is_refused_before_it_is_read(
    receipts_client: TestClient, principal_headers: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("services.receipts.endpoints.MAX_STATEMENT_BYTES", 100)
    response = receipts_client.post(
        "/v1/reconciliation/statements", content=b"x" * 101, headers=principal_headers("officer")
    )
    assert response.status_code == 413 and response.json()["code"] == "statement_too_large"


def test_amounts_are_never_added_across_currencies(database: Database, issuing: Issuing) -> None:
    moment = datetime.combine(DAY1, datetime.min.time(), tzinfo=UTC) + timedelta(hours=11)
    for amount, currency in [(1000, "EUR"), (2000, "EUR"), (50000, "SEK")]:
        with database.sessionmaker() as session:
            data = paid(amount=amount, currency=currency, paid_at=moment.isoformat())
            service.issue_receipt(session, data=data, issuing=issuing)
            session.commit()
    payouts = simulate(database, DAY1)
    assert sorted((p.currency, p.amount) for p in payouts) == [("EUR", 3000), ("SEK", 50000)]
    import_file(database, camt053_statement(iban=IBAN, statement_id="S", credits=payout_credits(payouts)))
    made, _ = run(database)
    assert made.totals["receipt"]["matched"] == {"count": 3, "amounts": {"EUR": 3000, "SEK": 50000}}
    with database.sessionmaker() as session:
        default = pages.dashboard(session, run_id=made.id)
        swedish = pages.dashboard(session, run_id=made.id, currency="SEK")
    assert "Collected versus settled (EUR)" in default and "€30.00" in default and "currency=SEK" in default
    assert "Collected versus settled (SEK)" in swedish and "SEK500.00" in swedish


def test_a_provider_transaction_no_receipt_records_is_its_own_outcome(
    database: Database, issuing: Issuing
) -> None:
    known = receipt_on(database, issuing, DAY1, 1000)
    arrival = date(2026, 3, 12)
    unknown_payment = uuid.uuid4()  # a charge the provider made that no receipt records
    data = PayoutData.model_validate(
        {"provider": "stripe", "payout_id": "po_mixed", "currency": "EUR", "arrival_date": arrival.isoformat(),
         "balance_transactions": [
             {"transaction_id": "txn_known", "payment_id": str(known.payment_id), "gross": 1000, "fee": 30},
             {"transaction_id": "txn_orphan", "payment_id": str(unknown_payment), "gross": 2500, "fee": 45},
             {"transaction_id": "txn_orphan_refund", "kind": "refund", "payment_id": str(known.payment_id),
              "refund_id": "re_never_receipted", "gross": -400},
         ]}
    )  # fmt: skip
    # The same kind of charge in a payout outside the run's scope is that run's business, not this one's.
    outside = PayoutData.model_validate(
        {"provider": "stripe", "payout_id": "po_later", "currency": "EUR", "arrival_date": "2026-05-20",
         "balance_transactions": [{"transaction_id": "txn_later", "payment_id": str(uuid.uuid4()), "gross": 900}]}
    )  # fmt: skip
    with database.sessionmaker() as session:
        reconciliation.import_payouts(session, payouts=[data, outside])
        session.commit()
    credits = [BankCredit(3100 - 75, "EUR", arrival, "po_mixed", None, "B1")]
    import_file(database, camt053_statement(iban=IBAN, statement_id="S", credits=credits))
    made, items = run(database)

    unrecorded = sorted(
        ((i.actual, i.fee, i.payout_id, i.detail) for i in items if i.subject == "transaction"),
        key=lambda row: row[0] or 0,
    )
    assert unrecorded == [
        (-400, 0, "po_mixed", "the provider reports refund txn_orphan_refund that no receipt records"),
        (2500, 45, "po_mixed", "the provider reports charge txn_orphan that no receipt records"),
    ]
    assert {i.outcome for i in items if i.subject == "transaction"} == {"unmatched_provider_transaction"}
    assert all(i.day == reconciliation.day_number(arrival) and i.receipt_id is None for i in items
               if i.subject == "transaction")  # fmt: skip
    by_receipt = {i.receipt_id: i for i in items if i.subject == "receipt"}
    assert by_receipt[known.id].outcome == "fee_difference"  # its own money arrived, less the fee
    assert made.totals["transaction"]["unmatched_provider_transaction"] == {
        "count": 2,
        "amounts": {"EUR": 2100},
    }
    # An open exception for the officers, and a line of the CSV export.
    with database.sessionmaker() as session:
        page = pages.dashboard(session, run_id=made.id)
        csv_text = "".join(reconciliation.export_csv(session, run_id=made.id))
    assert "txn_orphan" in page and 'id="open-total">(2)<' in page
    # ... in the officer's language, reason included.
    with database.sessionmaker() as session:
        swedish = pages.dashboard(session, run_id=made.id, language="sv")
    assert '<html lang="sv">' in swedish and swedish.count("leverantörstransaktion utan kvitto") == 2
    assert "leverantören rapporterar debiteringen txn_orphan som inget kvitto registrerar" in swedish
    assert csv_text.count("unmatched_provider_transaction") == 2
