from __future__ import annotations

import random
from datetime import date

import pytest

from services.receipts.statements import (
    CreditDebit,
    StatementFormat,
    StatementReport,
    iban_is_valid,
    parse_camt053,
    parse_mt940,
    parse_statement,
)

IBAN = "IT60X0542811101000000123456"


def _status(version: int, code: str) -> str:
    # Entry status is a bare code up to 001.05 and a choice holding Cd from 001.06.
    return f"<Sts>{code}</Sts>" if version <= 5 else f"<Sts><Cd>{code}</Cd></Sts>"


def _entry(version: int, *, amount: str = "45.50", ref: str = "2026031400001", e2e: str = "TESSERA-R-000042",
           indicator: str = "CRDT", status: str = "BOOK", remittance: str = "Ricevuta DEMO-2026-000042",
           reversal: str = "") -> str:  # fmt: skip
    rvsl = f"<RvslInd>{reversal}</RvslInd>" if reversal else ""
    return f"""
      <Ntry>
        <Amt Ccy="EUR">{amount}</Amt>
        <CdtDbtInd>{indicator}</CdtDbtInd>{rvsl}
        {_status(version, status)}
        <BookgDt><Dt>2026-03-16</Dt></BookgDt>
        <ValDt><Dt>2026-03-14</Dt></ValDt>
        <AcctSvcrRef>{ref}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>
          <TxDtls>
            <Refs><EndToEndId>{e2e}</EndToEndId></Refs>
            <RmtInf><Ustrd>{remittance}</Ustrd></RmtInf>
          </TxDtls>
        </NtryDtls>
      </Ntry>"""


def camt053(
    version: int = 8, entries: str | None = None, *, iban: str = IBAN, encoding: str = "UTF-8"
) -> str:
    body = entries if entries is not None else _entry(version) + _entry(
        version, amount="1200.00", ref="2026031400002", e2e="po_1QpAYOUT", remittance="STRIPE PAYOUT po_1QpAYOUT"
    ) + _entry(version, amount="12.30", ref="2026031400003", e2e="NOTPROVIDED", indicator="DBIT",
               remittance="Commissioni bancarie")  # fmt: skip
    return f"""<?xml version="1.0" encoding="{encoding}"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}"
          xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-20260316-0001</MsgId><CreDtTm>2026-03-16T06:00:00+01:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>2026-03-16-0001</Id>
      <ElctrncSeqNb>75</ElctrncSeqNb>
      <CreDtTm>2026-03-16T06:00:00+01:00</CreDtTm>
      <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>EUR</Ccy><Ownr><Nm>Città di Demo, Tesoreria</Nm></Ownr></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">10000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>
        <Dt><Dt>2026-03-15</Dt></Dt></Bal>{body}
    </Stmt>
  </BkToCstmrStmt>
</Document>
"""


def _errors(report: StatementReport) -> list[str]:
    return [error.describe() for error in report.errors]


@pytest.mark.parametrize("version", range(2, 9))
def test_camt053_every_version(version: int) -> None:
    report = parse_camt053(camt053(version).encode())
    assert report.ok, _errors(report)
    assert report.format is StatementFormat.CAMT053
    first, payout, fee = report.entries
    assert (first.account_iban, first.amount_minor, first.currency) == (IBAN, 4550, "EUR")
    assert (first.booking_date, first.value_date) == (date(2026, 3, 16), date(2026, 3, 14))
    assert first.direction is CreditDebit.CREDIT and not first.reversal
    assert first.end_to_end_id == "TESSERA-R-000042"
    assert first.remittance_information == "Ricevuta DEMO-2026-000042"
    assert first.bank_reference == "2026031400001"
    assert first.statement_id == "2026-03-16-0001"
    assert payout.amount_minor == 120000
    assert fee.direction is CreditDebit.DEBIT
    assert [e.entry_index for e in report.entries] == [1, 2, 3]
    assert first.line is not None and first.line < payout.line  # type: ignore[operator]


