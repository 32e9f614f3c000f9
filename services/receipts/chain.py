"""The hash chain of a receipt series, and its verification.

Each sealed record carries ``integrity.previous_hash``, the SHA-256 of the canonical bytes of the
record numbered one lower in the same series (:data:`GENESIS_HASH` for number 1). Its own record
hash is the SHA-256 of its canonical bytes, and the signature (kept beside the record) is over
that hash. Editing, removing, inserting or re-ordering any stored record therefore breaks either
its own signature or the next record's ``previous_hash``, and :func:`verify_chain` names the
first place where that happens.

A credit receipt is numbered in the series of the year it is issued in, and may credit a receipt
of an earlier series of the same municipality (a January refund of a December payment). Checking
such a credit needs that original and the credits it already had in series before this one:
:func:`verify_chain` asks an :data:`OriginalLookup` for them, checks their hashes and signatures
too, and applies the same rules (same number and currency, never credited beyond its amount).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from services.receipts.document import (
    Integrity,
    Receipt,
    ReceiptDocumentError,
    ReceiptKind,
    Series,
    parse_receipt,
)
from services.receipts.signing import ReceiptSigner, ReceiptVerifier, SignatureCheck

# Number 1 of every series points at this fixed value: no receipt has an all-zero SHA-256.
GENESIS_HASH = "0" * 64


def record_hash(canonical: bytes) -> str:
    """The hex SHA-256 of a record's canonical bytes."""
    return hashlib.sha256(canonical).hexdigest()


class SealError(ValueError):
    """The record cannot follow ``previous`` in its series."""


@dataclass(frozen=True, slots=True)
class SealedReceipt:
    """A record ready to store: its canonical bytes, their hash and the signature over that hash."""

    receipt: Receipt
    canonical: bytes
    record_hash: str
    signature: bytes


def seal(receipt: Receipt, *, previous: SealedReceipt | None, signer: ReceiptSigner) -> SealedReceipt:
    """Fill in the integrity fields of ``receipt`` as the successor of ``previous`` and sign it.

    ``previous`` is the last sealed record of the same series, None for the first. The caller
    holds the series lock, so that two receipts are never sealed onto the same predecessor.
    """
    if previous is None:
        if receipt.number != 1:
            raise SealError(
                f"the first receipt of series {receipt.series.key} is number 1, not {receipt.number}"
            )
        previous_hash = GENESIS_HASH
    else:
        if previous.receipt.series != receipt.series:
            raise SealError(
                f"receipt {receipt.display_number} cannot follow {previous.receipt.display_number}: "
                "another series"
            )
        if receipt.number != previous.receipt.number + 1:
            raise SealError(
                f"receipt number {receipt.number} cannot follow {previous.receipt.number} in series "
                f"{receipt.series.key}: numbering is gapless"
            )
        previous_hash = previous.record_hash
    credits = receipt.credits
    same_series = receipt.credited_series == receipt.series
    if credits is not None and (
        credits.receipt_id == receipt.receipt_id or (same_series and credits.number >= receipt.number)
    ):
        raise SealError(
            f"credit receipt {receipt.display_number} must credit an earlier receipt of its series"
        )
    sealed = dataclasses.replace(
        receipt,
        integrity=Integrity(
            previous_hash=previous_hash, key_id=signer.key_id, signature_algorithm=signer.algorithm
        ),
    )
    canonical = sealed.canonical_bytes()
    digest = hashlib.sha256(canonical)
    return SealedReceipt(sealed, canonical, digest.hexdigest(), signer.sign(digest.digest()))


@dataclass(frozen=True, slots=True)
class StoredReceipt:
    """One record as the database holds it: the canonical bytes, the hash stored with them and the
    signature."""

    canonical: bytes
    record_hash: str
    signature: bytes


