"""``tessera payment-requests import FILE.csv``: bulk import of what citizens owe.

Exit codes: 0 imported, 1 the file has invalid rows (nothing imported unless ``--import-valid``),
2 the file cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from services.common.errors import TesseraError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("payment-requests", help="What citizens owe: payment requests")
    commands = parser.add_subparsers(dest="payment_requests_command", metavar="ACTION", required=True)
    importer = commands.add_parser(
        "import",
        help="Import payment requests from a CSV file",
        description="Import payment requests from CSV. Every row is checked first; a file with any "
        "invalid row imports nothing unless --import-valid is given.",
    )
    importer.add_argument("file", type=Path, help="UTF-8 CSV with a header row")
    importer.add_argument(
        "--import-valid", action="store_true", help="Import the valid rows even if others fail"
    )
    importer.add_argument("--created-by", default="cli", help="Recorded as the creator (default: cli)")
    importer.add_argument("--json", action="store_true", help="Print the report as JSON")
    importer.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from services.common.db import Database
    from services.payments import imports, service
    from services.payments.settings import PaymentsSettings

    try:
        raw = args.file.read_bytes()
    except OSError as error:
        print(f"tessera payment-requests import: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    settings = PaymentsSettings()
    database = Database(settings.resolved_database_url())
    try:
        with database.sessionmaker() as session:
            try:
                report = imports.import_csv(
                    session,
                    data=imports.decode(raw, limit=50 * 1024 * 1024),
                    created_by=args.created_by,
                    limits=service.Limits(max_amount=settings.max_amount_by_currency),
                    public_url=settings.public_url,
                    import_valid_rows=args.import_valid,
                )
            except TesseraError as error:
                session.rollback()
                if args.json:
                    print(json.dumps({"code": error.code, "detail": error.detail, **error.extra}, indent=2))
                else:
                    print(f"{args.file}: {error.detail}", file=sys.stderr)
                    for item in error.extra.get("errors", []):
                        print(f"  line {item['row']}: {item['field']}: {item['message']}", file=sys.stderr)
                return 1 if error.code == "import_has_errors" else 2
            session.commit()
    finally:
        database.dispose()
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    for item in report.errors:
        print(f"  skipped line {item.row}: {item.field}: {item.message}", file=sys.stderr)
    for created in report.created:
        print(f"{created.creditor_reference_display}\t{created.payer.name}\t{created.description}")
    print(f"Imported {report.imported} of {report.rows} rows", file=sys.stderr)
    return 0
