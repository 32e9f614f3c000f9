"""Reconciliation: does every receipt's money reach the municipality's bank account?

The chain is receipt -> payment -> provider balance transaction (gross, fee, net) -> payout ->
bank statement entry. A run matches it in set-based SQL (a handful of INSERT ... SELECT
statements, the same on SQLite and PostgreSQL), in this order:

1. payouts to bank credits by identifier: the payout id found in the entry's end-to-end id or
   remittance information (``match_ref``, extracted at import). A second entry naming the same
   payout is a *duplicate*.
2. the payouts and credits still open, by unique exact amount within ``window_days`` of the
   payout's arrival date: a pair is taken only when the payout has exactly one such entry and the
   entry exactly one such payout. Anything ambiguous stays open with the reason; nothing is ever
   matched by a near amount or a guess.
3. each receipt in scope through its balance transaction to its payout's outcome.
4. provider transactions that no receipt records, carried by a payout in scope.
5. bank credits that nothing explains.

Outcomes: *matched* (the bank received what the receipts collected), *fee_difference* (it received
that less exactly the provider's fee), *partial* (another difference), *duplicate*, *in_transit*
(not due on the bank yet), *unmatched_receipt* (money a receipt records that did not arrive or that
the provider does not report), *unmatched_provider_transaction* (money the provider moved, charged
or refunded, that no receipt records: a receipt never issued, or a payment made outside Tessera) and
*unmatched_bank_entry*.

Dates are compared as day numbers (days since 1970-01-01, stored beside each date) so the
window arithmetic is plain integer SQL on both backends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree
from sqlalchemy import Uuid, bindparam, select, text
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.receipts import repository
from services.receipts.document import currency_digits, is_currency
from services.receipts.errors import PayoutRejected, RunNotFound, StatementRejected
from services.receipts.models import (
    BalanceTransaction,
    BankStatement,
    Payout,
    Receipt,
    ReconciliationItem,
    ReconciliationRun,
)
from services.receipts.schemas import ItemRead, PayoutData, PayoutImportResult, StatementImportResult
from services.receipts.statements import StatementEntry, parse_statement

EPOCH = date(1970, 1, 1)
# Provider payout identifiers as they appear in bank remittance text: Stripe's po_..., the sandbox's po_sbx_...
PAYOUT_REFERENCE = re.compile(r"\bpo_[A-Za-z0-9_]{4,96}\b")
DEFAULT_LOOKBACK_DAYS = 90


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


# ---- inputs ------------------------------------------------------------------------------------


def import_payouts(session: Session, *, payouts: Sequence[PayoutData]) -> PayoutImportResult:
    """Store provider payouts and their balance transactions; what is already known is kept as is."""
    payout_rows: list[dict[str, object]] = []
    transaction_rows: list[dict[str, object]] = []
    for index, payout in enumerate(payouts):
        where = f"payouts[{index}] ({payout.payout_id})"
        if not is_currency(payout.currency):
            raise PayoutRejected(f"{where}: {payout.currency!r} is not an ISO 4217 currency")
        gross = fee = 0
        for number, item in enumerate(payout.balance_transactions):
            at = f"{where} balance_transactions[{number}]"
            if item.kind == "charge" and item.gross <= 0:
                raise PayoutRejected(f"{at}: a charge has a positive gross amount")
            if item.kind == "refund" and (item.gross >= 0 or not item.refund_id):
                raise PayoutRejected(f"{at}: a refund has a negative gross amount and names its refund_id")
            source = f"refund:{item.refund_id}" if item.kind == "refund" else f"payment:{item.payment_id}"
            gross += item.gross
            fee += item.fee
            transaction_rows.append(
                {"provider": payout.provider, "transaction_id": item.transaction_id, "source": source,
                 "kind": item.kind, "gross": item.gross, "fee": item.fee, "net": item.gross - item.fee,
                 "currency": payout.currency, "payout_id": payout.payout_id, "created_at": utcnow()}
            )  # fmt: skip
        if gross - fee <= 0:
            raise PayoutRejected(f"{where}: pays out {gross - fee}; a payout carries a positive net amount")
        payout_rows.append(
            {"id": uuid.uuid4(), "provider": payout.provider, "payout_id": payout.payout_id,
             "amount": gross - fee, "gross": gross, "fee": fee, "currency": payout.currency,
             "arrival_date": payout.arrival_date, "arrival_day": day_number(payout.arrival_date),
             "created_at": utcnow()}
        )  # fmt: skip
    new_payouts = repository.insert_payouts(session, payout_rows)
    new_transactions = repository.insert_balance_transactions(session, transaction_rows)
    return PayoutImportResult(
        payouts_new=new_payouts,
        payouts_known=len(payout_rows) - new_payouts,
        balance_transactions_new=new_transactions,
    )


def match_reference(entry: StatementEntry) -> str | None:
    """The payout id an entry names (end-to-end id first, then remittance text), else its end-to-end id."""
    for text_value in (entry.end_to_end_id, entry.remittance_information):
        if text_value:
            found = PAYOUT_REFERENCE.search(text_value)
            if found:
                return found.group(0)
    if entry.end_to_end_id and entry.end_to_end_id != "NOTPROVIDED":
        return entry.end_to_end_id[:100]
    return None


def _fingerprints(entries: Sequence[StatementEntry]) -> list[str]:
    """Identity of each movement across uploads: the bank's reference where it gives one, else its
    content plus how many identical movements came before it in the file (two equal payments on
    one day stay two, the same statement uploaded again adds none)."""
    seen: Counter[tuple[object, ...]] = Counter()
    prints: list[str] = []
    for entry in entries:
        if entry.bank_reference:
            key: tuple[object, ...] = ("ref", entry.account_iban, entry.bank_reference)
        else:
            key = ("content", entry.account_iban, entry.booking_date.isoformat(), entry.amount_minor,
                   entry.currency, entry.direction.value, entry.reversal, entry.end_to_end_id,
                   entry.remittance_information)  # fmt: skip
        seen[key] += 1
        prints.append(hashlib.sha256(repr((*key, seen[key])).encode()).hexdigest())
    return prints


def import_statement(
    session: Session, *, data: bytes, filename: str | None, imported_by: str
) -> StatementImportResult:
    """Read a camt.053 or MT940 file and store its booked entries; all or nothing. The same file
    twice, or a movement already known from another file, is not stored again."""
    sha = hashlib.sha256(data).hexdigest()
    known = repository.statement_by_hash(session, sha)
    if known is not None:
        return StatementImportResult(
            statement_id=known.id,
            format=known.format,
            entries=known.entries,
            new_entries=0,
            already_imported=True,
        )
    report = parse_statement(data)
    if not report.ok or report.format is None:
        errors = [{"line": e.line, "entry": e.entry, "message": e.message} for e in report.errors]
        first = report.errors[0].describe() if report.errors else "unreadable"
        raise StatementRejected(
            f"The statement has {len(report.errors)} error(s); nothing was imported. First: {first}",
            errors=errors,
        )
    statement = BankStatement(
        id=uuid.uuid4(),
        sha256=sha,
        format=report.format.value,
        filename=filename,
        entries=len(report.entries),
        new_entries=0,
        imported_by=imported_by,
        imported_at=utcnow(),
    )
    repository.add(session, statement)
    rows: list[dict[str, object]] = [
        {"statement_id": statement.id, "fingerprint": fingerprint, "account_iban": entry.account_iban,
         "booking_date": entry.booking_date, "booking_day": day_number(entry.booking_date),
         "amount": entry.amount_minor, "currency": entry.currency, "direction": entry.direction.value,
         "reversal": entry.reversal, "end_to_end_id": (entry.end_to_end_id or None) and entry.end_to_end_id[:100],
         "remittance_information": entry.remittance_information,
         "bank_reference": (entry.bank_reference or None) and entry.bank_reference[:100],
         "match_ref": match_reference(entry)}
        for entry, fingerprint in zip(report.entries, _fingerprints(report.entries), strict=True)
    ]  # fmt: skip
    new = repository.insert_bank_entries(session, rows)
    statement.new_entries = new
    session.flush()
    return StatementImportResult(
        statement_id=statement.id,
        format=statement.format,
        entries=statement.entries,
        new_entries=new,
        already_imported=False,
    )


# ---- the run -----------------------------------------------------------------------------------

_SIGNED_AMOUNT = "CASE WHEN r.kind = 'credit_receipt' THEN -r.amount ELSE r.amount END"

_CREDIT_IN_SCOPE = (
    "e.direction = 'CRDT' AND e.reversal = :no AND e.booking_day BETWEEN :from_day - :w AND :as_of + :w"
)
_PAYOUT_IN_SCOPE = "p.arrival_day BETWEEN :from_day AND :as_of + :w"

_BY_IDENTIFIER = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'payout',
    CASE WHEN e.amount = p.gross THEN 'matched'
         WHEN e.amount = p.amount AND p.fee > 0 THEN 'fee_difference'
         ELSE 'partial' END,
    'identifier', e.booking_day, p.payout_id, e.id, p.currency, p.gross, e.amount, p.fee,
    CASE WHEN e.amount = p.gross THEN NULL
         WHEN e.amount = p.amount AND p.fee > 0 THEN 'the bank received the collected amount less the provider fee'
         ELSE 'the bank received a different amount than the payout carries' END
FROM payouts p
JOIN (
    SELECT e.id, e.match_ref, e.amount, e.currency, e.booking_day,
           ROW_NUMBER() OVER (PARTITION BY e.match_ref, e.currency ORDER BY e.booking_day, e.id) AS rn
    FROM bank_entries e
    WHERE e.match_ref IS NOT NULL AND {_CREDIT_IN_SCOPE}
) e ON e.match_ref = p.payout_id AND e.currency = p.currency AND e.rn = 1
WHERE {_PAYOUT_IN_SCOPE}
"""