def test_pending_entries_are_skipped_not_imported() -> None:
    report = parse_camt053(camt053(8, _entry(8) + _entry(8, ref="X2", status="PDNG")).encode())
    assert report.ok and len(report.entries) == 1 and report.skipped == 1


def test_reversal_and_batch_booking() -> None:
    batch = """
      <Ntry>
        <Amt Ccy="EUR">30.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><DtTm>2026-03-16T10:00:00+01:00</DtTm></BookgDt><AcctSvcrRef>BATCH-7</AcctSvcrRef>
        <NtryDtls>
          <TxDtls><Refs><EndToEndId>A</EndToEndId></Refs><Amt Ccy="EUR">10.00</Amt></TxDtls>
          <TxDtls><Refs><EndToEndId>B</EndToEndId></Refs>
            <AmtDtls><TxAmt><Amt Ccy="EUR">20.00</Amt></TxAmt></AmtDtls>
            <RmtInf><Strd><CdtrRefInf><Ref>RF18539007547034</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>
        </NtryDtls>
      </Ntry>"""
    report = parse_camt053(camt053(8, batch + _entry(8, ref="R1", reversal="true")).encode())
    assert report.ok, _errors(report)
    a, b, reversed_entry = report.entries
    assert (a.amount_minor, a.end_to_end_id, a.bank_reference) == (1000, "A", "BATCH-7/1")
    assert (b.amount_minor, b.remittance_information, b.booking_date) == (
        2000,
        "RF18539007547034",
        date(2026, 3, 16),
    )
    assert b.value_date is None
    assert reversed_entry.reversal
    bad_batch = batch.replace('<Amt Ccy="EUR">30.00</Amt>', '<Amt Ccy="EUR">31.00</Amt>')
    report = parse_camt053(camt053(8, bad_batch).encode())
    assert not report.ok and "add up to 3000" in _errors(report)[0]


def test_duplicates_within_a_file_are_errors_and_nothing_is_imported() -> None:
    report = parse_camt053(camt053(8, _entry(8) + _entry(8, ref="OTHER") + _entry(8)).encode())
    assert report.entries == ()
    assert len(report.errors) == 1
    assert report.errors[0].entry == 3 and "duplicate of entry 1" in report.errors[0].message
    # Same end-to-end id without a bank reference: also a duplicate.
    no_ref = _entry(8).replace("<AcctSvcrRef>2026031400001</AcctSvcrRef>", "")
    assert "same end-to-end id" in _errors(parse_camt053(camt053(8, no_ref + no_ref).encode()))[0]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(8, amount="45.505"), "more decimals than EUR allows"),
        (_entry(8, amount="-5.00"), "must be positive"),
        (_entry(8, amount="abc"), "not an amount"),
        (_entry(8).replace('Ccy="EUR"', 'Ccy="EUX"'), "not an ISO 4217 currency"),
        (_entry(8, indicator="CRED"), "CdtDbtInd must be CRDT or DBIT"),
        (_entry(8).replace("<Dt>2026-03-16</Dt>", "<Dt>16.03.2026</Dt>"), "not an ISO 8601 date"),
        (_entry(8).replace("<BookgDt><Dt>2026-03-16</Dt></BookgDt>", ""), "must have a booking date"),
        (_entry(8).replace("<Sts><Cd>BOOK</Cd></Sts>", ""), "no status"),
    ],
)
def test_bad_entry_is_reported_with_its_line_and_nothing_imported(entry: str, message: str) -> None:
    good_then_bad = _entry(8, ref="GOOD") + entry
    report = parse_camt053(camt053(8, good_then_bad).encode())
    assert report.entries == ()
    assert any(message in error.message for error in report.errors), _errors(report)
    bad = next(error for error in report.errors if message in error.message)
    assert bad.line is not None and bad.line > 10 and bad.entry == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (camt053(8).encode()[:900], "not well-formed XML"),
        (b"", "empty"),
        (camt053(8, iban="IT60X0542811101000000123457").encode(), "not a valid IBAN"),
        (camt053(8).replace("camt.053.001.08", "camt.052.001.08").encode(), "not a camt.053 statement"),
        (camt053(8).replace("camt.053.001.08", "camt.053.001.09").encode(), "not a camt.053 statement"),
        (b'<?xml version="1.0"?><Document/>', "in no namespace"),
        # Declared UTF-8, written in Latin-1: the accented letter is not UTF-8.
        (camt053(8).encode("latin-1"), "not well-formed XML"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&lol2;</Document>',
            "DOCTYPE",
        ),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&x;</Document>',
            "DOCTYPE",
        ),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&undefined;</Document>',
            "not well-formed XML",
        ),
        (b"<a>" * 100 + b"</a>" * 100, "nested more than 32"),
    ],
)
def test_hostile_or_broken_camt_files(data: bytes, message: str) -> None:
    report = parse_camt053(data)
    assert report.entries == ()
    assert report.errors and message in report.errors[0].message, _errors(report)


