"""``tessera migrate`` and ``tessera relay``: the database and outbox commands of every service.

tessera migrate                      # every database, where each service's settings point
tessera migrate payments --url URL   # one database at an explicit URL
tessera relay payments               # deliver payments' outbox until SIGINT/SIGTERM
tessera relay payments --once        # deliver what is due now, then exit
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from pathlib import Path
from types import FrameType

from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError

from services.common.db import Database
from services.common.logging import configure_logging
from services.common.migrations import ALEMBIC_INI, SECTIONS, UnknownSection, alembic_config, upgrade
from services.common.outbox import OutboxTables
from services.common.relay import build_relay, relay_http_client
from services.common.settings import ServiceSettings

SERVICES = ("invoicing", "payments", "receipts")


def _present_sections() -> list[str]:
    """The sections whose migrations exist in this checkout (the gateway's may not yet)."""
    present = []
    for section in SECTIONS:
        location = alembic_config(section).get_main_option("script_location") or ""
        if (Path(location) / "env.py").is_file():
            present.append(section)
    return present


def _run_migrate(args: argparse.Namespace) -> int:
    sections: list[str] = args.databases or _present_sections()
    if args.url and len(sections) != 1:
        print(
            "tessera migrate: --url needs exactly one DATABASE (e.g. tessera migrate payments --url ...)",
            file=sys.stderr,
        )
        return 2
    for section in sections:
        try:
            upgrade(section, args.url, revision=args.revision)
        except UnknownSection as error:
            print(f"tessera migrate: {error}", file=sys.stderr)
            return 2
        except (CommandError, SQLAlchemyError, OSError) as error:
            print(f"tessera migrate: {section}: {error}", file=sys.stderr)
            return 1
        print(f"{section}: at {args.revision}")
    return 0


def _run_relay(args: argparse.Namespace) -> int:
    app_module = importlib.import_module(f"services.{args.service}.app")
    models = importlib.import_module(f"services.{args.service}.models")
    settings: ServiceSettings = app_module.load_settings()
    tables: OutboxTables = models.OUTBOX_TABLES
    configure_logging(service=f"{args.service}-relay", level=settings.log_level, fmt=settings.log_format)
    database = Database(settings.resolved_database_url())
    client = relay_http_client(settings)
    relay = build_relay(
        service=args.service, settings=settings, tables=tables, database=database, client=client
    )
    try:
        if args.once:
            result = relay.run_once()
            print(f"{args.service}: {result.delivered} delivered, {result.failed} failed")
            return 0

        def stop(signum: int, frame: FrameType | None) -> None:
            relay.stop(timeout=0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(f"{relay.name} delivering; SIGINT or SIGTERM stops it", file=sys.stderr, flush=True)
        relay.run_forever()
        return 0
    except SQLAlchemyError as error:
        print(f"tessera relay: {args.service}: database error: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
        database.dispose()


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = subparsers.add_parser(
        "migrate",
        help="Bring databases up to date (Alembic)",
        description=f"Apply the migrations of each DATABASE (sections of {ALEMBIC_INI.name}); all when none is named.",
    )
    migrate.add_argument("databases", nargs="*", metavar="DATABASE", help=f"one of: {', '.join(SECTIONS)}")
    migrate.add_argument(
        "--url", help="Migrate the database at this SQLAlchemy URL instead of the configured one"
    )
    migrate.add_argument("--revision", default="head", help="Target revision (default: head)")
    migrate.set_defaults(func=_run_migrate)

    relay = subparsers.add_parser(
        "relay",
        help="Deliver a service's outbox events as signed webhooks",
        description="Run an outbox relay for SERVICE until SIGINT/SIGTERM; any number may run at once.",
    )
    relay.add_argument("service", choices=SERVICES, metavar="SERVICE", help=f"one of: {', '.join(SERVICES)}")
    relay.add_argument("--once", action="store_true", help="Deliver what is due now, then exit")
    relay.set_defaults(func=_run_relay)