_DUPLICATE_ENTRIES = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'bank_entry', 'duplicate', 'identifier', e.booking_day, e.match_ref, e.id, e.currency, NULL, e.amount,
    NULL, 'a second bank credit names a payout already matched'
FROM bank_entries e
WHERE e.match_ref IS NOT NULL AND {_CREDIT_IN_SCOPE}
  AND NOT EXISTS (SELECT 1 FROM reconciliation_items i WHERE i.run_id = :run AND i.bank_entry_id = e.id)
  AND EXISTS (SELECT 1 FROM reconciliation_items i
              WHERE i.run_id = :run AND i.subject = 'payout' AND i.payout_id = e.match_ref)
"""

_OPEN_PAIRS = f"""
    SELECT p.payout_id, p.gross, p.fee, p.currency, e.id AS entry_id, e.amount, e.booking_day,
           COUNT(*) OVER (PARTITION BY p.id) AS per_payout,
           COUNT(*) OVER (PARTITION BY e.id) AS per_entry
    FROM payouts p
    JOIN bank_entries e
      ON e.amount = p.amount AND e.currency = p.currency
     AND e.booking_day BETWEEN p.arrival_day - :w AND p.arrival_day + :w
    WHERE {_PAYOUT_IN_SCOPE} AND {_CREDIT_IN_SCOPE}
      AND NOT EXISTS (SELECT 1 FROM reconciliation_items i
                      WHERE i.run_id = :run AND i.subject = 'payout' AND i.payout_id = p.payout_id)
      AND NOT EXISTS (SELECT 1 FROM reconciliation_items i WHERE i.run_id = :run AND i.bank_entry_id = e.id)
      AND (e.match_ref IS NULL OR NOT EXISTS (SELECT 1 FROM payouts q WHERE q.payout_id = e.match_ref))
