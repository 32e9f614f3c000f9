"""Receipt rules: one sealed receipt per successful payment and one credit receipt per refund,
numbered without gaps per series, chained and signed; their renderings, public verification,
chain checks and the daily close.

Services add and flush; the request (or the worker, or the command) commits.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.db import utcnow
from services.receipts import i18n, reconciliation, repository
from services.receipts.chain import (
    ChainVerdict,
    EarlierOriginal,
    SealedReceipt,
    StoredReceipt,
    check_record,
    seal,
    verify_chain,
)
from services.receipts.document import (
    SUPPORTED_LANGUAGES,
    CreditedReceipt,
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
    parse_receipt,
)
from services.receipts.errors import (
    DayAlreadyClosed,
    EventDataInvalid,
    NothingToClose,
    OriginalReceiptMissing,
    PdfNotReady,
    ReceiptNotFound,
    SeriesNotFound,
)
from services.receipts.models import DailyClose, EventOutcome, PdfStatus
from services.receipts.models import Receipt as ReceiptRow
from services.receipts.schemas import (
    ChainCheck,
    PaymentRefundedData,
    PaymentSucceededData,
    PayoutData,
    ReceiptRead,
    SeriesRead,
)
from services.receipts.signing import ReceiptSigner, ReceiptVerifier

PAYMENT_SUCCEEDED = "payment.succeeded"
PAYMENT_REFUNDED = "payment.refunded"
PAYOUT_PAID = "payout.paid"
EPOCH = date(1970, 1, 1)
PDF_BACKOFF_CAP = timedelta(hours=1)
# Longer than any rendering takes; a worker that died mid-way lets its PDF fall due after this.
PDF_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Issuing:
    """Everything issuing and rendering need besides the database: built once at start-up."""

    signer: ReceiptSigner
    verifier: ReceiptVerifier
    issuer: Issuer
    series_code: str
    time_zone: str
    vat_note: str
    default_language: str
    base_url: str


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=number)


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(value: str | None) -> str | None:
    """Event text as a receipt holds it: trimmed, inner runs of white space kept as they are."""
    if value is None:
        return None
    stripped = value.strip()
    return stripped or None


def _language(*candidates: str | None, default: str) -> str:
    for candidate in candidates:
        if candidate:
            short = candidate.strip().lower()[:2]
            if short in SUPPORTED_LANGUAGES:
                return short
    return default


def _parse(model: type[BaseModel], data: Mapping[str, Any], event_type: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fields = ", ".join(sorted({".".join(str(p) for p in e["loc"]) for e in error.errors()}))
        raise EventDataInvalid(f"{event_type} data is invalid in: {fields}") from error


def handle_event(
    session: Session, *, event_type: str, data: Mapping[str, Any], issuing: Issuing
) -> EventOutcome:
    """Apply one newly received event (the inbox has already filtered duplicates)."""
    if event_type == PAYMENT_SUCCEEDED:
        issue_receipt(session, data=_parse(PaymentSucceededData, data, event_type), issuing=issuing)
    elif event_type == PAYMENT_REFUNDED:
        issue_credit(session, data=_parse(PaymentRefundedData, data, event_type), issuing=issuing)
    elif event_type == PAYOUT_PAID:
        reconciliation.import_payouts(session, payouts=[_parse(PayoutData, data, event_type)])
    else:
        return EventOutcome.IGNORED
    return EventOutcome.PROCESSED


def _issue(
    session: Session,
    *,
    issuing: Issuing,
    source: str,
    series: Series,
    build: Callable[[int, datetime], Receipt],
    row_values: Callable[[Receipt], dict[str, Any]],
) -> ReceiptRow:
    """Number, seal and store one record in ``series`` under the series lock, once per ``source``."""
    counter = repository.lock_series(session, series)
    existing = repository.get_by_source(session, source)
    if existing is not None:
        return existing
    previous: SealedReceipt | None = None
    if counter.last_number:
        last = repository.get_by_number(session, series.key, counter.last_number)
        assert last is not None  # the counter only ever names a stored receipt
        previous = sealed_of(last)
    # Taken once the lock is held, so issue times follow the numbers.
    issued_at = _second(utcnow())
    try:
        record = build(counter.last_number + 1, issued_at)
    except ReceiptDocumentError as error:
        raise EventDataInvalid(f"the event cannot make a valid receipt: {error}") from error
    sealed = seal(record, previous=previous, signer=issuing.signer)
    row = ReceiptRow(
        id=uuid.UUID(record.receipt_id),
        kind=record.kind.value,
        series_key=series.key,
        number=record.number,
        source=source,
        amount=record.amount.amount_minor,
        currency=record.amount.currency,
        language=record.payer.language,
        issued_at=record.issued_at,
        record=sealed.canonical,
        record_hash=sealed.record_hash,
        signature=sealed.signature,
        key_id=issuing.signer.key_id,
        **row_values(record),
    )
    return repository.add_receipt(session, row, counter)


def current_series(issuing: Issuing, now: datetime) -> Series:
    return Series(issuing.series_code, now.astimezone(i18n.zone(issuing.time_zone)).year)


def issue_receipt(session: Session, *, data: PaymentSucceededData, issuing: Issuing) -> ReceiptRow:
    repository.begin_writing(session)
    source = f"payment:{data.payment_id}"
    now = _second(utcnow())
    paid_at = _second(data.paid_at) if data.paid_at else now
    payer = data.payer
    description = _text(data.purpose) or _text(data.description) or data.reference.strip()
    method_kind = _text(data.method) or ("card" if data.card_last4 or data.card_brand else "other")
    series = current_series(issuing, now)

    def build(number: int, issued_at: datetime) -> Receipt:
        lines = tuple(
            LineItem(
                line.description.strip(), line.quantity, line.unit_amount, line.quantity * line.unit_amount
            )
            for line in data.lines or ()
        )
        return Receipt(
            receipt_id=str(uuid.uuid4()),
            kind=ReceiptKind.RECEIPT,
            series=series,
            number=number,
            issued_at=issued_at,
            issuer=issuing.issuer,
            payer=Payer(
                _language(payer.language if payer else None, data.language, default=issuing.default_language),
                _text(payer.name) if payer else None,
            ),
            purpose=Purpose(
                description, _text(data.category) or "fee", _text(data.creditor_reference), lines
            ),
            amount=Money(data.amount, data.currency),
            vat_note=issuing.vat_note,
            payment=Payment(
                PaymentMethod(method_kind, _text(data.card_brand), data.card_last4),
                data.provider.strip(),
                _text(data.provider_transaction_id) or str(data.payment_id),
                paid_at,
            ),
        )

    row = _issue(
        session,
        issuing=issuing,
        source=source,
        series=series,
        build=build,
        row_values=lambda record: {
            "payment_id": data.payment_id,
            "reference": data.reference.strip(),
            "paid_day": day_number(paid_at.date()),
        },
    )
    if data.fee is not None:
        # The provider's fee came with the event: the balance transaction reconciliation needs.
        transaction = data.balance_transaction_id or data.provider_transaction_id or source
        repository.insert_balance_transactions(
            session,
            [{"provider": data.provider, "transaction_id": transaction, "source": source, "kind": "charge",
              "gross": data.amount, "fee": data.fee, "net": data.amount - data.fee, "currency": data.currency,
              "payout_id": data.payout_id, "created_at": utcnow()}],
        )  # fmt: skip
    return row


def issue_credit(session: Session, *, data: PaymentRefundedData, issuing: Issuing) -> ReceiptRow:
    """A credit receipt for the refunded amount, numbered in the series of the year it is issued in
    (fiscal numbering follows the issue date), naming the original by id, series and number."""
    repository.begin_writing(session)
    source = f"refund:{data.refund_id}"
    done = repository.get_by_source(session, source)
    if done is not None:
        return done
    found = repository.get_by_source(session, f"payment:{data.payment_id}")
    if found is None:
        raise OriginalReceiptMissing(
            f"payment {data.payment_id} has no receipt yet; the refund {data.refund_id} waits for it"
        )
    # Locked before the series: two refunds of one receipt wait for each other even when their
    # credit receipts go to different series, so both cannot take the last of it.
    original = repository.lock_receipt(session, found.id)
    assert original is not None  # receipts are never deleted
    if data.currency != original.currency:
        raise EventDataInvalid(f"refund in {data.currency} of a receipt in {original.currency}")
    source_record = parse_receipt(original.record)
    now = _second(utcnow())
    refunded_at = _second(data.refunded_at) if data.refunded_at else now

    series = current_series(issuing, now)

    def build(number: int, issued_at: datetime) -> Receipt:
        # Checked under the original's lock, so two refunds at once cannot both take the last of it.
        left = original.amount - repository.credited_total(session, original.id)
        if data.refunded > left:
            raise EventDataInvalid(
                f"refund {data.refund_id} of {data.refunded} exceeds what is left of receipt "
                f"{original.number} ({left})"
            )
        return Receipt(
            receipt_id=str(uuid.uuid4()),
            kind=ReceiptKind.CREDIT,
            series=series,
            number=number,
            issued_at=issued_at,
            issuer=issuing.issuer,
            payer=source_record.payer,
            purpose=Purpose(
                _text(data.reason) or source_record.purpose.description,
                source_record.purpose.category,
                source_record.purpose.creditor_reference,
            ),
            amount=Money(data.refunded, data.currency),
            vat_note=issuing.vat_note,
            payment=Payment(
                source_record.payment.method,
                (data.provider or source_record.payment.provider).strip(),
                _text(data.provider_refund_id) or data.refund_id,
                refunded_at,
            ),
            credits=CreditedReceipt(str(original.id), original.number, source_record.series),
        )

    row = _issue(
        session,
        issuing=issuing,
        source=source,
        series=series,
        build=build,
        row_values=lambda record: {
            "payment_id": data.payment_id,
            "credits_id": original.id,
            "reference": original.reference,
            "paid_day": day_number(refunded_at.date()),
        },
    )
    return row


def sealed_of(row: ReceiptRow) -> SealedReceipt:
    record = bytes(row.record)
    return SealedReceipt(parse_receipt(record), record, row.record_hash, bytes(row.signature))


def get_receipt(session: Session, *, receipt_id: uuid.UUID) -> ReceiptRow:
    receipt = repository.get(session, receipt_id)
    if receipt is None:
        raise ReceiptNotFound(f"No receipt {receipt_id}")
    return receipt


def read_model(row: ReceiptRow, pdf_status: str | None, base_url: str) -> ReceiptRead:
    number = row.number
    own = f"/v1/receipts/{row.id}"
    return ReceiptRead(
        links={
            "self": own,
            "html": f"{own}/html",
            "pdf": f"{own}/pdf",
            "verify": f"{base_url.rstrip('/')}/verify/{row.id}",
        },  # fmt: skip
        id=row.id,
        kind=row.kind,
        number=number,
        display_number=f"{row.series_key}-{number:06d}",
        series=row.series_key,
        payment_id=row.payment_id,
        credits_id=row.credits_id,
        amount=row.amount,
        currency=row.currency,
        reference=row.reference,
        issued_at=row.issued_at,
        created_at=row.created_at,
        record=json.loads(bytes(row.record)),
        record_hash=row.record_hash,
        signature=base64.b64encode(bytes(row.signature)).decode("ascii"),
        key_id=row.key_id,
        pdf_status=pdf_status or PdfStatus.PENDING.value,
    )


def receipt_read(session: Session, *, receipt_id: uuid.UUID, base_url: str) -> ReceiptRead:
    row = get_receipt(session, receipt_id=receipt_id)
    pdf = repository.pdf_of(session, row.id)
    return read_model(row, pdf.status if pdf else None, base_url)


def list_receipts(
    session: Session,
    *,
    limit: int,
    offset: int,
    base_url: str,
    payment_id: uuid.UUID | None = None,
    series_key: str | None = None,
) -> tuple[list[ReceiptRead], int]:
    rows, total = repository.page(
        session, limit=limit, offset=offset, payment_id=payment_id, series_key=series_key
    )
    statuses = repository.pdf_statuses(session, [r.id for r in rows])
    return [read_model(r, statuses.get(r.id), base_url) for r in rows], total


def list_series(session: Session) -> list[SeriesRead]:
    return [
        SeriesRead(key=s.key, last_number=s.last_number, last_hash=s.last_hash)
        for s in repository.all_series(session)
    ]


def check_series(session: Session, *, series_key: str, verifier: ReceiptVerifier) -> ChainCheck:
    if series_key not in repository.series_keys(session):
        raise SeriesNotFound(f"No receipt series {series_key}")
    verdict = verify_series(session, series_key=series_key, verifier=verifier)
    problems = check_closes(session, series_key=series_key)
    return ChainCheck(
        series=series_key,
        intact=verdict.intact and not problems,
        checked=verdict.checked,
        first_broken=verdict.first_broken.describe() if verdict.first_broken else None,
        daily_close_problems=problems,
    )


def receipt_pdf(session: Session, *, receipt_id: uuid.UUID, retry_after: int) -> tuple[bytes, str]:
    row = get_receipt(session, receipt_id=receipt_id)
    pdf = repository.pdf_of(session, row.id)
    if pdf is None or pdf.status != PdfStatus.READY or pdf.pdf is None:
        raise PdfNotReady(
            f"The PDF of receipt {row.series_key}-{row.number:06d} is being rendered; the record is "
            "available as JSON and HTML meanwhile",
            headers={"Retry-After": str(retry_after)},
        )
    return bytes(pdf.pdf), f"{row.series_key}-{row.number:06d}.pdf"


def receipt_html(session: Session, *, receipt_id: uuid.UUID, issuing: Issuing) -> str:
    from services.receipts.render import render_html

    row = get_receipt(session, receipt_id=receipt_id)
    return render_html(sealed_of(row), base_url=issuing.base_url, time_zone=issuing.time_zone)


Renderer = Callable[[SealedReceipt], bytes]


def render_due_pdfs(
    session_factory: Callable[[], Session], *, renderer: Renderer, backoff: timedelta, limit: int = 10
) -> int:
    """Render the PDFs that are due. Each is claimed for a while in a short transaction, rendered
    outside any transaction, then stored; a failure is recorded with the next attempt's time and
    never touches the receipt. Returns how many were rendered."""
    with session_factory() as session:
        due = repository.due_pdfs(session, now=utcnow(), limit=limit)
    rendered = 0
    for receipt_id in due:
        now = utcnow()
        with session_factory() as session, session.begin():
            if not repository.claim_pdf(session, receipt_id, now=now, until=now + PDF_LEASE):
                continue
            sealed = sealed_of(get_receipt(session, receipt_id=receipt_id))
        error: Exception | None = None
        try:
            document = renderer(sealed)
        except Exception as failure:  # noqa: BLE001  (any renderer failure is retried later)
            error = failure
        with session_factory() as session, session.begin():
            pdf = repository.pdf_of(session, receipt_id)
            if pdf is None or pdf.status == PdfStatus.READY:
                continue
            pdf.attempts += 1
            if error is not None:
                pdf.status = PdfStatus.FAILED
                pdf.last_error = f"{type(error).__name__}: {error}"[:2000]
                pdf.next_attempt_at = utcnow() + min(backoff * 2 ** (pdf.attempts - 1), PDF_BACKOFF_CAP)
                continue
            pdf.status = PdfStatus.READY
            pdf.pdf = document
            pdf.last_error = None
            pdf.rendered_at = utcnow()
            rendered += 1
    return rendered


class VerificationStatus(StrEnum):
    VALID = "valid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class Verification:
    receipt_id: uuid.UUID
    display_number: str
    kind: str
    issuer: str
    amount: str
    date: str
    status: VerificationStatus
    signature_holds: bool
    detail: str | None
    language: str


def verify_receipt(
    session: Session, *, receipt_id: uuid.UUID, issuing: Issuing, language: str | None = None
) -> Verification:
    """What the public page shows about one receipt: its signature and hash checked, and whether the
    next link of its chain points back to it."""
    row = get_receipt(session, receipt_id=receipt_id)
    stored = StoredReceipt(bytes(row.record), row.record_hash, bytes(row.signature))
    record, broken = check_record(stored, issuing.verifier)
    detail = broken.describe() if broken else None
    if broken is None and record is not None and record.integrity is not None and row.number > 1:
        before = repository.get_by_number(session, row.series_key, row.number - 1)
        if before is None or before.record_hash != record.integrity.previous_hash:
            broken_chain = "the receipt before it in the series does not match its chain link"
            detail = broken_chain
    holds = detail is None
    language = next(
        (lang for lang in (language, row.language) if lang in SUPPORTED_LANGUAGES), issuing.default_language
    )
    if not holds:
        status = VerificationStatus.INVALID
    elif row.kind == ReceiptKind.RECEIPT.value:
        credited = repository.credited_total(session, row.id)
        status = (
            VerificationStatus.REFUNDED
            if credited >= row.amount
            else VerificationStatus.PARTIALLY_REFUNDED
            if credited
            else VerificationStatus.VALID
        )
    else:
        status = VerificationStatus.VALID
    issuer = record.issuer.name if record else "?"
    return Verification(
        receipt_id=row.id,
        display_number=f"{row.series_key}-{row.number:06d}",
        kind=row.kind,
        issuer=issuer,
        amount=i18n.format_money(row.amount, row.currency, language),
        date=i18n.format_time(row.issued_at, language, issuing.time_zone),
        status=status,
        signature_holds=holds,
        detail=detail,
        language=language,
    )


def verify_series(session: Session, *, series_key: str, verifier: ReceiptVerifier) -> ChainVerdict:
    records = repository.series_records(session, series_key)

    def originals(receipt_id: str) -> EarlierOriginal | None:
        return repository.earlier_original(session, receipt_id, outside_series=series_key)

    try:
        return verify_chain(records, verifier, originals=originals)
    finally:
        records.close()


def check_closes(session: Session, *, series_key: str) -> list[str]:
    """What no longer agrees with the daily closes of a series: each close pins the hash of its day's
    last receipt, so a series rewritten after the close (even re-signed) is caught here."""
    problems: list[str] = []
    for close in repository.closes_of_series(session, series_key):
        last = repository.get_by_number(session, series_key, close.last_number)
        if last is None:
            problems.append(
                f"close of {close.day} {close.currency}: receipt number {close.last_number} is missing"
            )
        elif last.record_hash != close.last_hash:
            problems.append(
                f"close of {close.day} {close.currency}: receipt number {close.last_number} hashes to "
                f"{last.record_hash}, the close recorded {close.last_hash}"
            )
    return problems


def series_keys(session: Session) -> list[str]:
    return repository.series_keys(session)


def _day_bounds(day: date, time_zone: str) -> tuple[datetime, datetime]:
    zone = i18n.zone(time_zone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def close_day(session: Session, *, day: date, issuing: Issuing, closed_by: str) -> list[DailyClose]:
    """Fix what every series issued on ``day`` (the municipality's local day), once."""
    if repository.closes_of(session, day):
        raise DayAlreadyClosed(f"{day.isoformat()} is already closed")
    first, end = _day_bounds(day, issuing.time_zone)
    closes: list[DailyClose] = []
    for series_key in sorted(repository.series_of_day(session, first=first, end=end)):
        for summary in repository.day_summary(session, series_key=series_key, first=first, end=end):
            last = repository.get_by_number(session, series_key, int(summary["last_number"]))  # type: ignore[call-overload]
            assert last is not None
            close = DailyClose(
                id=uuid.uuid4(),
                series_key=series_key,
                day=day,
                closed_by=closed_by,
                last_hash=last.record_hash,
                **summary,
            )
            try:
                with session.begin_nested():
                    repository.add(session, close)
            except IntegrityError as error:  # another officer closed the same day at the same moment
                raise DayAlreadyClosed(f"{day.isoformat()} is already closed") from error
            closes.append(close)
    if not closes:
        raise NothingToClose(f"No receipt was issued on {day.isoformat()}")
    return closes


def list_closes(session: Session, *, limit: int) -> list[DailyClose]:
    return repository.list_closes(session, limit=limit)