class BreakReason(StrEnum):
    ALTERED_CONTENT = "altered_content"
    NOT_A_RECEIPT = "not_a_receipt"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    WRONG_SERIES = "wrong_series"
    DUPLICATE_NUMBER = "duplicate_number"
    GAP_IN_NUMBERING = "gap_in_numbering"
    WRONG_PREVIOUS_HASH = "wrong_previous_hash"
    DUPLICATE_RECEIPT_ID = "duplicate_receipt_id"
    CREDIT_OF_MISSING_RECEIPT = "credit_of_missing_receipt"
    CREDIT_OF_LATER_RECEIPT = "credit_of_later_receipt"
    CREDIT_MISMATCH = "credit_mismatch"
    OVER_CREDITED = "over_credited"
    CREDITED_RECEIPT_BROKEN = "credited_receipt_broken"


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """Where the chain breaks: ``position`` (1-based, in the order given) always, ``number`` and
    ``receipt_id`` when the record could be read."""

    position: int
    number: int | None
    receipt_id: str | None
    reason: BreakReason
    detail: str

    def describe(self) -> str:
        at = f"receipt number {self.number}" if self.number is not None else f"record {self.position}"
        return f"{at}: {self.reason.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """The outcome of checking one series. ``intact`` only when every record was checked and passed;
    ``last_hash`` is the hash the next receipt must point to."""

    series: Series | None
    checked: int
    first_broken: BrokenLink | None
    last_hash: str

    @property
    def intact(self) -> bool:
        return self.first_broken is None


@dataclass(slots=True)
class _Original:
    series: Series
    number: int
    amount_minor: int
    currency: str
    credited_minor: int


@dataclass(frozen=True, slots=True)
class EarlierOriginal:
    """A receipt of an earlier series that a credit receipt credits, as stored, with the stored
    credit receipts of it outside the series being checked (those of series before it count)."""

    original: StoredReceipt
    other_credits: tuple[StoredReceipt, ...]


# Finds a credited receipt outside the series being checked, by receipt id; None when there is none.
OriginalLookup = Callable[[str], EarlierOriginal | None]


def _broken(position: int, receipt: Receipt | None, reason: BreakReason, detail: str) -> BrokenLink:
    return BrokenLink(
        position=position,
        number=receipt.number if receipt else None,
        receipt_id=receipt.receipt_id if receipt else None,
        reason=reason,
        detail=detail,
    )


def _earlier_original(
    receipt: Receipt, lookup: OriginalLookup | None, verifier: ReceiptVerifier
) -> _Original | tuple[BreakReason, str]:
    """The credited receipt of an earlier series, checked, with what series before this one credited."""
    credits, credited_series = receipt.credits, receipt.credited_series
    assert credits is not None and credited_series is not None
    missing = (
        BreakReason.CREDIT_OF_MISSING_RECEIPT,
        f"credits receipt {credits.receipt_id} (number {credits.number} of series {credited_series.key}), "
        "which is not a stored receipt",
    )
    found = lookup(credits.receipt_id) if lookup is not None else None
    if found is None:
        return missing
    original, broken = check_record(found.original, verifier)
    if broken is not None or original is None:
        reason = broken.describe() if broken else "unreadable"
        return BreakReason.CREDITED_RECEIPT_BROKEN, f"the credited receipt does not verify: {reason}"
    if original.receipt_id != credits.receipt_id or original.kind is not ReceiptKind.RECEIPT:
        return missing
    if original.series != credited_series or original.number != credits.number:
        return BreakReason.CREDIT_MISMATCH, (
            f"credits receipt {credits.receipt_id} as {receipt.credited_display_number}, but it is "
            f"{original.display_number}"
        )
    credited = 0
    for stored in found.other_credits:
        credit, broken = check_record(stored, verifier)
        if broken is not None or credit is None:
            reason = broken.describe() if broken else "unreadable"
            return BreakReason.CREDITED_RECEIPT_BROKEN, (
                f"a credit receipt of {original.display_number} does not verify: {reason}"
            )
        if credit.credits is None or credit.credits.receipt_id != original.receipt_id:
            continue
        # Credits of later series are checked with their own series, after this one.
        if (
            credit.series.municipality == receipt.series.municipality
            and credit.series.year < receipt.series.year
        ):
            credited += credit.amount.amount_minor
    return _Original(
        original.series, original.number, original.amount.amount_minor, original.amount.currency, credited
    )


def _check_credit(
    receipt: Receipt,
    originals: dict[str, _Original],
    ids_seen: set[str],
    *,
    lookup: OriginalLookup | None,
    verifier: ReceiptVerifier,
) -> tuple[BreakReason, str] | None:
    credits, credited_series = receipt.credits, receipt.credited_series
    assert credits is not None and credited_series is not None  # a credit receipt without one does not parse
    in_series = credited_series == receipt.series
    if credits.receipt_id == receipt.receipt_id or (in_series and credits.number >= receipt.number):
        return BreakReason.CREDIT_OF_LATER_RECEIPT, (
            f"credits number {credits.number}, which does not come before it"
        )
    original = originals.get(credits.receipt_id)
    if original is None and in_series:
        what = "a credit receipt" if credits.receipt_id in ids_seen else "not a receipt of this series"
        return BreakReason.CREDIT_OF_MISSING_RECEIPT, (
            f"credits receipt {credits.receipt_id} (number {credits.number}), which is {what}"
        )
    if original is None:
        found = _earlier_original(receipt, lookup, verifier)
        if isinstance(found, tuple):
            return found
        original = originals[credits.receipt_id] = found
    if original.series != credited_series or original.number != credits.number:
        return BreakReason.CREDIT_MISMATCH, (
            f"credits receipt {credits.receipt_id} as {receipt.credited_display_number}, but it is "
            f"{original.series.key}-{original.number:06d}"
        )
    if original.currency != receipt.amount.currency:
        return BreakReason.CREDIT_MISMATCH, (
            f"credits in {receipt.amount.currency} a receipt in {original.currency}"
        )
    if original.credited_minor + receipt.amount.amount_minor > original.amount_minor:
        return BreakReason.OVER_CREDITED, (
            f"brings the credits of {original.series.key}-{original.number:06d} to "
            f"{original.credited_minor + receipt.amount.amount_minor}, over its amount {original.amount_minor}"
        )
    original.credited_minor += receipt.amount.amount_minor
    return None


def check_record(
    stored: StoredReceipt, verifier: ReceiptVerifier, *, position: int = 1
) -> tuple[Receipt | None, BrokenLink | None]:
    """One record on its own (what the public verification page shows): the canonical form of a
    valid receipt, whose stored hash is the hash of its bytes, signed by a known key. Returns the
    receipt when it passes, else what is wrong (and the receipt, when it could be read)."""
    try:
        receipt = parse_receipt(stored.canonical)
    except ReceiptDocumentError as error:
        return None, _broken(position, None, BreakReason.NOT_A_RECEIPT, str(error))
    actual_hash = record_hash(stored.canonical)
    if actual_hash != stored.record_hash:
        detail = f"its bytes hash to {actual_hash}, not the stored {stored.record_hash}"
        return receipt, _broken(position, receipt, BreakReason.ALTERED_CONTENT, detail)
    integrity = receipt.integrity
    assert integrity is not None  # parse_receipt reads only sealed records
    check = verifier.check(
        integrity.key_id, integrity.signature_algorithm, bytes.fromhex(actual_hash), stored.signature
    )
    if check is SignatureCheck.UNKNOWN_KEY:
        detail = f"signed with unknown key {integrity.key_id}"
        return receipt, _broken(position, receipt, BreakReason.UNKNOWN_KEY, detail)
    if check is not SignatureCheck.VALID:
        detail = f"the signature does not verify with key {integrity.key_id}"
        return receipt, _broken(position, receipt, BreakReason.BAD_SIGNATURE, detail)
    return receipt, None


def verify_chain(
    records: Iterable[StoredReceipt], verifier: ReceiptVerifier, *, originals: OriginalLookup | None = None
) -> ChainVerdict:
    """Check one series given in number order; stop at the first broken link.

    Each record must be the canonical form of a valid receipt whose stored hash is the hash of its
    bytes, signed by a known key, of the same series as the first, numbered one more than the
    previous and pointing at its hash; a credit receipt must credit an earlier receipt of the
    series, or a receipt of an earlier series of the municipality found through ``originals``, in
    its currency, for no more than what is left of it.
    """
    series: Series | None = None
    expected_previous = GENESIS_HASH
    last_number = 0
    checked = 0
    credited: dict[str, _Original] = {}
    ids_seen: set[str] = set()
    numbers_seen: dict[int, str] = {}

    def verdict(link: BrokenLink | None) -> ChainVerdict:
        return ChainVerdict(series, checked, link, expected_previous)

    for position, stored in enumerate(records, start=1):
        receipt, link = check_record(stored, verifier, position=position)
        if link is not None:
            return verdict(link)
        assert receipt is not None
        integrity = receipt.integrity
        assert integrity is not None  # parse_receipt reads only sealed records
        actual_hash = stored.record_hash
        if series is None:
            series = receipt.series
        elif receipt.series != series:
            return verdict(
                _broken(
                    position, receipt, BreakReason.WRONG_SERIES, f"belongs to series {receipt.series.key}"
                )
            )
        if receipt.number in numbers_seen:
            return verdict(
                _broken(
                    position,
                    receipt,
                    BreakReason.DUPLICATE_NUMBER,
                    f"number {receipt.number} was already given to receipt {numbers_seen[receipt.number]}",
                )
            )
        if receipt.number != last_number + 1:
            return verdict(
                _broken(
                    position,
                    receipt,
                    BreakReason.GAP_IN_NUMBERING,
                    f"follows number {last_number}" if last_number else "the series does not start at 1",
                )
            )
        if integrity.previous_hash != expected_previous:
            return verdict(
                _broken(
                    position,
                    receipt,
                    BreakReason.WRONG_PREVIOUS_HASH,
                    f"points to {integrity.previous_hash}, but the previous record hashes to {expected_previous}",
                )
            )
        if receipt.receipt_id in ids_seen:
            return verdict(
                _broken(
                    position,
                    receipt,
                    BreakReason.DUPLICATE_RECEIPT_ID,
                    f"id {receipt.receipt_id} is used twice",
                )
            )
        if receipt.kind is ReceiptKind.CREDIT:
            problem = _check_credit(receipt, credited, ids_seen, lookup=originals, verifier=verifier)
            if problem is not None:
                return verdict(_broken(position, receipt, *problem))
        else:
            credited[receipt.receipt_id] = _Original(
                receipt.series, receipt.number, receipt.amount.amount_minor, receipt.amount.currency, 0
            )
        ids_seen.add(receipt.receipt_id)
        numbers_seen[receipt.number] = receipt.receipt_id
        last_number = receipt.number
        expected_previous = actual_hash
        checked += 1
    return verdict(None)
