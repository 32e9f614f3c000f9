"""How fast does Tessera reconcile? Run: ``.venv/bin/python -m benchmarks.bench_reconciliation``.

Builds a receipts database on PostgreSQL (a throw-away database, migrated with Alembic) holding N
payments' receipts, their balance transactions, the payouts that carry them (about 500 payments
each) and a bank statement with one credit per payout, all loaded with ``generate_series`` in the
database, then times one reconciliation run (the set-based SQL of ``services.receipts.reconciliation``).
Seeded discrepancies keep every path busy: 1% of payouts reach the bank without an identifier
(amount matching), 1% never arrive, 0.1% of payments are unknown to the provider, and one bank
credit in a thousand is unexplained.

Targets (the receipts issue): N = 1,000,000 in under 60 s and under 1 GB of memory. Printed: the
load and run times per N (10k, 100k, 1M), the growth factor of the run time, the benchmark process's
peak resident memory, and the peak resident memory of the PostgreSQL backend that ran the SQL.

PostgreSQL comes from ``$TESSERA_TEST_POSTGRES_URL`` (an admin URL), by default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``. ``--sizes 10000,100000`` picks sizes.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from services.common.db import Database
from services.common.migrations import upgrade
from services.receipts import reconciliation
from services.receipts.reconciliation import Scope

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET_SECONDS = 60.0
TARGET_MB = 1024
START = date(2026, 3, 1)
DAYS = 30
PAYMENTS_PER_PAYOUT = 500

LOAD = """
INSERT INTO receipt_series (key, municipality, year, last_number, last_hash, created_at)
VALUES ('BENCH-2026', 'BENCH', 2026, :n, repeat('0', 64), now());

INSERT INTO receipts (id, kind, series_key, number, source, payment_id, credits_id, amount, currency, reference,
                      language, issued_at, paid_day, record, record_hash, signature, key_id, created_at)
SELECT md5(i::text || 'r')::uuid, 'receipt', 'BENCH-2026', i, 'payment:' || md5(i::text || 'p')::uuid,
       md5(i::text || 'p')::uuid, NULL, 1000 + (i::bigint * 7919) % 90000, 'EUR', 'REF-' || i, 'en', now(),
       :start + (i % :days), '\\x7b7d'::bytea, md5(i::text) || md5(i::text || 'h'), '\\x00'::bytea, 'bench', now()
FROM generate_series(1, :n) AS i;

-- The provider reports every payment but one in a thousand; each goes into its day's payouts.
INSERT INTO balance_transactions (provider, transaction_id, source, kind, gross, fee, net, currency, payout_id,
                                  created_at)
SELECT 'stripe', 'txn_' || i, 'payment:' || md5(i::text || 'p')::uuid, 'charge', 1000 + (i::bigint * 7919) % 90000,
       25, 1000 + (i::bigint * 7919) % 90000 - 25, 'EUR',
       'po_bench_' || (i % :days) || '_' || (i / :days) % :buckets, now()
FROM generate_series(1, :n) AS i
WHERE i % 1000 <> 0;

INSERT INTO payouts (id, provider, payout_id, amount, gross, fee, currency, arrival_date, arrival_day, created_at)
SELECT gen_random_uuid(), 'stripe', payout_id, SUM(net), SUM(gross), SUM(fee), 'EUR',
       DATE '1970-01-01' + (MIN(r.paid_day) + 2), MIN(r.paid_day) + 2, now()
FROM balance_transactions b JOIN receipts r ON r.source = b.source
GROUP BY payout_id;

INSERT INTO bank_statements (id, sha256, format, filename, entries, new_entries, imported_by, imported_at)
VALUES (:statement, repeat('b', 64), 'camt.053', 'bench.xml', 0, 0, 'bench', now());

-- One credit per payout: most name it, 1% carry no identifier, 1% never arrive.
INSERT INTO bank_entries (statement_id, fingerprint, account_iban, booking_date, booking_day, amount, currency,
                          direction, reversal, end_to_end_id, remittance_information, bank_reference, match_ref)
SELECT :statement, md5(p.payout_id), 'IT60X0542811101000000123456', p.arrival_date + 1, p.arrival_day + 1,
       p.amount, 'EUR', 'CRDT', false,
       CASE WHEN k % 100 = 1 THEN NULL ELSE p.payout_id END, 'Payout', 'BNK-' || k,
       CASE WHEN k % 100 = 1 THEN NULL ELSE p.payout_id END
FROM (SELECT payout_id, amount, arrival_date, arrival_day, ROW_NUMBER() OVER (ORDER BY payout_id) AS k
      FROM payouts) p
WHERE k % 100 <> 2;

INSERT INTO bank_entries (statement_id, fingerprint, account_iban, booking_date, booking_day, amount, currency,
                          direction, reversal, end_to_end_id, remittance_information, bank_reference, match_ref)
