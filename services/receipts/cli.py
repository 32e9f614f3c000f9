"""``tessera receipts ...``: checks and finance work on the receipts database.

tessera receipts verify-chain [--series DEMO-2026]    # exit 0 intact, 1 broken (names the first link)
tessera receipts import-statement FILE                # camt.053 or MT940; per-line errors, exit 1
tessera receipts simulate-payouts --day 2026-03-12 [--statement camt.xml]  # the sandbox's payouts
tessera receipts reconcile [--as-of D] [--from D] [--to D] [--window N]
tessera receipts close-day --day 2026-03-12

Each reads ``TESSERA_RECEIPTS_DATABASE_URL`` (or the SQLite file under the data dir) unless
``--database-url`` is given, and commits only when it succeeds.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from services.common.db import Database
from services.common.errors import TesseraError
from services.receipts import reconciliation, service
from services.receipts.signing import ReceiptVerifier, SigningKeyError

EXIT_OK, EXIT_FOUND_PROBLEMS, EXIT_USAGE = 0, 1, 2
SANDBOX_IBAN = "IT60X0542811101000000123456"
# Where services.common.devkeys.ensure_dev_signing_key keeps the development key, under the data dir.
DEVELOPMENT_KEY = Path("keys") / "dev-signing-key.pem"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-12") from None


def _with_session(args: argparse.Namespace, work: Callable[[Session, argparse.Namespace], int]) -> int:
    from services.receipts.app import load_settings

    settings = load_settings()
    database = Database(args.database_url or settings.resolved_database_url())
    try:
        with database.sessionmaker() as session:
            code = work(session, args)
            if code == EXIT_OK:
                session.commit()
            return code
    except TesseraError as error:
        print(f"tessera receipts {args.receipts_command}: {error.detail}", file=sys.stderr)
        for line in error.extra.get("errors", [])[:50]:
            where = ", ".join(f"{k} {line[k]}" for k in ("line", "entry") if line.get(k) is not None)
            print(f"  {where}: {line['message']}" if where else f"  {line['message']}", file=sys.stderr)
        return EXIT_FOUND_PROBLEMS
    except SQLAlchemyError as error:
        print(f"tessera receipts {args.receipts_command}: database error: {error}", file=sys.stderr)
        return EXIT_FOUND_PROBLEMS
    finally:
        database.dispose()


def _verifier(args: argparse.Namespace) -> ReceiptVerifier:
    if args.public_key:
        return ReceiptVerifier.from_public_pems(path.read_bytes() for path in args.public_key)
    from services.receipts.app import build_issuing, load_settings

    settings = load_settings()
    development_key = settings.data_dir / DEVELOPMENT_KEY
    if settings.signing_key_file is None and not development_key.exists():
        # Creating a development key here would only make every receipt "signed by an unknown key".
        raise SigningKeyError(
            f"no signing key is configured and there is no development key at {development_key}: "
            "pass the public key(s) with --public-key"
        )
    return build_issuing(settings).verifier


def _verify_chain(session: Session, args: argparse.Namespace) -> int:
    try:
        verifier = _verifier(args)
    except (SigningKeyError, OSError) as error:
        print(f"tessera receipts verify-chain: {error}", file=sys.stderr)
        return EXIT_USAGE
    keys = [args.series] if args.series else service.series_keys(session)
    broken = 0
    for key in keys:
        verdict = service.verify_series(session, series_key=key, verifier=verifier)
        if verdict.first_broken is None:
            print(f"{key}: intact, {verdict.checked} receipts, last hash {verdict.last_hash}")
        else:
            broken += 1
            print(f"{key}: BROKEN after {verdict.checked} good receipts: {verdict.first_broken.describe()}")
        problems = service.check_closes(session, series_key=key)
        broken += bool(problems)
        for problem in problems:
            print(f"{key}: DAILY CLOSE MISMATCH: {problem}")
    if not keys:
        print("no receipt series yet")
    return EXIT_FOUND_PROBLEMS if broken else EXIT_OK


def _import_statement(session: Session, args: argparse.Namespace) -> int:
    path: Path = args.file
    try:
        data = path.read_bytes()
    except OSError as error:
        print(f"tessera receipts import-statement: cannot read {path}: {error.strerror}", file=sys.stderr)
        return EXIT_USAGE
    result = reconciliation.import_statement(
        session, data=data, filename=path.name, imported_by="command line"
    )
    note = " (this file was imported before)" if result.already_imported else ""
    print(f"{path.name}: {result.format}, {result.entries} entries, {result.new_entries} new{note}")
    return EXIT_OK


def _simulate(session: Session, args: argparse.Namespace) -> int:
    payouts = reconciliation.simulate_sandbox_payouts(
        session, day=args.day, fee_fixed=args.fee_fixed, fee_basis_points=args.fee_basis_points
    )
    for payout in payouts:
        print(f"{payout.payout_id}: {payout.amount} {payout.currency} arriving {payout.arrival_date}")
    if not payouts:
        print(f"no receipts paid on {args.day} without a payout")
    elif args.statement is not None:
        credits = reconciliation.payout_credits(payouts)
        statement = reconciliation.camt053_statement(
            iban=args.iban, statement_id=f"SBX-{args.day:%Y%m%d}", credits=credits
        )
        try:
            args.statement.write_bytes(statement)
        except OSError as error:
            print(
                f"tessera receipts simulate-payouts: cannot write {args.statement}: {error.strerror}",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(f"the bank's camt.053 statement of these payouts: {args.statement}")
    return EXIT_OK


def _reconcile(session: Session, args: argparse.Namespace) -> int:
    from services.receipts.app import load_settings

    window = args.window if args.window is not None else load_settings().reconciliation_window_days
    scope = reconciliation.scope_of(
        as_of=args.as_of, date_from=args.date_from, date_to=args.date_to, window_days=window
    )
    run = reconciliation.run(session, scope=scope, created_by="command line")
    print(f"run {run.id} in {run.seconds} s")
    for subject, outcomes in sorted(run.totals.items()):
        for outcome, figures in sorted(outcomes.items()):
            amounts = ", ".join(
                f"{amount} {currency}" for currency, amount in sorted(figures["amounts"].items())
            )
            print(f"  {subject:<11} {outcome:<21} {figures['count']:>9}  {amounts}")
    return EXIT_OK


def _close_day(session: Session, args: argparse.Namespace) -> int:
    from services.receipts.app import build_issuing, load_settings

    issuing = build_issuing(load_settings())
    for close in service.close_day(session, day=args.day, issuing=issuing, closed_by="command line"):
        print(
            f"{close.series_key} {close.day} {close.currency}: {close.receipts_count} receipts, "
            f"{close.credits_count} credits, numbers {close.first_number}-{close.last_number}, "
            f"total {close.receipts_total - close.credits_total}, last hash {close.last_hash}"
        )
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    receipts = subparsers.add_parser("receipts", help="Receipt chains, bank statements, reconciliation")
    commands = receipts.add_subparsers(dest="receipts_command", metavar="COMMAND", required=True)

    def command(
        name: str, help_text: str, work: Callable[[Session, argparse.Namespace], int]
    ) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=help_text, description=help_text)
        parser.add_argument("--database-url", help="SQLAlchemy URL of the receipts database")
        parser.set_defaults(func=lambda args: _with_session(args, work))
        return parser

    verify = command("verify-chain", "Check every receipt's hash, signature and chain link", _verify_chain)
    verify.add_argument("--series", help="One series (DEMO-2026); every series when omitted")
    verify.add_argument(
        "--public-key", type=Path, action="append", help="PEM public key to check with (repeatable); "
        "the configured signing key's by default",
    )  # fmt: skip
    statement = command("import-statement", "Import a camt.053 or MT940 bank statement", _import_statement)
    statement.add_argument("file", type=Path)
    simulate = command("simulate-payouts", "Create the sandbox provider's payouts for one day", _simulate)
    simulate.add_argument("--day", type=_day, required=True)
    simulate.add_argument("--fee-fixed", type=int, default=0, help="Fixed fee per charge, minor units")
    simulate.add_argument("--fee-basis-points", type=int, default=0, help="Fee per charge in 1/10000")
    simulate.add_argument(
        "--statement", type=Path, help="Also write the bank's camt.053 of these payouts here"
    )
    simulate.add_argument("--iban", default=SANDBOX_IBAN, help="The account of that statement")
    reconcile = command("reconcile", "Run a reconciliation and print its totals", _reconcile)
    reconcile.add_argument("--as-of", type=_day)
    reconcile.add_argument("--from", dest="date_from", type=_day)
    reconcile.add_argument("--to", dest="date_to", type=_day)
    reconcile.add_argument("--window", type=int, help="Days around a payout's arrival for amount matching")
    close = command("close-day", "Close one day: counts, numbers and totals per series", _close_day)
    close.add_argument("--day", type=_day, required=True)
