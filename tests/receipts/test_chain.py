from __future__ import annotations

import dataclasses
import hashlib
import json
import time
import uuid

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.receipts.chain import (
    GENESIS_HASH,
    BreakReason,
    EarlierOriginal,
    OriginalLookup,
    SealedReceipt,
    SealError,
    StoredReceipt,
    check_record,
    record_hash,
    seal,
    verify_chain,
)
from services.receipts.document import CreditedReceipt, Integrity, Receipt, Series
from services.receipts.signing import ReceiptSigner, ReceiptVerifier
from tests.receipts.test_document import make_receipt

SIGNER = ReceiptSigner(Ed25519PrivateKey.generate())
VERIFIER = ReceiptVerifier.for_signer(SIGNER)


def build_series(count: int, *, credit_of: dict[int, int] | None = None) -> list[SealedReceipt]:
    """``count`` sealed receipts; ``credit_of`` maps a number to the number it credits (1,000 minor units)."""
    credit_of = credit_of or {}
    sealed: list[SealedReceipt] = []
    for number in range(1, count + 1):
        if number in credit_of:
            original = sealed[credit_of[number] - 1].receipt
            receipt = make_receipt(
                number, amount_minor=1000, credits=CreditedReceipt(original.receipt_id, original.number)
            )
        else:
            receipt = make_receipt(number)
        sealed.append(seal(receipt, previous=sealed[-1] if sealed else None, signer=SIGNER))
    return sealed


def stored(records: list[SealedReceipt]) -> list[StoredReceipt]:
    return [StoredReceipt(r.canonical, r.record_hash, r.signature) for r in records]


def sign_raw(receipt: Receipt, previous_hash: str) -> StoredReceipt:
    """Seal a record by hand, bypassing seal()'s own checks, as a faulty or hostile writer would."""
    record = dataclasses.replace(receipt, integrity=Integrity(previous_hash, SIGNER.key_id, SIGNER.algorithm))
    canonical = record.canonical_bytes()
    return StoredReceipt(canonical, record_hash(canonical), SIGNER.sign(hashlib.sha256(canonical).digest()))


def test_intact_series_with_a_credit_receipt() -> None:
    series = build_series(6, credit_of={4: 2, 6: 2})
    assert series[0].receipt.integrity is not None
    assert series[0].receipt.integrity.previous_hash == GENESIS_HASH
    for previous, current in zip(series, series[1:], strict=False):
        assert current.receipt.integrity is not None
        assert current.receipt.integrity.previous_hash == hashlib.sha256(previous.canonical).hexdigest()
    verdict = verify_chain(stored(series), VERIFIER)
    assert verdict.intact, verdict.first_broken
    assert verdict.checked == 6
    assert verdict.last_hash == series[-1].record_hash
    assert verdict.series == series[0].receipt.series


def test_empty_series_is_intact() -> None:
    verdict = verify_chain([], VERIFIER)
    assert verdict.intact and verdict.checked == 0 and verdict.last_hash == GENESIS_HASH


