from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.receipts.document import (
    CreditedReceipt,
    Integrity,
    Issuer,
    LineItem,
    Money,
    Payer,
    Payment,
    PaymentMethod,
    Purpose,
    Receipt,
    ReceiptDocumentError,
    ReceiptKind,
    Series,
    SignatureAlgorithm,
    parse_receipt,
)

PAID = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)
SEALED = Integrity(
    previous_hash="0" * 64, key_id="0123456789abcdef", signature_algorithm=SignatureAlgorithm.ED25519
)


def make_receipt(
    number: int = 1,
    *,
    amount_minor: int = 4550,
    currency: str = "EUR",
    language: str = "it",
    credits: CreditedReceipt | None = None,
    integrity: Integrity | None = None,
    receipt_id: str | None = None,
    year: int = 2026,
) -> Receipt:
    """A realistic receipt for a residence certificate paid by card; credit receipt when ``credits``."""
    lines = (
        LineItem("Certificato di residenza", 1, amount_minor - 50, amount_minor - 50),
        LineItem("Diritti di segreteria – ő ű õ ä", 1, 50, 50),
    )
    return Receipt(
        receipt_id=receipt_id or str(uuid.uuid4()),
        kind=ReceiptKind.CREDIT if credits else ReceiptKind.RECEIPT,
        series=Series("DEMO", year),
        number=number,
        issued_at=PAID.replace(year=year) + timedelta(seconds=number),
        issuer=Issuer("Città di Demo", "IT00000000000", "Ufficio Anagrafe"),
        payer=Payer(language=language, name="Mária Kovács"),
        purpose=Purpose("Certificato di residenza", "civil_registry", "RF18539007547034", lines),
        amount=Money(amount_minor, currency),
        vat_note="Operazione fuori campo IVA (art. 4 DPR 633/1972)",
        payment=Payment(
            PaymentMethod("card", "visa", "4242"), "stripe", "pi_3Q0abc", PAID.replace(year=year)
        ),
        credits=credits,
        integrity=integrity,
    )


def canonical(receipt: Receipt) -> bytes:
    return dataclasses.replace(receipt, integrity=receipt.integrity or SEALED).canonical_bytes()


def test_round_trip_is_exact_and_canonical() -> None:
    receipt = dataclasses.replace(make_receipt(), integrity=SEALED)
    data = receipt.canonical_bytes()
    assert parse_receipt(data) == receipt
    decoded = json.loads(data)
    # RFC 8785: members sorted by UTF-16 code units, no white space, non-ASCII kept as UTF-8.
    assert list(decoded) == sorted(decoded)
    assert data.startswith(b'{"amount":{"amount_minor":4550,"currency":"EUR"},"credits":null,')
    assert "Città di Demo".encode() in data
    assert decoded["amount"] == {"amount_minor": 4550, "currency": "EUR"}
    assert decoded["schema_version"] == 2


def test_credit_receipt_round_trip() -> None:
    original = make_receipt(1)
    credit = make_receipt(
        2, amount_minor=1000, credits=CreditedReceipt(original.receipt_id, 1), integrity=SEALED
    )
    parsed = parse_receipt(credit.canonical_bytes())
    assert parsed.kind is ReceiptKind.CREDIT
    assert parsed.credits == CreditedReceipt(original.receipt_id, 1, Series("DEMO", 2026))
    assert parsed.credited_display_number == "DEMO-2026-000001"
    assert parsed.display_number == "DEMO-2026-000002"


def test_unsealed_record_has_no_canonical_form() -> None:
    with pytest.raises(ReceiptDocumentError, match="unsealed"):
        make_receipt().canonical_bytes()


def _reparse(mutate: Any) -> None:
    value = json.loads(canonical(make_receipt()))
    mutate(value)
    parse_receipt(rfc8785.dumps(value))


