"""``tessera validate``: check UBL invoice files against UBL 2.1 and EN 16931.

Exit status: 0 when every file is valid, 1 when any file is invalid, 2 on a usage error or
when an input cannot be read (or the UBL schemas are missing); messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from tqdm import tqdm

from services.common.ubl_schemas import SchemasError
from services.invoicing.validation import report
from services.invoicing.validation.engine import rule_catalogue, too_large, validate
from services.invoicing.validation.parser import DEFAULT_MAX_BYTES

# Below this many files a progress bar only flickers.
PROGRESS_FROM = 20

OK, INVALID, USAGE = 0, 1, 2


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {value!r}")
    return number


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tessera validate``."""
    parser = subparsers.add_parser(
        "validate",
        help="validate UBL 2.1 invoices and credit notes against EN 16931",
        description="Validate UBL 2.1 invoices and credit notes (files, or folders searched for *.xml) "
        "against the UBL 2.1 schema and every EN 16931 business rule. "
        "Exit 0: all valid; 1: some invalid; 2: usage error or unreadable input.",
    )
    parser.add_argument(
        "paths", nargs="*", type=Path, metavar="FILE_OR_DIR", help="files, or folders to search"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="json: one object per file per line"
    )
    parser.add_argument(
        "--max-bytes",
        type=_positive,
        default=DEFAULT_MAX_BYTES,
        help=f"size limit per file (default {DEFAULT_MAX_BYTES})",
    )
    parser.add_argument(
        "--rules", action="store_true", help="list every check (id, flag, terms, message) and exit"
    )
    parser.set_defaults(func=run)


def _xml_files(folder: Path) -> Iterator[Path]:
    for parent, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            if name.lower().endswith(".xml"):
                yield Path(parent) / name


def collect(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """The files to validate, in order, and an error message for each argument that yields none."""
    files: list[Path] = []
    errors: list[str] = []
    for path in paths:
        if path.is_dir():
            found = list(_xml_files(path))
            if not found:
                errors.append(f"{path}: no *.xml file in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            errors.append(f"{path}: not a regular file or folder")
        else:
            errors.append(f"{path}: no such file or folder")
    return files, errors


def _list_rules(output_format: str) -> int:
    for info in rule_catalogue():
        if output_format == "json":
            entry = {
                "rule": info.id,
                "flag": info.flag.value,
                "terms": list(info.terms),
                "message": info.message,
            }
            print(json.dumps(entry, ensure_ascii=False))
        else:
            terms = ",".join(info.terms) or "-"
            print(f"{info.id:<11} {info.flag.value:<8} {terms:<24} {info.message}")
    return OK


def run(args: argparse.Namespace) -> int:
    if args.rules:
        return _list_rules(args.format)
    if not args.paths:
        print("tessera validate: give at least one file or folder (or --rules)", file=sys.stderr)
        return USAGE
    files, errors = collect(args.paths)
    for error in errors:
        print(f"tessera validate: {error}", file=sys.stderr)
    tally = report.Tally(unreadable=len(errors))
    show_progress = len(files) >= PROGRESS_FROM and sys.stderr.isatty()
    out = sys.stdout
    with tqdm(total=len(files), unit="file", file=sys.stderr, disable=not show_progress, leave=False) as bar:
        for path in files:
            try:
                size = path.stat().st_size
                if size > args.max_bytes:
                    result = too_large(size, args.max_bytes)
                else:
                    result = validate(path.read_bytes(), max_bytes=args.max_bytes)
            except OSError as error:
                bar.write(
                    f"tessera validate: {path}: cannot be read ({error.strerror or error})", file=sys.stderr
                )
                tally.unreadable += 1
                bar.update()
                continue
            except SchemasError as error:
                print(f"tessera validate: {error}", file=sys.stderr)
                return USAGE
            tally.add(result)
            rendered = (
                report.to_json(str(path), result)
                if args.format == "json"
                else report.to_text(str(path), result)
            )
            if show_progress:
                bar.write(rendered, file=out)
            else:
                out.write(rendered + "\n")
            bar.update()
    if args.format == "text":
        out.write(tally.summary() + "\n")
    out.flush()
    if tally.unreadable:
        return USAGE
    return INVALID if tally.invalid else OK
