"""``tessera keys``: create, list and revoke the gateway's API keys from a shell, for the first
admin key and for operators without an admin key at hand."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from gateway import service
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.errors import TesseraError
from services.common.identity import Role


def _fail(message: str) -> int:
    print(f"tessera keys: {message}", file=sys.stderr)
    return 1


def _run(action: Callable[[Session], int]) -> int:
    url = make_url(GatewaySettings().effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # Connecting would create an empty file; say what to do instead.
        return _fail(
            f"no gateway database at {url.database}; create it first: alembic -n gateway upgrade head"
        )
    database = Database(url.render_as_string(hide_password=False))
    try:
        with database.sessionmaker() as session:
            code: int = action(session)
            session.commit()
            return code
    except TesseraError as error:
        return _fail(error.detail)
    except (OperationalError, ProgrammingError) as error:
        return _fail(
            f"the gateway database at {database.engine.url.render_as_string(hide_password=True)} is not "
            f"ready ({type(error.orig).__name__}); migrate it first: alembic -n gateway upgrade head"
        )
    finally:
        database.dispose()


def _create(args: argparse.Namespace) -> int:
    def action(session: Session) -> int:
        key, plaintext = service.create_key(
            session, name=args.name, role=Role(args.role), supplier_id=args.supplier
        )
        print(f"Created {key.role.value} key {key.id} ({key.name}).")
        print("The key is shown this once; store it now:")
        print(plaintext)
        return 0

    return _run(action)


def _list(args: argparse.Namespace) -> int:
    def action(session: Session) -> int:
        keys = service.list_keys(session, include_revoked=not args.active)
        print(
            f"{'ID':36}  {'ROLE':8}  {'SUPPLIER':16}  {'CREATED':20}  {'LAST USED':20}  {'REVOKED':20}  NAME"
        )
        for k in keys:
            print(
                f"{k.id!s:36}  {k.role.value:8}  {k.supplier_id or '-':16}  {_when(k.created_at):20}  "
                f"{_when(k.last_used_at):20}  {_when(k.revoked_at):20}  {k.name}"
            )
        return 0

    return _run(action)


def _revoke(args: argparse.Namespace) -> int:
    try:
        key_id = uuid.UUID(args.id)
    except ValueError:
        return _fail(f"not a key id: {args.id!r} (expected the UUID shown by 'tessera keys list')")

    def action(session: Session) -> int:
        key = service.revoke_key(session, key_id=key_id)
        print(f"Key {key.id} ({key.name}) revoked at {_when(key.revoked_at)}.")
        return 0

    return _run(action)


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment is not None else "-"


def register(subparsers: Any) -> None:
    keys = subparsers.add_parser("keys", help="Create, list and revoke gateway API keys")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)

    create = actions.add_parser("create", help="Create a key and print it once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role], help="The key's role")
    create.add_argument("--name", required=True, help="Who or what uses the key")
    create.add_argument("--supplier", help="Supplier identity (e.g. VAT id); required for --role supplier")
    create.set_defaults(func=_create)

    listing = actions.add_parser("list", help="List keys (never their secrets)")
    listing.add_argument("--active", action="store_true", help="Leave out revoked keys")
    listing.set_defaults(func=_list)

    revoke = actions.add_parser("revoke", help="Revoke a key by id")
    revoke.add_argument("id", help="The key id shown by 'tessera keys list'")
    revoke.set_defaults(func=_revoke)