@pytest.mark.parametrize(
    ("mutate", "path", "message"),
    [
        (lambda v: v.pop("vat_note"), "vat_note", "missing"),
        (lambda v: v.update(extra=1), "extra", "not a member"),
        (lambda v: v["payer"].update(email="a@b.c"), "payer.email", "not a member"),
        (lambda v: v["amount"].update(currency="EUX"), "amount.currency", "not an ISO 4217"),
        (lambda v: v["amount"].update(currency="eur"), "amount.currency", "three capital letters"),
        (lambda v: v["amount"].update(amount_minor="45.50"), "amount.amount_minor", "must be an integer"),
        (lambda v: v["amount"].update(amount_minor=True), "amount.amount_minor", "must be an integer"),
        (lambda v: v["amount"].update(amount_minor=-1), "amount.amount_minor", "between 0"),
        (lambda v: v["amount"].update(amount_minor=9999), "purpose.lines", "add up to 4550"),
        (lambda v: v["payer"].update(language="de"), "payer.language", "must be one of"),
        (
            lambda v: v["payment"]["method"].update(card_last4="4242424242424242"),
            "payment.method.card_last4",
            "four",
        ),
        (lambda v: v["payment"].update(paid_at="2026-03-14T10:26:53+01:00"), "payment.paid_at", "UTC time"),
        (
            lambda v: v["payment"].update(paid_at="2026-02-30T10:26:53Z"),
            "payment.paid_at",
            "not a valid time",
        ),
        (lambda v: v.update(kind="invoice"), "kind", "must be one of"),
        (lambda v: v.update(schema_version=3), "schema_version", "schema versions 1 and 2, not 3"),
        (lambda v: v.update(receipt_id="not-a-uuid"), "receipt_id", "not a UUID"),
        (lambda v: v["integrity"].update(previous_hash="ab"), "integrity.previous_hash", "64"),
        (lambda v: v.update(integrity=None), "integrity", "must be an object"),
        (
            lambda v: v["purpose"]["lines"][0].update(quantity=2),
            "purpose.lines[0].amount_minor",
            "quantity 2",
        ),
        (lambda v: v["issuer"].update(name=" Città"), "issuer.name", "white space"),
        (lambda v: v["issuer"].update(name="Citt\u0000"), "issuer.name", r"U\+0000"),
        (
            lambda v: v.update(
                credits={
                    "receipt_id": str(uuid.uuid4()),
                    "number": 1,
                    "series": {"municipality": "DEMO", "year": 2026},
                }
            ),
            "credits",
            "only a credit",
        ),
        (lambda v: v.update(kind="credit_receipt"), "credits", "must name the receipt"),
        (lambda v: v["series"].update(year=2025), "series.year", "issued in 2026"),
    ],
)
def test_invalid_records_are_refused_with_the_member_named(mutate: Any, path: str, message: str) -> None:
    with pytest.raises(ReceiptDocumentError, match=message) as caught:
        _reparse(mutate)
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "must be an object"),
        (b'{"a": 1.5}', "not an integer"),
        (b'{"a": NaN}', "NaN is not JSON"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|over the limit"),
        (b" " * (300 * 1024), "over the limit"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "Exceeds the limit"),
    ],
)
def test_garbage_is_refused_clearly(data: bytes, message: str) -> None:
    with pytest.raises(ReceiptDocumentError, match=message) as caught:
        parse_receipt(data)
    assert not caught.value.message.startswith("not a receipt: a:")


def test_valid_but_not_canonical_is_refused() -> None:
    data = canonical(make_receipt())
    pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False).encode()
    with pytest.raises(ReceiptDocumentError, match="not in RFC 8785 canonical form"):
        parse_receipt(pretty)
    escaped = json.dumps(json.loads(data), separators=(",", ":"), sort_keys=True).encode()  # \u escapes
    assert escaped != data
    with pytest.raises(ReceiptDocumentError, match="canonical"):
        parse_receipt(escaped)
    assert parse_receipt(data).canonical_bytes() == data


def test_construction_validates_in_python_too() -> None:
    with pytest.raises(ReceiptDocumentError, match="UTC"):
        dataclasses.replace(make_receipt(), issued_at=PAID.astimezone(timezone(timedelta(hours=1))))
    with pytest.raises(ReceiptDocumentError, match="whole second"):
        dataclasses.replace(make_receipt(), issued_at=PAID.replace(microsecond=5))
    with pytest.raises(ReceiptDocumentError, match="positive amount"):
        Receipt(**{**{f.name: getattr(make_receipt(), f.name) for f in dataclasses.fields(Receipt)},
                   "purpose": Purpose("x", "y"), "amount": Money(0, "EUR")})  # fmt: skip
    with pytest.raises(ReceiptDocumentError, match="between 0"):
        Money(2**53, "EUR")