def test_truncated_file_names_the_line() -> None:
    data = camt053(8).encode()
    report = parse_camt053(data[: len(data) // 2])
    assert report.errors[0].line is not None and report.errors[0].line > 1


def test_other_encodings_are_read_when_declared() -> None:
    text = camt053(8, encoding="UTF-16")
    report = parse_camt053(text.encode("utf-16"))
    assert report.ok, _errors(report)
    latin = camt053(8, encoding="ISO-8859-1").encode("latin-1")
    assert parse_camt053(latin).ok


def test_size_limit() -> None:
    report = parse_camt053(camt053(8).encode(), max_bytes=1000)
    assert "over the limit of 1,000 bytes" in report.errors[0].message


def test_iban_check_digits() -> None:
    assert (
        iban_is_valid(IBAN)
        and iban_is_valid("EE382200221020145685")
        and iban_is_valid("HU42117730161111101800000000")
    )
    assert not iban_is_valid("EE382200221020145686") and not iban_is_valid("it60x0542811101000000123456")


MT940 = """{1:F01DEMOITMMAXXX0000000000}{2:I940DEMOITMMXXXXN}{4:
:20:STMT20260316
:25:IT60X0542811101000000123456
:28C:75/1
:60F:C260315EUR10000,00
:61:2603140316C45,50NTRFNONREF//2026031400001
:86:166?00SEPA CREDIT TRANSFER?20EREF+TESSERA-R-000042?21SVWZ+Ricevuta DEMO-2026-000042
:61:2603140316C1200,00NTRFPAYOUT//2026031400002
:86:STRIPE PAYOUT po_1QpAYOUT
:61:2603160316D12,30NCHGNONREF//2026031400003
:86:Commissioni bancarie
:61:2603160316RC5,00NTRFNONREF//2026031400004
:86:Storno
:62F:C260316EUR11228,20
-}
"""


def test_mt940_statement() -> None:
    report = parse_mt940(MT940.encode())
    assert report.ok, _errors(report)
    assert report.format is StatementFormat.MT940
    first, payout, fee, storno = report.entries
    assert (first.account_iban, first.amount_minor, first.currency) == (IBAN, 4550, "EUR")
    assert (first.value_date, first.booking_date) == (date(2026, 3, 14), date(2026, 3, 16))
    assert first.direction is CreditDebit.CREDIT and first.end_to_end_id == "TESSERA-R-000042"
    assert first.bank_reference == "2026031400001" and first.line == 6
    assert first.remittance_information == "Ricevuta DEMO-2026-000042"
    assert payout.amount_minor == 120000 and payout.remittance_information == "STRIPE PAYOUT po_1QpAYOUT"
    assert payout.end_to_end_id is None
    assert fee.direction is CreditDebit.DEBIT
    # RC: a credit taken back, money out.
    assert storno.reversal and storno.direction is CreditDebit.DEBIT
    assert parse_statement(MT940.encode()).entries == report.entries


@pytest.mark.parametrize(
    ("mutate", "line", "message"),
    [
        (
            lambda t: t.replace(":61:2603160316D12,30", ":61:26031X0316D12,30"),
            10,
            "field :61: is malformed",
        ),
        (lambda t: t.replace(":25:IT60X0542811101000000123456\n", ""), None, "no :25: field"),
        (lambda t: t.replace("IT60X0542811101000000123456", "12345678/0001"), 3, "is not an IBAN"),
        (lambda t: t.replace(":61:2603140316C45,50", ":61:2603140316C45,505"), 6, "more decimals"),
        (lambda t: t.replace(":60F:C260315EUR", ":60F:C260315EUX"), 6, "not an ISO 4217"),
        (lambda t: t.replace("//2026031400002", "//2026031400001"), 8, "duplicate of entry 1"),
        (lambda t: t.replace(":86:Storno", "Storno stray"), None, None),
        (lambda t: t.replace(":28C:75/1", ":99:what"), 4, "unknown field :99:"),
        (lambda t: t.replace(":61:2603160316D12,30", ":61:2613160316D12,30"), 10, "261316 is not a date"),
        (lambda t: t.replace(":61:2603160316D12,30", ":61:2603161316D12,30"), 10, "entry date 1316"),
        (lambda t: t.replace(":60F:C260315EUR", ":60F:C260230EUR"), 5, "260230 is not a date"),
        (
            lambda t: t.replace(":61:2603160316RC5,00", ":61:2603160316RC1,2,3"),
            12,
            "'1,2,3' is not an amount",
        ),
        (lambda t: t.replace(":62F:C260316EUR11228,20", ":62F:C260316EUR1,,2"), 14, "is not an amount"),
    ],
)
def test_mt940_errors_name_the_line(mutate: object, line: int | None, message: str | None) -> None:
    text = mutate(MT940)  # type: ignore[operator]
    report = parse_mt940(text.encode())
    if message is None:  # a continuation line belongs to the field before it: still valid
        assert report.ok, _errors(report)
        return
    assert report.entries == ()
    matching = [e for e in report.errors if message in e.message]
    assert matching, _errors(report)
    if line is not None:
        assert matching[0].line == line


def test_mt940_wrong_encoding_and_garbage() -> None:
    report = parse_mt940(MT940.replace("Storno", "Rückbuchung").encode("latin-1"))
    assert report.entries == () and report.errors[0].line == 13 and "not utf-8" in report.errors[0].message
    assert parse_mt940(MT940.replace("Storno", "Rückbuchung").encode("latin-1"), encoding="latin-1").ok
    assert "no MT940 statement" in _errors(parse_mt940(b""))[0]
    assert "over the limit" in _errors(parse_mt940(MT940.encode(), max_bytes=10))[0]
    assert "text outside any field" in _errors(parse_mt940(b"hello\n" + MT940.encode()))[0]
    assert "neither" in _errors(parse_statement(b"%PDF-1.7"))[0]
    assert parse_statement(camt053(8).encode()).ok


def test_mutated_files_never_crash_and_never_half_import() -> None:
    rng = random.Random(20260316)
    samples = [camt053(version).encode() for version in (2, 5, 8)] + [MT940.encode()]
    inserts = [b"<", b">", b"&", b":61:", b"\n", b",", b"-", b"<Ntry>", b"</Ntry>", b"9" * 30, b"\x00", b"//"]
    for _ in range(300):
        data = bytearray(rng.choice(samples))
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.3:
                del data[position : position + rng.randint(1, 20)]
            elif choice < 0.6:
                data[position] = rng.randrange(256)
            else:
                data[position:position] = rng.choice(inserts)
        report = parse_statement(bytes(data))
        assert report.ok or report.entries == ()
        assert all(error.message for error in report.errors)
