"""The receipt record: frozen dataclasses whose canonical JSON (RFC 8785) *is* the receipt.

PDF, HTML and QR code are renderings of these bytes; the hash chain and the signature cover
them. A record is built once, sealed by :mod:`services.receipts.chain` (which fills in the
integrity fields), stored as its canonical bytes and never edited: a refund is a new credit
receipt, numbered in the series of the year it is issued in, that names the original by id, series
and number (so a January refund of a December receipt opens no gap and breaks no rule).

Schema versions: 2 names the credited receipt's series; 1 (records issued before) did not, and
its credit receipts always credit a receipt of their own series. Both are read and verified;
only version 2 is written.

:func:`parse_receipt` is the only way back from bytes, and it is strict: the input must be
UTF-8 JSON with no duplicate member, exactly the members of the schema, valid values, *and*
byte-for-byte the canonical form of the record it describes. Anything else raises
:class:`ReceiptDocumentError` naming the member at fault.

- JSON Canonicalization Scheme: https://www.rfc-editor.org/rfc/rfc8785
- Currency codes and their minor units: ISO 4217 (read through Babel's CLDR data)
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, NoReturn, TypeVar

import rfc8785
from babel.numbers import get_currency_precision, list_currencies

SCHEMA_VERSION = 2
# Versions this Tessera reads and verifies; it writes only SCHEMA_VERSION.
READABLE_SCHEMA_VERSIONS = (1, 2)
# Canonical receipts are a few kilobytes; the bound keeps a hostile upload cheap to refuse.
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_LINE_ITEMS = 200
MAX_TEXT = 500
# I-JSON (RFC 7493) integers: RFC 8785 serialises numbers as IEEE 754 doubles.
MAX_MINOR_UNITS = 2**53 - 1
SUPPORTED_LANGUAGES = ("en", "it", "et", "hu", "sv")

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_CURRENCY = re.compile(r"[A-Z]{3}")
_SERIES_CODE = re.compile(r"[A-Z0-9]{2,16}")
_T = TypeVar("_T")


class ReceiptDocumentError(ValueError):
    """A receipt that cannot exist: ``path`` names the member (``payment.paid_at``), ``message`` why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class ReceiptKind(StrEnum):
    RECEIPT = "receipt"
    CREDIT = "credit_receipt"


class SignatureAlgorithm(StrEnum):
    """How the record hash is signed; the names are Tessera's, stored in every record."""

    ED25519 = "Ed25519"
    ECDSA_P256_SHA256 = "ECDSA-P256-SHA256"


def _fail(path: str, message: str) -> NoReturn:
    raise ReceiptDocumentError(path, message)


def _check_text(path: str, value: object, *, optional: bool = False, limit: int = MAX_TEXT) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        _fail(path, f"must be a string, not {type(value).__name__}")
    if not value.strip():
        _fail(path, "must not be empty")
    if value != value.strip():
        _fail(path, "must not start or end with white space")
    if len(value) > limit:
        _fail(path, f"is {len(value)} characters long, over the limit of {limit}")
    # Control and unassigned characters have no place on a receipt and hide in renderings.
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cf", "Cs", "Co", "Cn"}:
            _fail(path, f"contains the character U+{ord(char):04X}, which is not allowed")


def _check_int(path: str, value: object, *, minimum: int, maximum: int = MAX_MINOR_UNITS) -> None:
    # bool is an int in Python, never in a receipt.
    if not isinstance(value, int) or isinstance(value, bool):
        _fail(path, f"must be an integer, not {type(value).__name__}")
    if not minimum <= value <= maximum:
        _fail(path, f"must be between {minimum} and {maximum}, not {value}")