"""

_BY_AMOUNT = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'payout', CASE WHEN c.fee > 0 THEN 'fee_difference' ELSE 'matched' END, 'amount_date',
    c.booking_day, c.payout_id, c.entry_id, c.currency, c.gross, c.amount, c.fee,
    'no identifier on the bank credit: its amount is the only one within the date window'
FROM ({_OPEN_PAIRS}) c
WHERE c.per_payout = 1 AND c.per_entry = 1
"""

_OPEN_PAYOUTS = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'payout',
    CASE WHEN p.arrival_day + :w >= :as_of THEN 'in_transit' ELSE 'unmatched_receipt' END,
    NULL, p.arrival_day, p.payout_id, NULL, p.currency, p.gross, NULL, p.fee,
    CASE WHEN c.candidates > 1 THEN 'several bank credits of this amount within the window: match by hand'
         WHEN p.arrival_day + :w >= :as_of THEN 'not due on the bank yet'
         ELSE 'no bank credit found for this payout' END
FROM payouts p
LEFT JOIN (SELECT payout_id, MAX(per_payout) AS candidates FROM ({_OPEN_PAIRS}) o GROUP BY payout_id) c
  ON c.payout_id = p.payout_id
WHERE {_PAYOUT_IN_SCOPE}
  AND NOT EXISTS (SELECT 1 FROM reconciliation_items i
                  WHERE i.run_id = :run AND i.subject = 'payout' AND i.payout_id = p.payout_id)
