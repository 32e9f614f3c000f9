"""``tessera seal sign|verify``: seal an invoice for the archive, or check a sealed one.

``verify`` exit status: 0 when the seal is intact and trusted, 1 when the document was altered,
is unsigned, or its signature is invalid or untrusted, 2 on a usage error or when the file
cannot be read or is not a UBL invoice. ``sign`` exits 0 when the sealed copy was written and
2 otherwise. Messages go to stderr, results to stdout.

Passwords for keys are read from an environment variable (``--password-env``), never from the
command line, where other users of the machine could see them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cryptography import x509

from services.invoicing.ubl.seal import (
    Sealer,
    SealError,
    SealStatus,
    SealVerification,
    development_paths,
    verify_seal,
)
from services.invoicing.validation.parser import DEFAULT_MAX_BYTES, size_message

OK, NOT_INTACT, USAGE = 0, 1, 2
DEFAULT_PASSWORD_ENV = "TESSERA_SEAL_PASSWORD"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``tessera seal sign`` and ``tessera seal verify``."""
    parser = subparsers.add_parser("seal", help="seal invoices for the archive, or check a seal")
    actions = parser.add_subparsers(dest="seal_command", metavar="ACTION", required=True)
    data_dir_help = "data folder holding the development seal (default: $TESSERA_DATA_DIR or ./var)"

    verify = actions.add_parser(
        "verify",
        help="check a sealed invoice: who sealed it, when, and whether anything changed",
        description="Check the seal of a UBL invoice. Exit 0: intact; 1: altered, unsigned, invalid "
        "or untrusted; 2: usage error or unreadable file.",
    )
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument(
        "--trust",
        type=Path,
        action="append",
        default=[],
        metavar="CERT.pem",
        help="a trusted seal certificate (repeatable); default: the development seal's, if present",
    )
    verify.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    verify.add_argument("--json", action="store_true", help="print the result as one JSON object")
    verify.set_defaults(func=run_verify)

    sign = actions.add_parser(
        "sign",
        help="seal a copy of an invoice (development seal unless --key/--cert or --p12)",
        description="Write a sealed copy of a UBL invoice; the input file is never changed.",
    )
    sign.add_argument("file", type=Path, metavar="FILE")
    sign.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="sealed copy to write")
    sign.add_argument("--key", type=Path, help="PEM private key of the seal (with --cert)")
    sign.add_argument("--cert", type=Path, help="PEM certificate of the seal, then its chain (with --key)")
    sign.add_argument("--p12", type=Path, help="PKCS#12 file holding the seal's key and certificate")
    sign.add_argument(
        "--password-env",
        default=DEFAULT_PASSWORD_ENV,
        metavar="VAR",
        help=f"environment variable holding the key's password (default {DEFAULT_PASSWORD_ENV})",
    )
    sign.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    sign.set_defaults(func=run_sign)


class _UsageError(Exception):
    pass


def _data_dir(given: Path | None) -> Path:
    if given is not None:
        return given
    from services.common.settings import CommonSettings

    try:
        return CommonSettings().data_dir
    except ValueError as error:  # pydantic's ValidationError: a malformed TESSERA_* variable
        raise _UsageError(f"the settings cannot be read ({error}); give --data-dir") from None


def _error(message: str) -> int:
    print(f"tessera seal: {message}", file=sys.stderr)
    return USAGE


def _read(path: Path) -> bytes | str:
    try:
        return path.read_bytes()
    except OSError as error:
        return f"cannot read {path}: {error.strerror}"


def _read_document(path: Path) -> bytes | SealVerification | str:
    """The file's bytes, or the verdict on one over the size limit, read no further than the limit."""
    try:
        with path.open("rb") as file:
            data = file.read(DEFAULT_MAX_BYTES + 1)
            size = os.fstat(file.fileno()).st_size
    except OSError as error:
        return f"cannot read {path}: {error.strerror}"
    if len(data) > DEFAULT_MAX_BYTES:
        message = size_message(max(size, len(data)), DEFAULT_MAX_BYTES)
        return SealVerification(SealStatus.UNREADABLE, f"not a readable UBL document: {message}")
    return data