def _check_time(path: str, value: object) -> None:
    if not isinstance(value, datetime):
        _fail(path, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        _fail(path, "must carry a time zone")
    if value.utcoffset() != UTC.utcoffset(None):
        _fail(path, "must be in UTC")
    if value.microsecond:
        _fail(path, "must be a whole second (receipts keep times to the second)")


@cache
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """Whether ``code`` is an ISO 4217 currency code."""
    return bool(_CURRENCY.fullmatch(code)) and code in _known_currencies()


def currency_digits(currency: str) -> int:
    """Minor-unit digits of a currency as CLDR records them (2 for EUR, HUF and SEK, 0 for JPY)."""
    return int(get_currency_precision(currency))


def _check_currency(path: str, value: object) -> None:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        _fail(path, f"must be an ISO 4217 code of three capital letters, not {value!r}")
    if value not in _known_currencies():
        _fail(path, f"{value} is not an ISO 4217 currency")


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_DATETIME_FORMAT)


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units (cents) of an ISO 4217 currency."""

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        _check_int("amount_minor", self.amount_minor, minimum=0)
        _check_currency("currency", self.currency)


@dataclass(frozen=True, slots=True)
class Series:
    """A numbering series: one per municipality and year, numbered 1, 2, 3... without gaps."""

    municipality: str
    year: int

    def __post_init__(self) -> None:
        if not isinstance(self.municipality, str) or not _SERIES_CODE.fullmatch(self.municipality):
            _fail("municipality", "must be 2 to 16 capital letters or digits")
        _check_int("year", self.year, minimum=2000, maximum=9999)

    @property
    def key(self) -> str:
        return f"{self.municipality}-{self.year}"


@dataclass(frozen=True, slots=True)
class Issuer:
    name: str
    tax_id: str
    office: str

    def __post_init__(self) -> None:
        _check_text("name", self.name)
        _check_text("tax_id", self.tax_id, limit=64)
        _check_text("office", self.office)


@dataclass(frozen=True, slots=True)
class Payer:
    """Only what the receipt needs: a name to address (optional) and the language to render in."""

    language: str
    name: str | None = None

    def __post_init__(self) -> None:
        if self.language not in SUPPORTED_LANGUAGES:
            _fail("language", f"must be one of {', '.join(SUPPORTED_LANGUAGES)}, not {self.language!r}")
        _check_text("name", self.name, optional=True, limit=200)


@dataclass(frozen=True, slots=True)
class LineItem:
    description: str
    quantity: int
    unit_amount_minor: int
    amount_minor: int

    def __post_init__(self) -> None:
        _check_text("description", self.description)
        _check_int("quantity", self.quantity, minimum=1, maximum=1_000_000)
        _check_int("unit_amount_minor", self.unit_amount_minor, minimum=0)
        _check_int("amount_minor", self.amount_minor, minimum=0)
        if self.quantity * self.unit_amount_minor != self.amount_minor:
            _fail(
                "amount_minor",
                f"{self.amount_minor} is not quantity {self.quantity} × unit amount {self.unit_amount_minor}",
            )


@dataclass(frozen=True, slots=True)
class Purpose:
    """What was paid for."""

    description: str
    category: str
    creditor_reference: str | None = None
    lines: tuple[LineItem, ...] = ()

    def __post_init__(self) -> None:
        _check_text("description", self.description)
        _check_text("category", self.category, limit=100)
        _check_text("creditor_reference", self.creditor_reference, optional=True, limit=35)
        if not isinstance(self.lines, tuple):
            _fail("lines", "must be a tuple of line items")
        if len(self.lines) > MAX_LINE_ITEMS:
            _fail("lines", f"has {len(self.lines)} items, over the limit of {MAX_LINE_ITEMS}")
        for index, line in enumerate(self.lines):
            if not isinstance(line, LineItem):
                _fail(f"lines[{index}]", "must be a LineItem")


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """How the payer paid; for cards at most the brand and the last four digits."""

    kind: str
    card_brand: str | None = None
    card_last4: str | None = None

    def __post_init__(self) -> None:
        _check_text("kind", self.kind, limit=40)
        _check_text("card_brand", self.card_brand, optional=True, limit=40)
        if self.card_last4 is not None and (
            not isinstance(self.card_last4, str) or not re.fullmatch(r"[0-9]{4}", self.card_last4)
        ):
            _fail("card_last4", "must be exactly four digits")


@dataclass(frozen=True, slots=True)
class Payment:
    method: PaymentMethod
    provider: str
    transaction_id: str
    paid_at: datetime

    def __post_init__(self) -> None:
        _check_text("provider", self.provider, limit=40)
        _check_text("transaction_id", self.transaction_id, limit=255)
        _check_time("paid_at", self.paid_at)


@dataclass(frozen=True, slots=True)
class CreditedReceipt:
    """The receipt a credit receipt refunds (in whole or in part): its id, number and series.

    ``series`` None means the credit receipt's own series: how schema version 1 records read, and a
    shorthand when building a version 2 record (the receipt fills it in)."""

    receipt_id: str
    number: int
    series: Series | None = None

    def __post_init__(self) -> None:
        _check_uuid("receipt_id", self.receipt_id)
        _check_int("number", self.number, minimum=1)
        if self.series is not None and not isinstance(self.series, Series):
            _fail("series", "must be a Series")


@dataclass(frozen=True, slots=True)
class Integrity:
    """Set when the record is sealed into its series; the signature itself is kept beside the record,
    since it signs the hash of these very bytes."""

    previous_hash: str
    key_id: str
    signature_algorithm: SignatureAlgorithm

    def __post_init__(self) -> None:
        if not isinstance(self.previous_hash, str) or not _HEX64.fullmatch(self.previous_hash):
            _fail("previous_hash", "must be 64 lower-case hexadecimal digits (SHA-256)")
        _check_text("key_id", self.key_id, limit=64)
        if not isinstance(self.signature_algorithm, SignatureAlgorithm):
            _fail("signature_algorithm", f"must be one of {', '.join(SignatureAlgorithm)}")


def _check_uuid(path: str, value: object) -> None:
    if not isinstance(value, str):
        _fail(path, "must be a UUID string")
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        _fail(path, f"{value!r} is not a UUID")
    if str(parsed) != value:
        _fail(path, "must be a UUID in lower-case hyphenated form")


@dataclass(frozen=True, slots=True)
class Receipt:
    """One receipt or credit receipt. ``integrity`` is None until :func:`chain.seal` fills it in;
    only a sealed record has canonical bytes."""

    receipt_id: str
    kind: ReceiptKind
    series: Series
    number: int
    issued_at: datetime
    issuer: Issuer
    payer: Payer
    purpose: Purpose
    amount: Money
    vat_note: str
    payment: Payment
    credits: CreditedReceipt | None = None
    integrity: Integrity | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    def __post_init__(self) -> None:
        _check_uuid("receipt_id", self.receipt_id)
        if not isinstance(self.kind, ReceiptKind):
            _fail("kind", f"must be one of {', '.join(ReceiptKind)}")
        _check_int("number", self.number, minimum=1, maximum=10**9)
        _check_time("issued_at", self.issued_at)
        _check_text("vat_note", self.vat_note)
        if self.schema_version not in READABLE_SCHEMA_VERSIONS:
            versions = ", ".join(map(str, READABLE_SCHEMA_VERSIONS))
            _fail("schema_version", f"must be one of {versions}, not {self.schema_version!r}")
        if self.amount.amount_minor == 0:
            _fail("amount.amount_minor", "a receipt is for a positive amount")
        if self.purpose.lines:
            total = sum(line.amount_minor for line in self.purpose.lines)
            if total != self.amount.amount_minor:
                _fail("purpose.lines", f"add up to {total}, not the amount {self.amount.amount_minor}")
        # The series year is the municipality's local year, which near New Year differs from the
        # UTC year: any offset from UTC-12 to UTC+14 is accepted.
        local_years = {(self.issued_at + timedelta(hours=hours)).year for hours in (-12, 14)}
        if self.series.year not in local_years:
            _fail("series.year", f"is {self.series.year} but the receipt is issued in {self.issued_at.year}")
        if self.kind is ReceiptKind.CREDIT:
            if self.credits is None:
                _fail("credits", "a credit receipt must name the receipt it credits")
            self._check_credited_series(self.credits)
            # That the credited receipt exists and comes before it is a property of the chains:
            # chain.seal refuses anything else and chain.verify_chain reports it.
        elif self.credits is not None:
            _fail("credits", "only a credit receipt names a credited receipt")

    def _check_credited_series(self, credits: CreditedReceipt) -> None:
        if self.schema_version == 1:
            if credits.series is not None:
                _fail(
                    "credits.series", "schema version 1 has no credited series; credits stay in their series"
                )
            return
        if credits.series is None:
            # Frozen, so the shorthand is resolved here, once: the record always states the series.
            object.__setattr__(
                self, "credits", CreditedReceipt(credits.receipt_id, credits.number, self.series)
            )
            return
        if credits.series.municipality != self.series.municipality:
            _fail(
                "credits.series",
                f"{credits.series.key} is another municipality's series; a credit stays with its issuer",
            )
        if credits.series.year > self.series.year:
            _fail("credits.series", f"{credits.series.key} is a later series than {self.series.key}")

    @property
    def credited_series(self) -> Series | None:
        """The series of the receipt this one credits (its own series for a version 1 record)."""
        if self.credits is None:
            return None
        return self.credits.series or self.series

    @property
    def credited_display_number(self) -> str | None:
        """The printed number of the credited receipt: ``DEMO-2025-000311``."""
        series = self.credited_series
        if self.credits is None or series is None:
            return None
        return f"{series.key}-{self.credits.number:06d}"

    @property
    def display_number(self) -> str:
        """The number printed on the receipt: ``DEMO-2026-000042``."""
        return f"{self.series.key}-{self.number:06d}"

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values; keys follow the dataclass fields."""
        credits = self.credits
        integrity = self.integrity
        return {
            "schema_version": self.schema_version,
            "receipt_id": self.receipt_id,
            "kind": self.kind.value,
            "series": {"municipality": self.series.municipality, "year": self.series.year},
            "number": self.number,
            "issued_at": format_time(self.issued_at),
            "issuer": {"name": self.issuer.name, "tax_id": self.issuer.tax_id, "office": self.issuer.office},
            "payer": {"language": self.payer.language, "name": self.payer.name},
            "purpose": {
                "description": self.purpose.description,
                "category": self.purpose.category,
                "creditor_reference": self.purpose.creditor_reference,
                "lines": [
                    {
                        "description": line.description,
                        "quantity": line.quantity,
                        "unit_amount_minor": line.unit_amount_minor,
                        "amount_minor": line.amount_minor,
                    }
                    for line in self.purpose.lines
                ],
            },
            "amount": {"amount_minor": self.amount.amount_minor, "currency": self.amount.currency},
            "vat_note": self.vat_note,
            "payment": {
                "method": {
                    "kind": self.payment.method.kind,
                    "card_brand": self.payment.method.card_brand,
                    "card_last4": self.payment.method.card_last4,
                },
                "provider": self.payment.provider,
                "transaction_id": self.payment.transaction_id,
                "paid_at": format_time(self.payment.paid_at),
            },
            "credits": None if credits is None else self._credits_json(credits),
            "integrity": None
            if integrity is None
            else {
                "previous_hash": integrity.previous_hash,
                "key_id": integrity.key_id,
                "signature_algorithm": integrity.signature_algorithm.value,
            },
        }

    def _credits_json(self, credits: CreditedReceipt) -> dict[str, Any]:
        value: dict[str, Any] = {"receipt_id": credits.receipt_id, "number": credits.number}
        if credits.series is not None:  # always in version 2, never in version 1
            value["series"] = {"municipality": credits.series.municipality, "year": credits.series.year}
        return value

    def canonical_bytes(self) -> bytes:
        """The record in RFC 8785 canonical form: the bytes that are hashed, signed and stored."""
        if self.integrity is None:
            _fail("integrity", "an unsealed receipt has no canonical form; seal it into its series first")
        return rfc8785.dumps(self.to_json())


