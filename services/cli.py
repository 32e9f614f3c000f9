"""The ``tessera`` command: one entry point, each subcommand owned by the package it serves.

A package that offers subcommands exposes ``register(subparsers)`` which adds its parsers and
sets ``func`` (a callable taking the parsed namespace and returning the exit code). Modules are
listed by name here, so adding a command is one line.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules whose register(subparsers) contributes subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "services.invoicing.validation.cli",
    "services.common.ubl_schemas",
    "services.invoicing.ubl.cli",
    "services.payments.cli",
    "services.receipts.cli",
    "services.common.commands",
    "gateway.cli",
    "services.devserver",
)


# Commands whose module is imported alone: `tessera validate` over many files must not pay
# for importing the web and database stack that the other commands need (about 1-4 s).
LIGHT_COMMANDS: dict[str, str] = {
    "validate": "services.invoicing.validation.cli",
    "schemas": "services.common.ubl_schemas",
    "seal": "services.invoicing.ubl.cli",
}


def build_parser(modules: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera", description="Tessera municipal e-invoicing and payments suite"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    light = LIGHT_COMMANDS.get(argv[0]) if argv else None
    parser = build_parser((light,) if light else COMMAND_MODULES)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