SELECT :statement, md5('noise' || i), 'IT60X0542811101000000123456', DATE '1970-01-01' + (:start + i % :days),
       :start + i % :days, 100000 + i, 'EUR', 'CRDT', false, NULL, 'Unknown transfer', 'NOISE-' || i, NULL
FROM generate_series(1, GREATEST(1, :n / 1000)) AS i;
"""


def admin_url() -> sa.URL:
    url = make_url(os.environ.get("TESSERA_TEST_POSTGRES_URL") or DEFAULT_URL)
    return url.set(drivername="postgresql+psycopg") if url.drivername == "postgresql" else url


def create_database() -> str:
    name = f"tessera_bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url().set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    engine = sa.create_engine(admin_url(), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def empty(database: Database) -> None:
    with database.engine.begin() as connection:
        # TRUNCATE is not the row-level UPDATE/DELETE the receipts trigger refuses.
        connection.execute(
            sa.text(
                "TRUNCATE reconciliation_items, reconciliation_runs, bank_entries, bank_statements, payouts, "
                "balance_transactions, daily_closes, receipt_pdfs, receipts, receipt_series"
            )
        )


def load(database: Database, n: int) -> float:
    started = time.perf_counter()
    start_day = reconciliation.day_number(START)
    buckets = max(1, n // (PAYMENTS_PER_PAYOUT * DAYS))
    params = {"n": n, "start": start_day, "days": DAYS, "buckets": buckets, "statement": uuid.uuid4()}
    with database.engine.begin() as connection:
        for statement in LOAD.split(";\n\n"):
            body = "\n".join(line for line in statement.splitlines() if not line.startswith("--")).strip()
            if body:
                text = sa.text(body)
                if ":statement" in body:
                    text = text.bindparams(sa.bindparam("statement", type_=sa.Uuid))
                used = {k: v for k, v in params.items() if f":{k}" in body}
                connection.execute(text, used)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def backend_peak_mb(pid: int) -> float | None:
    """VmHWM of the PostgreSQL backend process, when it runs on this machine and /proc shows it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def reconcile(database: Database) -> tuple[float, dict[str, dict[str, dict[str, int]]], float | None]:
    scope = Scope(as_of=START + timedelta(days=DAYS + 10), date_from=START, date_to=START + timedelta(days=DAYS),
                  window_days=3)  # fmt: skip
    with database.sessionmaker() as session:
        pid = int(session.scalar(sa.text("SELECT pg_backend_pid()")) or 0)
        started = time.perf_counter()
        run = reconciliation.run(session, scope=scope, created_by="bench")
        session.commit()
        seconds = time.perf_counter() - started
        totals = run.totals
        peak = backend_peak_mb(pid)
    return seconds, totals, peak


def process_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="Comma-separated payment counts")
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    try:
        url = create_database()
    except sa.exc.OperationalError as error:
        print(f"bench_reconciliation: PostgreSQL unavailable: {str(error).splitlines()[0]}", file=sys.stderr)
        return 1
    database = Database(url)
    results: list[tuple[int, float, float, int, float | None]] = []
    try:
        upgrade("receipts", url)
        for n in sizes:
            empty(database)
            load_seconds = load(database, n)
            run_seconds, totals, backend_mb = reconcile(database)
            items = sum(f["count"] for outcomes in totals.values() for f in outcomes.values())
            results.append((n, load_seconds, run_seconds, items, backend_mb))
            receipts = totals.get("receipt", {})
            summary = ", ".join(f"{outcome} {f['count']}" for outcome, f in sorted(receipts.items()))
            print(f"n={n:,}: receipts {summary}", flush=True)
    finally:
        database.dispose()
        drop_database(url)

    print()
    print(
        f"{'payments':>10} {'load s':>8} {'run s':>8} {'items':>10} {'per s':>10} {'growth':>7} {'pg MB':>7}"
    )
    previous: tuple[int, float] | None = None
    for n, load_seconds, run_seconds, items, backend_mb in results:
        growth = f"{run_seconds / previous[1]:.1f}x" if previous and previous[1] > 0 else "-"
        pg = f"{backend_mb:.0f}" if backend_mb is not None else "?"
        print(f"{n:>10,} {load_seconds:>8.1f} {run_seconds:>8.2f} {items:>10,} {n / run_seconds:>10,.0f} "
              f"{growth:>7} {pg:>7}")  # fmt: skip
        previous = (n, run_seconds)
    peak = process_peak_mb()
    print(f"benchmark process peak memory: {peak:.0f} MB (target < {TARGET_MB} MB)")
    largest = results[-1] if results else None
    if largest is not None:
        ok = largest[2] < TARGET_SECONDS and peak < TARGET_MB and (largest[4] or 0) < TARGET_MB
        print(f"{largest[0]:,} payments reconciled in {largest[2]:.1f} s (target < {TARGET_SECONDS:.0f} s): "
              f"{'met' if ok else 'NOT met'}")  # fmt: skip
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