class _Reader:
    """Reads one JSON object, tracking the path for errors and refusing members it was not asked for."""

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            _fail(path, f"must be an object, not {_json_type(value)}")
        self.values: dict[str, object] = value
        self.path = path
        self.read: set[str] = set()

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str) -> object:
        if key not in self.values:
            _fail(self.at(key), "is missing")
        self.read.add(key)
        return self.values[key]

    def text(self, key: str) -> str:
        value = self.get(key)
        if not isinstance(value, str):
            _fail(self.at(key), f"must be a string, not {_json_type(value)}")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.get(key)
        if value is not None and not isinstance(value, str):
            _fail(self.at(key), f"must be a string or null, not {_json_type(value)}")
        return value

    def integer(self, key: str) -> int:
        value = self.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            _fail(self.at(key), f"must be an integer, not {_json_type(value)}")
        return value

    def time(self, key: str) -> datetime:
        value = self.text(key)
        if not _DATETIME.fullmatch(value):
            _fail(self.at(key), f"must be a UTC time like 2026-01-31T09:30:00Z, not {value!r}")
        try:
            return datetime.strptime(value, _DATETIME_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            _fail(self.at(key), f"{value!r} is not a valid time")

    def child(self, key: str) -> _Reader:
        return _Reader(self.get(key), self.at(key))

    def optional_child(self, key: str) -> _Reader | None:
        value = self.get(key)
        return None if value is None else _Reader(value, self.at(key))

    def array(self, key: str) -> list[object]:
        value = self.get(key)
        if not isinstance(value, list):
            _fail(self.at(key), f"must be an array, not {_json_type(value)}")
        return value

    def build(self, make: Callable[[], _T]) -> _T:
        """Construct from what was read, after refusing unknown members; value errors get the path."""
        unknown = sorted(set(self.values) - self.read)
        if unknown:
            _fail(self.at(unknown[0]), "is not a member of a Tessera receipt")
        try:
            return make()
        except ReceiptDocumentError as error:
            raise ReceiptDocumentError(self.at(error.path), error.message) from None


def _json_type(value: object) -> str:
    names: Mapping[type, str] = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _no_duplicates(pairs: Sequence[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            _fail(key, "appears twice in one object")
        result[key] = value
    return result


def _refuse_float(text: str) -> NoReturn:
    _fail("", f"the number {text} is not an integer; receipts hold money in integer minor units")


def _refuse_constant(text: str) -> NoReturn:
    _fail("", f"{text} is not JSON")


def _line(value: object, path: str) -> LineItem:
    r = _Reader(value, path)
    description, quantity = r.text("description"), r.integer("quantity")
    unit, amount = r.integer("unit_amount_minor"), r.integer("amount_minor")
    return r.build(lambda: LineItem(description, quantity, unit, amount))


def receipt_from_json(value: object) -> Receipt:
    """Build a record from decoded JSON, strictly (every member present, none unknown)."""
    top = _Reader(value, "")
    schema_version = top.integer("schema_version")
    if schema_version not in READABLE_SCHEMA_VERSIONS:
        versions = " and ".join(map(str, READABLE_SCHEMA_VERSIONS))
        _fail("schema_version", f"this Tessera reads schema versions {versions}, not {schema_version}")
    kind_text = top.text("kind")
    if kind_text not in set(ReceiptKind):
        _fail("kind", f"must be one of {', '.join(ReceiptKind)}, not {kind_text!r}")

    s = top.child("series")
    municipality, year = s.text("municipality"), s.integer("year")
    series = s.build(lambda: Series(municipality, year))

    i = top.child("issuer")
    name, tax_id, office = i.text("name"), i.text("tax_id"), i.text("office")
    issuer = i.build(lambda: Issuer(name, tax_id, office))

    p = top.child("payer")
    language, payer_name = p.text("language"), p.optional_text("name")
    payer = p.build(lambda: Payer(language, payer_name))

    u = top.child("purpose")
    description, category = u.text("description"), u.text("category")
    reference = u.optional_text("creditor_reference")
    lines = tuple(_line(item, f"purpose.lines[{n}]") for n, item in enumerate(u.array("lines")))
    purpose = u.build(lambda: Purpose(description, category, reference, lines))

    a = top.child("amount")
    amount_minor, currency = a.integer("amount_minor"), a.text("currency")
    amount = a.build(lambda: Money(amount_minor, currency))

    pay = top.child("payment")
    m = pay.child("method")
    method_kind, brand, last4 = m.text("kind"), m.optional_text("card_brand"), m.optional_text("card_last4")
    method = m.build(lambda: PaymentMethod(method_kind, brand, last4))
    provider, transaction_id, paid_at = pay.text("provider"), pay.text("transaction_id"), pay.time("paid_at")
    payment = pay.build(lambda: Payment(method, provider, transaction_id, paid_at))

    credits: CreditedReceipt | None = None
    c = top.optional_child("credits")
    if c is not None:
        credited_id, credited_number = c.text("receipt_id"), c.integer("number")
        credited_series: Series | None = None
        if schema_version >= 2:
            cs = c.child("series")
            credited_municipality, credited_year = cs.text("municipality"), cs.integer("year")
            credited_series = cs.build(lambda: Series(credited_municipality, credited_year))
        credits = c.build(lambda: CreditedReceipt(credited_id, credited_number, credited_series))

    g = top.child("integrity")
    previous_hash, key_id = g.text("previous_hash"), g.text("key_id")
    algorithm_text = g.text("signature_algorithm")
    if algorithm_text not in set(SignatureAlgorithm):
        _fail(g.at("signature_algorithm"), f"must be one of {', '.join(SignatureAlgorithm)}")
    integrity = g.build(lambda: Integrity(previous_hash, key_id, SignatureAlgorithm(algorithm_text)))

    receipt_id, number = top.text("receipt_id"), top.integer("number")
    issued_at, vat_note = top.time("issued_at"), top.text("vat_note")
    return top.build(
        lambda: Receipt(
            receipt_id=receipt_id,
            kind=ReceiptKind(kind_text),
            series=series,
            number=number,
            issued_at=issued_at,
            issuer=issuer,
            payer=payer,
            purpose=purpose,
            amount=amount,
            vat_note=vat_note,
            payment=payment,
            credits=credits,
            integrity=integrity,
            schema_version=schema_version,
        )
    )


def parse_receipt(data: bytes) -> Receipt:
    """The sealed record whose canonical bytes are exactly ``data``; :class:`ReceiptDocumentError`
    for anything else (not UTF-8, not JSON, an invalid record, or a valid one not in canonical form)."""
    if not isinstance(data, bytes):
        raise TypeError(f"parse_receipt() takes bytes, not {type(data).__name__}")
    if len(data) > MAX_DOCUMENT_BYTES:
        _fail("", f"the document is {len(data):,} bytes, over the limit of {MAX_DOCUMENT_BYTES:,}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        _fail("", f"not UTF-8: byte 0x{data[error.start]:02X} at offset {error.start}")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as error:
        _fail("", f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}")
    except RecursionError:
        _fail("", "not a receipt: nested too deeply")
    except ReceiptDocumentError:
        raise
    except ValueError as error:  # an integer of thousands of digits, refused by int() itself
        _fail("", f"not a receipt: {error}")
    receipt = receipt_from_json(value)
    if receipt.canonical_bytes() != data:
        _fail("", "a valid receipt, but not in RFC 8785 canonical form (the stored bytes must be exactly it)")
    return receipt