"""

_RECEIPTS = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, receipt_id, payout_id, bank_entry_id, currency, expected, actual,
     fee, detail)
SELECT :run, 'receipt',
    CASE WHEN b.source IS NULL THEN
              CASE WHEN r.paid_day + :w >= :as_of THEN 'in_transit' ELSE 'unmatched_receipt' END
         WHEN b.n > 1 THEN 'duplicate'
         WHEN b.gross <> {_SIGNED_AMOUNT} THEN 'partial'
         WHEN b.payout_id IS NULL OR pi.outcome IS NULL THEN 'in_transit'
         ELSE pi.outcome END,
    pi.method, r.paid_day, r.id, b.payout_id, pi.bank_entry_id, r.currency, {_SIGNED_AMOUNT}, b.gross, b.fee,
    CASE WHEN b.source IS NULL THEN
              CASE WHEN r.paid_day + :w >= :as_of THEN 'the provider has not reported this payment yet'
                   ELSE 'the provider reports no transaction for this payment' END
         WHEN b.n > 1 THEN 'the provider reports this payment more than once'
         WHEN b.gross <> {_SIGNED_AMOUNT} THEN 'the provider reports another amount than the receipt'
         WHEN b.payout_id IS NULL THEN 'not paid out yet'
         WHEN pi.outcome IS NULL THEN 'its payout is not among the imported payouts in scope'
         ELSE pi.detail END
FROM receipts r
LEFT JOIN (
    SELECT source, COUNT(*) AS n, SUM(gross) AS gross, SUM(fee) AS fee, MAX(payout_id) AS payout_id
    FROM balance_transactions GROUP BY source
) b ON b.source = r.source
LEFT JOIN reconciliation_items pi ON pi.run_id = :run AND pi.subject = 'payout' AND pi.payout_id = b.payout_id
WHERE r.paid_day BETWEEN :from_day AND :to_day
"""

# Carried by a payout in scope: the payout's items are this run's, so the transaction is dated by
# its payout's arrival and belongs to exactly one run's scope with it.
_UNRECORDED_TRANSACTIONS = f"""
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'transaction', 'unmatched_provider_transaction', NULL, p.arrival_day, b.payout_id, NULL, b.currency,
    NULL, b.gross, b.fee,
    'the provider reports ' || b.kind || ' ' || b.transaction_id || ' that no receipt records'
FROM balance_transactions b
JOIN payouts p ON p.payout_id = b.payout_id AND p.provider = b.provider
WHERE {_PAYOUT_IN_SCOPE}
  AND NOT EXISTS (SELECT 1 FROM receipts r WHERE r.source = b.source)
"""

_UNEXPLAINED_CREDITS = """
INSERT INTO reconciliation_items
    (run_id, subject, outcome, method, day, payout_id, bank_entry_id, currency, expected, actual, fee, detail)
SELECT :run, 'bank_entry', 'unmatched_bank_entry', NULL, e.booking_day, e.match_ref, e.id, e.currency, NULL,
    e.amount, NULL, 'no payout explains this bank credit'
FROM bank_entries e
WHERE e.booking_day BETWEEN :from_day AND :as_of + :w AND e.direction = 'CRDT' AND e.reversal = :no
  AND NOT EXISTS (SELECT 1 FROM reconciliation_items i WHERE i.run_id = :run AND i.bank_entry_id = e.id)
"""

