"""Bulk import of payment requests from CSV: every row checked, a report per row, and nothing
imported from a file with errors unless the caller asks for the valid rows alone.

Used by ``POST /v1/payment-requests/import`` and ``tessera payment-requests import FILE.csv``.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from services.common.errors import BadRequest, PayloadTooLarge, TesseraError
from services.payments import service
from services.payments.currencies import parse_major
from services.payments.errors import ImportHasErrors
from services.payments.models import Currency
from services.payments.schemas import ImportReport, ImportRowError, PaymentRequestCreate

REQUIRED = ("payer_name", "description", "category", "amount", "currency", "due_date")
OPTIONAL = ("payer_tax_code", "payer_email", "instalments", "metadata")
MAX_ROWS = 10_000
FORMAT_HELP = (
    "UTF-8 CSV with a header row. Required columns: payer_name, description, category, amount "
    "(in the currency's major units, e.g. 45.50), currency (EUR, GBP, SEK, HUF), due_date "
    "(YYYY-MM-DD). Optional: payer_tax_code, payer_email, instalments (`amount@YYYY-MM-DD` "
    "separated by `;`), metadata (`key=value` separated by `;`, at most 15 keys)."
)


def decode(body: bytes, *, limit: int) -> str:
    if len(body) > limit:
        raise PayloadTooLarge(f"CSV files are limited to {limit} bytes")
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadRequest(f"The file is not UTF-8 text (byte {error.start} is invalid)") from error


def _split_pairs(text: str, sep: str, field: str) -> list[tuple[str, str]]:
    pairs = []
    for part in text.split(";"):
        if not part.strip():
            continue
        left, found, right = part.partition(sep)
        if not found:
            raise ValueError(f"{field} entry {part.strip()!r} lacks {sep!r}")
        pairs.append((left.strip(), right.strip()))
    return pairs


# Text a spreadsheet would run as a formula when an officer opens an export of these requests
# (OWASP "CSV injection"): a cell starting with = + - @, or with a tab or carriage return before one.
TEXT_COLUMNS = ("payer_name", "payer_tax_code", "payer_email", "description", "category", "metadata")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _check_cells(row: dict[str, str]) -> None:
    """Raise _RowError for a cell holding a control character or, in a text column, a formula."""
    for name, value in row.items():
        control = _CONTROL.search(value)
        if control is not None:
            raise _RowError(name, f"holds the control character U+{ord(control.group()):04X}")
        if name in TEXT_COLUMNS and value.startswith(_FORMULA_START):
            raise _RowError(
                name, f"starts with {value[:1]!r}, which a spreadsheet would run as a formula; remove it"
            )


def _row_document(row: dict[str, str]) -> dict[str, Any]:
    """The API document for one row; ValueError(field, message) style errors via _RowError."""
    _check_cells(row)
    try:
        currency = Currency(row["currency"].strip().upper())
    except ValueError as error:
        raise _RowError("currency", f"{row['currency']!r} is not one of EUR, GBP, SEK, HUF") from error
    try:
        amount = parse_major(row["amount"], currency)
    except ValueError as error:
        raise _RowError("amount", str(error)) from error
    document: dict[str, Any] = {
        "payer": {"name": row["payer_name"].strip()},
        "description": row["description"].strip(),
        "category": row["category"].strip(),
        "amount": amount,
        "currency": currency.value,
        "due_date": row["due_date"].strip(),
    }
    if (row.get("payer_tax_code") or "").strip():
        document["payer"]["tax_code"] = row["payer_tax_code"].strip()
    if (row.get("payer_email") or "").strip():
        document["payer"]["email"] = row["payer_email"].strip()
    if (row.get("instalments") or "").strip():
        try:
            parts = _split_pairs(row["instalments"], "@", "instalments")
            document["instalments"] = [
                {"amount": parse_major(value, currency), "due_date": day} for value, day in parts
            ]
        except ValueError as error:
            raise _RowError("instalments", str(error)) from error
    if (row.get("metadata") or "").strip():
        try:
            document["metadata"] = dict(_split_pairs(row["metadata"], "=", "metadata"))
        except ValueError as error:
            raise _RowError("metadata", str(error)) from error
    return document


class _RowError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _field_of(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "row"


def check_rows(
    text: str, *, limits: service.Limits
) -> tuple[int, list[tuple[int, PaymentRequestCreate]], list[ImportRowError]]:
    """(data rows, valid rows with their line numbers, errors)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in (reader.fieldnames or [])]
    except csv.Error as error:
        raise BadRequest(f"The CSV header cannot be read: {error}") from error
    missing = [name for name in REQUIRED if name not in header]
    unknown = [name for name in header if name not in REQUIRED + OPTIONAL]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing columns: {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown columns: {', '.join(unknown)}")
        raise BadRequest(f"The CSV header is wrong ({'; '.join(problems)}). {FORMAT_HELP}")
    reader.fieldnames = header
    valid: list[tuple[int, PaymentRequestCreate]] = []
    errors: list[ImportRowError] = []
    rows = 0
    try:
        for row in reader:
            rows += 1
            if rows > MAX_ROWS:
                raise BadRequest(f"A file holds at most {MAX_ROWS} rows")
            line = reader.line_num
            if None in row or any(value is None for value in row.values()):
                errors.append(ImportRowError(row=line, field="row", message="wrong number of columns"))
                continue
            try:
                document = _row_document(row)
                data = PaymentRequestCreate.model_validate(document)
                service.check_request_amounts(data, limits)
            except _RowError as error:
                errors.append(ImportRowError(row=line, field=error.field, message=error.message))
            except ValidationError as error:
                errors.extend(
                    ImportRowError(row=line, field=_field_of(item["loc"]), message=item["msg"])
                    for item in error.errors()
                )
            except TesseraError as error:
                errors.append(
                    ImportRowError(
                        row=line, field=str(error.extra.get("field", "amount")), message=error.detail
                    )
                )
            else:
                valid.append((line, data))
    except csv.Error as error:
        raise BadRequest(f"The CSV cannot be read at line {reader.line_num}: {error}") from error
    return rows, valid, errors


def import_csv(
    session: Session,
    *,
    data: str,
    created_by: str,
    limits: service.Limits,
    public_url: str,
    import_valid_rows: bool = False,
) -> ImportReport:
    rows, valid, errors = check_rows(data, limits=limits)
    if errors and not import_valid_rows:
        raise ImportHasErrors(
            f"{len(errors)} problem(s) in {rows} row(s): nothing was imported; fix the file or ask to "
            "import the valid rows",
            rows=rows,
            valid=len(valid),
            errors=[e.model_dump() for e in errors],
        )
    created = [
        service.create_payment_request(session, data=document, created_by=created_by, limits=limits)
        for _, document in valid
    ]
    return ImportReport(
        rows=rows,
        valid=len(valid),
        imported=len(created),
        errors=errors,
        created=[service.request_view(session, r, public_url=public_url) for r in created],
    )