def test_series_year_is_the_local_year_near_new_year() -> None:
    receipt = make_receipt(year=2027)
    # 23:30 UTC on New Year's Eve is already 2027 in Rome: series 2027 or 2026 both plausible.
    eve = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert dataclasses.replace(receipt, issued_at=eve).series.year == 2027
    assert dataclasses.replace(receipt, issued_at=eve, series=Series("DEMO", 2026)).series.year == 2026
    with pytest.raises(ReceiptDocumentError, match="issued in 2026"):
        dataclasses.replace(receipt, issued_at=datetime(2026, 6, 1, tzinfo=UTC))


_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    name=_TEXT,
    description=_TEXT,
    payer=st.one_of(st.none(), _TEXT),
    amounts=st.lists(st.integers(min_value=0, max_value=10**9), min_size=0, max_size=5),
    total=st.integers(min_value=1, max_value=2**53 - 1),
    currency=st.sampled_from(["EUR", "HUF", "SEK", "JPY"]),
    language=st.sampled_from(["en", "it", "et", "hu", "sv"]),
)
def test_any_valid_record_round_trips_exactly(
    name: str,
    description: str,
    payer: str | None,
    amounts: list[int],
    total: int,
    currency: str,
    language: str,
) -> None:
    lines = tuple(LineItem(description, 1, amount, amount) for amount in amounts)
    if lines:
        total = sum(amounts) or 1
        lines = lines if sum(amounts) else (LineItem(description, 1, 1, 1),)
    receipt = dataclasses.replace(
        make_receipt(integrity=SEALED),
        issuer=Issuer(name, "IT00000000000", description),
        payer=Payer(language, payer),
        purpose=Purpose(description, "fees", None, lines),
        amount=Money(total, currency),
    )
    data = receipt.canonical_bytes()
    assert parse_receipt(data) == receipt
    assert rfc8785.dumps(json.loads(data)) == data


def test_a_credit_names_the_series_of_the_receipt_it_credits() -> None:
    # A January refund of a December receipt: numbered in the new year, naming last year's receipt.
    original = make_receipt(311, year=2025)
    credit = make_receipt(
        1,
        amount_minor=1000,
        credits=CreditedReceipt(original.receipt_id, 311, Series("DEMO", 2025)),
        integrity=SEALED,
    )
    data = credit.canonical_bytes()
    assert json.loads(data)["credits"] == {
        "receipt_id": original.receipt_id,
        "number": 311,
        "series": {"municipality": "DEMO", "year": 2025},
    }
    parsed = parse_receipt(data)
    assert parsed == credit
    assert (parsed.display_number, parsed.credited_display_number) == ("DEMO-2026-000001", "DEMO-2025-000311")


@pytest.mark.parametrize(
    ("series", "message"),
    [(Series("DEMO", 2027), "later series"), (Series("OTHER", 2025), "another municipality")],
)
def test_a_credit_of_a_later_or_foreign_series_cannot_exist(series: Series, message: str) -> None:
    with pytest.raises(ReceiptDocumentError, match=message) as caught:
        make_receipt(2, amount_minor=100, credits=CreditedReceipt(str(uuid.uuid4()), 1, series))
    assert caught.value.path == "credits.series"


def version_1(receipt: Receipt) -> bytes:
    """The canonical bytes a Tessera writing schema version 1 stored: no series in ``credits``."""
    value = json.loads(canonical(receipt))
    value["schema_version"] = 1
    if value["credits"] is not None:
        del value["credits"]["series"]
    return rfc8785.dumps(value)


def test_version_1_records_are_still_read_exactly() -> None:
    original = make_receipt(1)
    data = version_1(make_receipt(2, amount_minor=1000, credits=CreditedReceipt(original.receipt_id, 1)))
    parsed = parse_receipt(data)
    assert parsed.schema_version == 1
    assert parsed.credits == CreditedReceipt(original.receipt_id, 1)
    assert parsed.credited_display_number == "DEMO-2026-000001"
    assert parsed.canonical_bytes() == data  # re-serialised byte for byte: its hash still holds
    value = json.loads(data)
    value["credits"]["series"] = {"municipality": "DEMO", "year": 2026}
    with pytest.raises(ReceiptDocumentError, match="credits.series: is not a member"):
        parse_receipt(rfc8785.dumps(value))