_TOTALS = """
SELECT subject, outcome, currency, COUNT(*), COALESCE(SUM(COALESCE(expected, actual)), 0)
FROM reconciliation_items WHERE run_id = :run
GROUP BY subject, outcome, currency ORDER BY subject, outcome, currency
"""

_INPUTS = """
SELECT
  (SELECT COUNT(*) FROM receipts r WHERE r.paid_day BETWEEN :from_day AND :to_day),
  (SELECT COUNT(*) FROM payouts p WHERE p.arrival_day BETWEEN :from_day AND :as_of + :w),
  (SELECT COUNT(*) FROM balance_transactions),
  (SELECT COUNT(*) FROM bank_entries e WHERE e.booking_day BETWEEN :from_day - :w AND :as_of + :w),
  (SELECT COUNT(*) FROM bank_statements)
"""


@dataclass(frozen=True, slots=True)
class Scope:
    as_of: date
    date_from: date
    date_to: date
    window_days: int


def scope_of(*, as_of: date | None, date_from: date | None, date_to: date | None, window_days: int) -> Scope:
    as_of = as_of or utcnow().date()
    date_to = date_to or as_of
    date_from = date_from or (date_to - timedelta(days=DEFAULT_LOOKBACK_DAYS))
    if date_from > date_to:
        raise PayoutRejected(f"date_from {date_from} is after date_to {date_to}")
    return Scope(as_of, date_from, date_to, window_days)


def run(session: Session, *, scope: Scope, created_by: str) -> ReconciliationRun:
    """One reconciliation run over ``scope``, stored with its inputs and its results."""
    started = time.perf_counter()
    params: dict[str, object] = {
        "as_of": day_number(scope.as_of),
        "from_day": day_number(scope.date_from),
        "to_day": day_number(scope.date_to),
        "w": scope.window_days,
        "no": False,
    }
    counts = session.execute(text(_INPUTS), params).one()
    statements = [
        str(s) for s in session.scalars(select(BankStatement.id).order_by(BankStatement.imported_at))
    ]
    record = ReconciliationRun(
        id=uuid.uuid4(),
        created_by=created_by,
        as_of=scope.as_of,
        date_from=scope.date_from,
        date_to=scope.date_to,
        window_days=scope.window_days,
        inputs={
            "receipts": int(counts[0]),
            "payouts": int(counts[1]),
            "balance_transactions": int(counts[2]),
            "bank_entries": int(counts[3]),
            "statements": int(counts[4]),
            "statement_ids": statements[-100:],
        },
        totals={},
    )
    repository.add(session, record)
    params["run"] = record.id
    for statement in (
        _BY_IDENTIFIER,
        _DUPLICATE_ENTRIES,
        _BY_AMOUNT,
        _OPEN_PAYOUTS,
        _RECEIPTS,
        _UNRECORDED_TRANSACTIONS,
        _UNEXPLAINED_CREDITS,
    ):
        session.execute(text(statement).bindparams(bindparam("run", type_=Uuid)), params)
    # subject -> outcome -> {"count": n, "amounts": {currency: minor units}}
    totals: dict[str, dict[str, dict[str, Any]]] = {}
    for subject, outcome, currency, count, amount in session.execute(
        text(_TOTALS).bindparams(bindparam("run", type_=Uuid)), {"run": record.id}
    ):
        figures = totals.setdefault(str(subject), {}).setdefault(str(outcome), {"count": 0, "amounts": {}})
        figures["count"] += int(count)
        figures["amounts"][str(currency)] = int(amount)
    record.totals = totals
    record.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    return record


def get_run(session: Session, *, run_id: uuid.UUID) -> ReconciliationRun:
    found = repository.get_run(session, run_id)
    if found is None:
        raise RunNotFound(f"No reconciliation run {run_id}")
    return found


def run_items(
    session: Session, *, run_id: uuid.UUID, outcomes: Sequence[str] | None, limit: int, offset: int
) -> tuple[list[ItemRead], int]:
    get_run(session, run_id=run_id)
    items, total = repository.run_items(session, run_id, outcomes=outcomes, limit=limit, offset=offset)
    return [item_read(item) for item in items], total