def _trusted(args: argparse.Namespace) -> list[x509.Certificate] | str:
    paths: list[Path] = list(args.trust)
    if not paths:
        _, development_certificate = development_paths(_data_dir(args.data_dir))
        paths = [development_certificate] if development_certificate.exists() else []
    certificates: list[x509.Certificate] = []
    for path in paths:
        data = _read(path)
        if isinstance(data, str):
            return data
        try:
            certificates.extend(x509.load_pem_x509_certificates(data))
        except ValueError as error:
            return f"{path} is not a PEM certificate: {error}"
    return certificates


def describe(path: Path, verdict: SealVerification) -> str:
    """The result in a few lines for people."""
    lines = [f"{path}: {verdict.status.value}: {verdict.message}"]
    if verdict.certificate_subject is not None:
        lines.append(f"  sealed by: {verdict.certificate_subject}")
        lines.append(f"  certificate SHA-256: {verdict.certificate_sha256}")
    if verdict.signed_at is not None:
        lines.append(f"  sealed at: {verdict.signed_at.isoformat()}")
    if verdict.development:
        lines.append("  DEVELOPMENT seal: it proves nothing about the document")
    return "\n".join(lines)


def run_verify(args: argparse.Namespace) -> int:
    data = _read_document(args.file)
    if isinstance(data, str):
        return _error(data)
    try:
        trusted = _trusted(args)
    except _UsageError as error:
        return _error(str(error))
    if isinstance(trusted, str):
        return _error(trusted)
    verdict = data if isinstance(data, SealVerification) else verify_seal(data, trusted_certs=trusted)
    if args.json:
        print(
            json.dumps(
                {
                    "file": str(args.file),
                    "status": verdict.status.value,
                    "message": verdict.message,
                    "certificate_subject": verdict.certificate_subject,
                    "certificate_sha256": verdict.certificate_sha256,
                    "signed_at": verdict.signed_at.isoformat() if verdict.signed_at else None,
                    "development": verdict.development,
                },
                ensure_ascii=False,
            )
        )
    else:
        print(describe(args.file, verdict))
    if verdict.status is SealStatus.UNREADABLE:
        return USAGE
    return OK if verdict.intact else NOT_INTACT


def _sealer(args: argparse.Namespace) -> Sealer:
    password_text = os.environ.get(args.password_env)
    password = password_text.encode() if password_text else None
    if args.p12 is not None:
        if args.key is not None or args.cert is not None:
            raise SealError("give either --p12 or --key with --cert, not both")
        return Sealer.from_pkcs12(args.p12, password)
    if (args.key is None) != (args.cert is None):
        raise SealError("--key and --cert go together")
    if args.key is not None:
        return Sealer.from_pem_files(args.key, args.cert, password)
    return Sealer.development(_data_dir(args.data_dir))


def run_sign(args: argparse.Namespace) -> int:
    source: Path = args.file
    output: Path = args.output
    if output.exists() and source.exists() and output.resolve() == source.resolve():
        return _error("the sealed copy must not replace the original: choose another -o")
    data = _read(source)
    if isinstance(data, str):
        return _error(data)
    try:
        sealed = _sealer(args).seal(data)
    except (SealError, _UsageError) as error:
        return _error(str(error))
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_bytes(sealed.sealed)
        partial.replace(output)
    except OSError as error:
        return _error(f"cannot write {output}: {error.strerror}")
    print(f"{output}: sealed by {sealed.certificate_subject} at {sealed.signed_at.isoformat()}")
    print(f"  original SHA-256: {sealed.original_sha256}")
    print(f"  sealed SHA-256: {sealed.sealed_sha256}")
    if sealed.development:
        print("  DEVELOPMENT seal: for trying Tessera only", file=sys.stderr)
    return OK
