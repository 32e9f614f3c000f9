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
    "services.common.commands",
    "gateway.cli",
    "services.devserver",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tessera", description="Tessera municipal e-invoicing and payments suite"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