def item_read(item: ReconciliationItem) -> ItemRead:
    return ItemRead(
        subject=item.subject,
        outcome=item.outcome,
        method=item.method,
        day=day_of(item.day),
        receipt_id=item.receipt_id,
        payout_id=item.payout_id,
        bank_entry_id=item.bank_entry_id,
        currency=item.currency,
        expected=item.expected,
        actual=item.actual,
        fee=item.fee,
        detail=item.detail,
    )


CSV_COLUMNS = ("subject", "outcome", "method", "day", "receipt_number", "receipt_id", "payout_id", "bank_entry_id",
               "currency", "expected", "actual", "fee", "detail")  # fmt: skip


def _csv_cell(value: object) -> object:
    # A cell starting with = + - @ is a formula to a spreadsheet; bank texts are untrusted.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_csv(session: Session, *, run_id: uuid.UUID) -> Iterator[str]:
    """The run's items as CSV in chunks, read as they are sent (a run may hold millions): the caller
    gives a session that lives as long as the iteration."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = session.execute(
        select(ReconciliationItem, Receipt.series_key, Receipt.number)
        .outerjoin(Receipt, Receipt.id == ReconciliationItem.receipt_id)
        .where(ReconciliationItem.run_id == run_id)
        .order_by(ReconciliationItem.id)
        .execution_options(yield_per=2000)
    )
    for count, (item, series_key, number) in enumerate(rows, start=1):
        writer.writerow(
            _csv_cell(v)
            for v in (
                item.subject,
                item.outcome,
                item.method,
                day_of(item.day).isoformat(),
                f"{series_key}-{number:06d}" if series_key else "",
                item.receipt_id or "",
                item.payout_id or "",
                item.bank_entry_id or "",
                item.currency,
                item.expected,
                item.actual,
                item.fee,
                item.detail or "",
            )  # fmt: skip
        )
        if count % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# ---- sandbox -----------------------------------------------------------------------------------

_SANDBOX_TRANSACTIONS = f"""
INSERT INTO balance_transactions
    (provider, transaction_id, source, kind, gross, fee, net, currency, payout_id, created_at)
SELECT 'sandbox', 'sbx_' || r.source, r.source,
    CASE WHEN r.kind = 'credit_receipt' THEN 'refund' ELSE 'charge' END,
    {_SIGNED_AMOUNT},
    CASE WHEN r.kind = 'credit_receipt' THEN 0 ELSE :fixed + (r.amount * :basis_points) / 10000 END,
    {_SIGNED_AMOUNT} - CASE WHEN r.kind = 'credit_receipt' THEN 0 ELSE :fixed + (r.amount * :basis_points) / 10000 END,
    r.currency, 'po_sbx_' || :stamp || '_' || r.currency, :now
FROM receipts r
WHERE r.paid_day = :day
  AND NOT EXISTS (SELECT 1 FROM balance_transactions b WHERE b.source = r.source)
"""


_SANDBOX_ASSIGN = """
UPDATE balance_transactions SET payout_id = 'po_sbx_' || :stamp || '_' || currency
WHERE provider = 'sandbox' AND payout_id IS NULL
  AND source IN (SELECT r.source FROM receipts r WHERE r.paid_day = :day)
