"""``tessera validate``: check UBL invoice files against UBL 2.1 and EN 16931.

Exit status: 0 when every file is valid, 1 when any file is invalid, 2 on a usage error or
when an input cannot be read (or the UBL schemas are missing); messages go to stderr.
"""

from __future__ import annotations

import argparse
import errno
import gc
import json
import multiprocessing
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Protocol, TextIO

from services.common.ubl_schemas import SchemasError
from services.invoicing.validation import report, xsd
from services.invoicing.validation.engine import rule_catalogue, too_large, validate
from services.invoicing.validation.findings import ValidationReport
from services.invoicing.validation.parser import DEFAULT_MAX_BYTES

# Below this many files a progress bar only flickers.
PROGRESS_FROM = 20
# Below this many files starting worker processes costs more than it saves.
PARALLEL_FROM = 64
MAX_AUTO_JOBS = 4

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
        "--jobs",
        type=_positive,
        default=0,
        help=f"worker processes (default: one per CPU, up to {MAX_AUTO_JOBS}, from {PARALLEL_FROM} files on)",
    )
    parser.add_argument(
        "--rules", action="store_true", help="list every check (id, flag, terms, message) and exit"
    )
    parser.set_defaults(func=run)


def shown(path: Path) -> str:
    """The path as printable text: bytes of a file name that are not UTF-8 appear as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


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
                errors.append(f"{shown(path)}: no *.xml file in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        elif path.exists():
            errors.append(f"{shown(path)}: not a regular file or folder")
        else:
            errors.append(f"{shown(path)}: no such file or folder")
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


def check_file(path: Path, max_bytes: int) -> ValidationReport | OSError:
    """The report on one file, or the error that kept it from being read (a file over the limit is not read)."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            # A pipe or device named *.xml in a folder would block or never end.
            return OSError(errno.EINVAL, "not a regular file")
        if status.st_size > max_bytes:
            return too_large(status.st_size, max_bytes)
        data = path.read_bytes()
    except OSError as error:
        return error
    return validate(data, max_bytes=max_bytes, pause_collector=True)


def _check_in_worker(job: tuple[Path, int]) -> ValidationReport | OSError:
    return check_file(*job)


def _jobs(requested: int, files: int) -> int:
    if requested:
        return requested
    # Worker processes pay off only when there is enough to share.
    return 1 if files < PARALLEL_FROM else max(1, min(os.cpu_count() or 1, MAX_AUTO_JOBS))


def results(
    files: list[Path], max_bytes: int, jobs: int
) -> Iterator[tuple[Path, ValidationReport | OSError]]:
    """Each file with its report, in the order given; checked in ``jobs`` processes."""
    if jobs <= 1:
        for path in files:
            yield path, check_file(path, max_bytes)
        return
    # Compile the schemas before forking so that every worker starts with them.
    for document_type in ("Invoice", "CreditNote"):
        xsd.load(document_type)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(jobs) as pool:
        chunk = max(1, min(32, len(files) // (jobs * 8)))
        outcomes = pool.imap(_check_in_worker, [(path, max_bytes) for path in files], chunksize=chunk)
        yield from zip(files, outcomes, strict=True)


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
    # Everything alive now (modules, rule tables, code lists) outlives the run: keep the
    # garbage collector from walking it again on every full collection.
    gc.freeze()
    try:
        code = _validate_files(files, args, tally)
    finally:
        gc.unfreeze()
    if code is not None:
        return code
    if tally.unreadable:
        return USAGE
    return INVALID if tally.invalid else OK


class Progress(Protocol):
    """What the run needs of a progress bar: count a file, print a line without breaking the bar."""

    def update(self, n: float | None = 1) -> bool | None: ...

    def write(self, s: str, file: TextIO | None = None) -> None: ...


class _NoBar:
    """No progress bar: lines are printed as they are."""

    def update(self, n: float | None = 1) -> bool | None:
        return None

    def write(self, s: str, file: TextIO | None = None) -> None:
        (file or sys.stdout).write(s + "\n")


def progress(total: int, *, visible: bool) -> AbstractContextManager[Progress]:
    """A progress bar on stderr when ``visible``, else one that only prints."""
    if not visible:
        return nullcontext(_NoBar())
    # Imported only to draw a bar: loading tqdm takes about a fifth of the command's start-up.
    from tqdm import tqdm

    bar: AbstractContextManager[Progress] = tqdm(total=total, unit="file", file=sys.stderr, leave=False)
    return bar


def _validate_files(files: list[Path], args: argparse.Namespace, tally: report.Tally) -> int | None:
    """Validate and print each file; an exit code when the run must stop early, else None."""
    show_progress = len(files) >= PROGRESS_FROM and sys.stderr.isatty()
    out = sys.stdout
    render = report.to_json if args.format == "json" else report.to_text
    with progress(len(files), visible=show_progress) as bar:
        try:
            for path, outcome in results(files, args.max_bytes, _jobs(args.jobs, len(files))):
                bar.update()
                if isinstance(outcome, OSError):
                    reason = outcome.strerror or str(outcome)
                    bar.write(f"tessera validate: {shown(path)}: cannot be read ({reason})", file=sys.stderr)
                    tally.unreadable += 1
                    continue
                tally.add(outcome)
                bar.write(render(shown(path), outcome), file=out)
        except SchemasError as error:
            print(f"tessera validate: {error}", file=sys.stderr)
            return USAGE
    if args.format == "text":
        out.write(tally.summary() + "\n")
    out.flush()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m services.invoicing.validation.cli``: the validate command alone, without the other
    commands' imports (web framework, database) that ``tessera`` loads to build its full help."""
    parser = argparse.ArgumentParser(prog="tessera")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["validate", *(sys.argv[1:] if argv is None else argv)])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