def test_an_altered_stored_receipt_is_caught_and_named() -> None:
    records = stored(build_series(5))
    # Someone edits the amount of receipt 3 in the database, keeping the stored hash.
    value = json.loads(records[2].canonical)
    value["payer"]["name"] = "Someone Else"
    altered = rfc8785.dumps(value)
    records[2] = dataclasses.replace(records[2], canonical=altered)
    verdict = verify_chain(records, VERIFIER)
    assert not verdict.intact
    assert verdict.first_broken is not None
    assert (verdict.first_broken.number, verdict.first_broken.reason) == (3, BreakReason.ALTERED_CONTENT)
    assert verdict.checked == 2
    # ... and updating the stored hash too only moves the complaint to the signature.
    records[2] = dataclasses.replace(records[2], record_hash=record_hash(altered))
    broken = verify_chain(records, VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (3, BreakReason.BAD_SIGNATURE)
    assert "3" in broken.describe() and "bad_signature" in broken.describe()


def test_bytes_that_are_not_a_canonical_receipt_are_named_by_position() -> None:
    records = stored(build_series(3))
    records[1] = dataclasses.replace(records[1], canonical=records[1].canonical + b" ")
    broken = verify_chain(records, VERIFIER).first_broken
    assert broken is not None
    assert (broken.position, broken.number, broken.reason) == (2, None, BreakReason.NOT_A_RECEIPT)


def test_removed_receipt_is_a_gap() -> None:
    records = stored(build_series(4))
    del records[1]
    broken = verify_chain(records, VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (3, BreakReason.GAP_IN_NUMBERING)


def test_series_must_start_at_one() -> None:
    broken = verify_chain(stored(build_series(3))[1:], VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (2, BreakReason.GAP_IN_NUMBERING)


def test_duplicate_number() -> None:
    records = stored(build_series(3))
    broken = verify_chain([records[0], records[1], records[1]], VERIFIER).first_broken
    assert broken is not None and (broken.position, broken.reason) == (3, BreakReason.DUPLICATE_NUMBER)


def test_fork_is_a_wrong_previous_hash() -> None:
    series = build_series(2)
    fork = seal(make_receipt(2), previous=series[0], signer=SIGNER)
    third = seal(make_receipt(3), previous=fork, signer=SIGNER)
    broken = verify_chain(stored([*series, third]), VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (3, BreakReason.WRONG_PREVIOUS_HASH)


def test_record_signed_with_an_unknown_key() -> None:
    intruder = ReceiptSigner(Ed25519PrivateKey.generate())
    series = build_series(1)
    forged = seal(make_receipt(2), previous=series[0], signer=intruder)
    broken = verify_chain(stored([*series, forged]), VERIFIER).first_broken
    assert broken is not None and broken.reason is BreakReason.UNKNOWN_KEY
    assert intruder.key_id in broken.detail


def test_record_from_another_series() -> None:
    series = build_series(1)
    other = sign_raw(make_receipt(2, year=2027), series[0].record_hash)
    broken = verify_chain([*stored(series), other], VERIFIER).first_broken
    assert broken is not None and broken.reason is BreakReason.WRONG_SERIES


def test_credit_of_missing_receipt() -> None:
    series = build_series(2)
    credit = make_receipt(3, amount_minor=100, credits=CreditedReceipt(str(uuid.uuid4()), 1))
    broken = verify_chain([*stored(series), sign_raw(credit, series[-1].record_hash)], VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (3, BreakReason.CREDIT_OF_MISSING_RECEIPT)


def test_credit_of_later_receipt() -> None:
    series = build_series(1)
    later_id = str(uuid.uuid4())
    credit = make_receipt(2, amount_minor=100, credits=CreditedReceipt(later_id, 3))
    first_credit = sign_raw(credit, series[0].record_hash)
    later = sign_raw(make_receipt(3, receipt_id=later_id), first_credit.record_hash)
    broken = verify_chain([*stored(series), first_credit, later], VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (2, BreakReason.CREDIT_OF_LATER_RECEIPT)
    with pytest.raises(SealError, match="earlier receipt"):
        seal(credit, previous=series[0], signer=SIGNER)


def test_credits_may_not_exceed_the_original() -> None:
    # 4550 credited 1000 at a time: the fifth credit would bring it to 5000.
    series = build_series(6, credit_of={2: 1, 3: 1, 4: 1, 5: 1})
    assert verify_chain(stored(series[:5]), VERIFIER).intact
    over = make_receipt(6, amount_minor=1000, credits=CreditedReceipt(series[0].receipt.receipt_id, 1))
    records = [*stored(series[:5]), stored([seal(over, previous=series[4], signer=SIGNER)])[0]]
    broken = verify_chain(records, VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (6, BreakReason.OVER_CREDITED)


def test_credit_in_another_currency_or_with_a_wrong_number() -> None:
    series = build_series(1)
    original_id = series[0].receipt.receipt_id
    wrong_currency = make_receipt(
        2, amount_minor=100, currency="HUF", credits=CreditedReceipt(original_id, 1)
    )
    broken = verify_chain(
        [*stored(series), sign_raw(wrong_currency, series[0].record_hash)], VERIFIER
    ).first_broken
    assert broken is not None and broken.reason is BreakReason.CREDIT_MISMATCH
    series = build_series(2)
    first_id = series[0].receipt.receipt_id
    wrong_number = make_receipt(3, amount_minor=100, credits=CreditedReceipt(first_id, 2))
    broken = verify_chain(
        [*stored(series), sign_raw(wrong_number, series[1].record_hash)], VERIFIER
    ).first_broken
    assert broken is not None and broken.reason is BreakReason.CREDIT_MISMATCH


def test_seal_refuses_gaps_other_series_and_a_late_first() -> None:
    first = build_series(1)[0]
    with pytest.raises(SealError, match="gapless"):
        seal(make_receipt(3), previous=first, signer=SIGNER)
    with pytest.raises(SealError, match="another series"):
        seal(make_receipt(2, year=2027), previous=first, signer=SIGNER)
    with pytest.raises(SealError, match="number 1"):
        seal(make_receipt(2), previous=None, signer=SIGNER)


def test_sign_and_chain_cost_per_receipt() -> None:
    count = 300
    started = time.perf_counter()
    series = build_series(count)
    sealed_each = (time.perf_counter() - started) / count
    started = time.perf_counter()
    assert verify_chain(stored(series), VERIFIER).intact
    verified_each = (time.perf_counter() - started) / count
    print(
        f"seal (build+canonicalise+hash+sign): {sealed_each * 1e3:.3f} ms, verify: {verified_each * 1e3:.3f} ms"
    )
    # Generous bound for a shared 2-core machine: issuing must never be the slow part of a payment.
    assert sealed_each < 0.02 and verified_each < 0.02


def test_single_record_check_for_the_verification_page() -> None:
    record = stored(build_series(1))[0]
    receipt, problem = check_record(record, VERIFIER)
    assert problem is None and receipt is not None and receipt.number == 1
    forged = dataclasses.replace(record, signature=bytes(64))
    receipt, problem = check_record(forged, VERIFIER)
    assert receipt is not None and problem is not None and problem.reason is BreakReason.BAD_SIGNATURE
    receipt, problem = check_record(dataclasses.replace(record, canonical=b"{}"), VERIFIER)
    assert receipt is None and problem is not None and problem.reason is BreakReason.NOT_A_RECEIPT


def series_of_year(year: int, receipts: list[Receipt]) -> list[SealedReceipt]:
    sealed: list[SealedReceipt] = []
    for receipt in receipts:
        assert receipt.series.year == year
        sealed.append(seal(receipt, previous=sealed[-1] if sealed else None, signer=SIGNER))
    return sealed


def lookup_in(*series: list[SealedReceipt]) -> OriginalLookup:
    """What the database answers: a receipt by id, with the credits of it stored in any series."""
    every = [record for records in series for record in records]

    def find(receipt_id: str) -> EarlierOriginal | None:
        for record in every:
            if record.receipt.receipt_id == receipt_id:
                credits = tuple(
                    stored([r])[0]
                    for r in every
                    if r.receipt.credits is not None and r.receipt.credits.receipt_id == receipt_id
                )
                return EarlierOriginal(stored([record])[0], credits)
        return None

    return find


def cross_year(
    *, earlier_credit: int = 0, refund: int = 1000
) -> tuple[list[SealedReceipt], list[SealedReceipt]]:
    """Series 2025: receipt 1 of 4550 (and a credit of it when ``earlier_credit``); series 2026: a
    receipt, then a credit receipt of 2025's number 1 for ``refund``."""
    old = [make_receipt(1, year=2025)]
    original = old[0]
    if earlier_credit:
        old.append(
            make_receipt(
                2, year=2025, amount_minor=earlier_credit, credits=CreditedReceipt(original.receipt_id, 1)
            )
        )
    credit = make_receipt(
        2, year=2026, amount_minor=refund, credits=CreditedReceipt(original.receipt_id, 1, original.series)
    )
    return series_of_year(2025, old), series_of_year(2026, [make_receipt(1, year=2026), credit])


def test_a_credit_of_last_years_receipt_verifies_against_it() -> None:
    old, new = cross_year(earlier_credit=2000, refund=2550)
    lookup = lookup_in(old, new)
    assert verify_chain(stored(old), VERIFIER, originals=lookup).intact
    verdict = verify_chain(stored(new), VERIFIER, originals=lookup)
    assert verdict.intact and verdict.checked == 2, verdict.first_broken
    # Without a way to find last year's receipt the credit cannot be checked, so it does not pass.
    broken = verify_chain(stored(new), VERIFIER).first_broken
    assert broken is not None and (broken.number, broken.reason) == (2, BreakReason.CREDIT_OF_MISSING_RECEIPT)
    assert "DEMO-2025" in broken.detail


def test_over_crediting_across_series_is_caught() -> None:
    old, new = cross_year(earlier_credit=3000, refund=2000)  # 5000 credited of 4550
    broken = verify_chain(stored(new), VERIFIER, originals=lookup_in(old, new)).first_broken
    assert broken is not None and (broken.number, broken.reason) == (2, BreakReason.OVER_CREDITED)
    assert "DEMO-2025-000001" in broken.detail and "5000" in broken.detail
    # Credits of a later series are that series' business: 2026 alone is not over-credited.
    old, new = cross_year(refund=1000)
    original = old[0].receipt
    later = series_of_year(
        2027,
        [
            make_receipt(
                1,
                year=2027,
                amount_minor=4000,
                credits=CreditedReceipt(original.receipt_id, 1, original.series),
            )
        ],
    )
    lookup = lookup_in(old, new, later)
    assert verify_chain(stored(new), VERIFIER, originals=lookup).intact
    broken = verify_chain(stored(later), VERIFIER, originals=lookup).first_broken
    assert broken is not None and broken.reason is BreakReason.OVER_CREDITED


def test_tampering_with_a_cross_series_credit_is_caught() -> None:
    old, new = cross_year(refund=1000)
    # The original, edited in last year's series (its stored hash kept): this year's check notices.
    value = json.loads(old[0].canonical)
    value["amount"]["amount_minor"] = 99999
    altered = dataclasses.replace(old[0], canonical=rfc8785.dumps(value))
    broken = verify_chain(stored(new), VERIFIER, originals=lookup_in([altered], new)).first_broken
    assert broken is not None and (broken.number, broken.reason) == (2, BreakReason.CREDITED_RECEIPT_BROKEN)
    # The credit's own reference edited: its signature breaks.
    credit = stored(new)[1]
    value = json.loads(credit.canonical)
    value["credits"]["number"] = 7
    records = [stored(new)[0], dataclasses.replace(credit, canonical=rfc8785.dumps(value))]
    broken = verify_chain(records, VERIFIER, originals=lookup_in(old, new)).first_broken
    assert broken is not None and broken.reason is BreakReason.ALTERED_CONTENT
    # A credit re-signed by a faulty writer with the wrong series or number of the original.
    original = old[0].receipt
    for reference in (
        CreditedReceipt(original.receipt_id, 2, original.series),
        CreditedReceipt(original.receipt_id, 1, Series("DEMO", 2024)),
    ):
        wrong = sign_raw(make_receipt(2, year=2026, amount_minor=100, credits=reference), new[0].record_hash)
        broken = verify_chain([stored(new)[0], wrong], VERIFIER, originals=lookup_in(old, new)).first_broken
        assert broken is not None and broken.reason is BreakReason.CREDIT_MISMATCH, broken
    # A credit receipt of last year named as if it were a receipt.
    old, new = cross_year(earlier_credit=100)
    credit_id = old[1].receipt.receipt_id
    wrong = sign_raw(
        make_receipt(2, year=2026, amount_minor=100, credits=CreditedReceipt(credit_id, 2, original.series)),
        new[0].record_hash,
    )
    broken = verify_chain([stored(new)[0], wrong], VERIFIER, originals=lookup_in(old, new)).first_broken
    assert broken is not None and broken.reason is BreakReason.CREDIT_OF_MISSING_RECEIPT


def sign_version_1(receipt: Receipt, previous_hash: str) -> StoredReceipt:
    value = json.loads(sign_raw(receipt, previous_hash).canonical)
    value["schema_version"] = 1
    if value["credits"] is not None:
        del value["credits"]["series"]
    canonical = rfc8785.dumps(value)
    return StoredReceipt(canonical, record_hash(canonical), SIGNER.sign(hashlib.sha256(canonical).digest()))


def test_a_series_written_before_version_2_still_verifies() -> None:
    first = sign_version_1(make_receipt(1), GENESIS_HASH)
    original_id = json.loads(first.canonical)["receipt_id"]
    credit = sign_version_1(
        make_receipt(2, amount_minor=4550, credits=CreditedReceipt(original_id, 1)), first.record_hash
    )
    verdict = verify_chain([first, credit], VERIFIER)
    assert verdict.intact and verdict.checked == 2, verdict.first_broken
    over = sign_version_1(
        make_receipt(3, amount_minor=100, credits=CreditedReceipt(original_id, 1)), credit.record_hash
    )
    broken = verify_chain([first, credit, over], VERIFIER).first_broken
    assert broken is not None and broken.reason is BreakReason.OVER_CREDITED