"""


def simulate_sandbox_payouts(
    session: Session, *, day: date, arrival_delay_days: int = 2, fee_fixed: int = 0, fee_basis_points: int = 0
) -> list[Payout]:
    """What the sandbox provider pays out for the receipts of ``day``: the balance transactions the
    payment events reported, one for each receipt not yet reported, and one payout per currency (``po_sbx_<yyyymmdd>_<currency>``), arriving
    ``arrival_delay_days`` later. Fees are ``fee_fixed`` minor units plus ``fee_basis_points``/10000
    of each charge (zero by default: the sandbox charges nothing)."""
    stamp = day.strftime("%Y%m%d")
    # Transactions the payment events already reported (with their fee) join the day's payout.
    session.execute(text(_SANDBOX_ASSIGN), {"stamp": stamp, "day": day_number(day)})
    session.execute(
        text(_SANDBOX_TRANSACTIONS),
        {"day": day_number(day), "fixed": fee_fixed, "basis_points": fee_basis_points, "stamp": stamp,
         "now": utcnow()},
    )  # fmt: skip
    sums = session.execute(
        select(
            BalanceTransaction.payout_id,
            BalanceTransaction.currency,
            text("SUM(balance_transactions.gross)"),
            text("SUM(balance_transactions.fee)"),
        )
        .where(BalanceTransaction.payout_id.like(f"po_sbx_{stamp}_%"))
        .group_by(BalanceTransaction.payout_id, BalanceTransaction.currency)
    ).all()
    arrival = day + timedelta(days=arrival_delay_days)
    rows = [
        {"id": uuid.uuid4(), "provider": "sandbox", "payout_id": payout_id, "amount": int(gross) - int(fee),
         "gross": int(gross), "fee": int(fee), "currency": currency, "arrival_date": arrival,
         "arrival_day": day_number(arrival), "created_at": utcnow()}
        for payout_id, currency, gross, fee in sums
        if int(gross) - int(fee) > 0
    ]  # fmt: skip
    repository.insert_payouts(session, rows)
    ids = [str(r["payout_id"]) for r in rows]
    return list(session.scalars(select(Payout).where(Payout.payout_id.in_(ids)).order_by(Payout.payout_id)))


CAMT = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass(frozen=True, slots=True)
class BankCredit:
    """One credit for :func:`camt053_statement`: amount in minor units, the booking day and the
    identifiers the bank passes on (either may be None, as with a real bank)."""

    amount_minor: int
    currency: str
    booking_date: date
    end_to_end_id: str | None
    remittance: str | None
    bank_reference: str


def camt053_statement(*, iban: str, statement_id: str, credits: Sequence[BankCredit]) -> bytes:
    """A camt.053.001.08 statement holding ``credits``: what the sandbox's bank would send, for
    demonstrations and tests of the import and the matching."""
    ns = f"{{{CAMT}}}"

    def sub(parent: etree._Element, name: str, value: str | None = None, **attrs: str) -> etree._Element:
        child = etree.SubElement(parent, ns + name, attrs)
        if value is not None:
            child.text = value
        return child

    root = etree.Element(ns + "Document", nsmap={None: CAMT})  # type: ignore[dict-item]
    statement = sub(root, "BkToCstmrStmt")
    header = sub(statement, "GrpHdr")
    sub(header, "MsgId", f"MSG-{statement_id}")
    sub(header, "CreDtTm", utcnow().replace(microsecond=0).isoformat())
    stmt = sub(statement, "Stmt")
    sub(stmt, "Id", statement_id)
    sub(sub(sub(stmt, "Acct"), "Id"), "IBAN", iban)
    for credit in credits:
        entry = sub(stmt, "Ntry")
        sub(entry, "NtryRef", credit.bank_reference)
        digits = currency_digits(credit.currency)
        sub(entry, "Amt", f"{Decimal(credit.amount_minor).scaleb(-digits):.{digits}f}", Ccy=credit.currency)
        sub(entry, "CdtDbtInd", "CRDT")
        sub(sub(entry, "Sts"), "Cd", "BOOK")
        sub(sub(entry, "BookgDt"), "Dt", credit.booking_date.isoformat())
        sub(sub(entry, "ValDt"), "Dt", credit.booking_date.isoformat())
        sub(entry, "AcctSvcrRef", credit.bank_reference)
        sub(sub(sub(entry, "BkTxCd"), "Prtry"), "Cd", "TRF")
        transaction = sub(sub(entry, "NtryDtls"), "TxDtls")
        sub(sub(transaction, "Refs"), "EndToEndId", credit.end_to_end_id or "NOTPROVIDED")
        if credit.remittance:
            sub(sub(transaction, "RmtInf"), "Ustrd", credit.remittance)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def payout_credits(payouts: Sequence[Payout], *, delay_days: int = 0) -> list[BankCredit]:
    """The bank credits of ``payouts`` as a bank reports them (payout id in the end-to-end id)."""
    return [
        BankCredit(
            p.amount,
            p.currency,
            p.arrival_date + timedelta(days=delay_days),
            p.payout_id,
            f"Payout {p.payout_id}",
            f"BNK-{p.payout_id}",
        )  # fmt: skip
        for p in payouts
    ]
