"""Bank statements read for reconciliation: ISO 20022 camt.053 XML and, as a fallback, SWIFT MT940.

Finance officers upload these files, so they are untrusted. Both readers turn a file into frozen
:class:`StatementEntry` records plus a list of :class:`StatementError`, each naming the line (and
the entry, once one is known) at fault. The result is all or nothing: a file with any error
yields its errors and *no* entries, so the service imports nothing from it.

XML goes through the hardened parser Tessera uses for invoices (size limit, no DTD, no entity,
no network, bounded depth). MT940 text is decoded strictly, split into fields with their line
numbers, each field checked against the ``mt-940`` package's patterns, and only then handed to
that package for reading.

- camt.053 (BankToCustomerStatement), versions 001.02 to 001.08:
  https://www.iso20022.org/iso-20022-message-definitions (Cash Management)
- MT940 field layout: SWIFT MT 940 Customer Statement Message (fields 20, 25, 28C, 60a, 61, 86, 62a)
- IBAN check digits: ISO 13616 (mod 97-10, ISO 7064)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import mt940.models
import mt940.tags
from lxml import etree

from services.common.xmlsafe import Limits, XmlRejected, line_of, parse
from services.receipts.document import currency_digits, is_currency

Element = etree._Element

MAX_STATEMENT_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 100_000
# A statement report this long is already unreadable; the count of the rest is given instead.
MAX_ERRORS = 200

CAMT053_NAMESPACES: dict[str, str] = {
    f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version:02d}": f"001.{version:02d}"
    for version in range(2, 9)
}


class StatementFormat(StrEnum):
    CAMT053 = "camt.053"
    MT940 = "mt940"


class CreditDebit(StrEnum):
    CREDIT = "CRDT"
    DEBIT = "DBIT"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One booked movement on the account. ``amount_minor`` is positive; ``direction`` says which
    way it went (a reversal is reported in the direction the money actually moved)."""

    account_iban: str
    statement_id: str
    booking_date: date
    value_date: date | None
    amount_minor: int
    currency: str
    direction: CreditDebit
    reversal: bool
    end_to_end_id: str | None
    remittance_information: str | None
    bank_reference: str | None
    entry_index: int
    line: int | None


@dataclass(frozen=True, slots=True)
class StatementError:
    line: int | None
    entry: int | None
    message: str

    def describe(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.entry is not None:
            where.append(f"entry {self.entry}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True, slots=True)
class StatementReport:
    """What a file holds: its entries when ``errors`` is empty, otherwise no entries at all.
    ``skipped`` counts entries not booked yet (pending or informational), which are not imported."""

    format: StatementFormat | None
    entries: tuple[StatementEntry, ...]
    errors: tuple[StatementError, ...]
    skipped: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Collector:
    errors: list[StatementError] = field(default_factory=list)
    dropped: int = 0

    def add(self, line: int | None, message: str, entry: int | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(StatementError(line, entry, message))
        else:
            self.dropped += 1

    def report(
        self, fmt: StatementFormat | None, entries: list[StatementEntry], skipped: int
    ) -> StatementReport:
        errors = list(self.errors)
        if self.dropped:
            errors.append(StatementError(None, None, f"{self.dropped} further errors not listed"))
        if errors:
            return StatementReport(fmt, (), tuple(errors), skipped)
        return StatementReport(fmt, tuple(entries), (), skipped)


def iban_is_valid(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _minor_units(text: str, currency: str) -> int:
    """A decimal amount in minor units; ValueError with the reason when it is not one."""
    if not is_currency(currency):
        raise ValueError(f"{currency!r} is not an ISO 4217 currency")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"the amount {text} must be positive")
    minor = value.scaleb(currency_digits(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{text} has more decimals than {currency} allows ({currency_digits(currency)})")
    return int(minor)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    collapsed = " ".join(text.split())
    return collapsed or None


def _duplicates(entries: list[StatementEntry], collector: _Collector) -> None:
    """The same movement twice in one file: same bank reference, or (without one) same end-to-end id,
    date, amount and direction. Entries with neither cannot be told from genuine repeats."""
    seen: dict[tuple[Any, ...], StatementEntry] = {}
    for entry in entries:
        if entry.bank_reference:
            key: tuple[Any, ...] = ("ref", entry.account_iban, entry.bank_reference)
        elif entry.end_to_end_id and entry.end_to_end_id != "NOTPROVIDED":
            key = ("e2e", entry.account_iban, entry.end_to_end_id, entry.booking_date, entry.amount_minor,
                   entry.direction)  # fmt: skip
        else:
            continue
        first = seen.setdefault(key, entry)
        if first is not entry:
            collector.add(
                entry.line,
                f"duplicate of entry {first.entry_index} (line {first.line}): same "
                + ("bank reference " + repr(entry.bank_reference) if key[0] == "ref" else "end-to-end id"),
                entry.entry_index,
            )


# ---- camt.053 ----------------------------------------------------------------------------------


class _Camt:
    def __init__(self, namespace: str) -> None:
        self.ns = {"c": namespace}

    def find(self, el: Element, path: str) -> Element | None:
        return el.find(path, self.ns)

    def text(self, el: Element, path: str) -> str | None:
        found = el.findtext(path, namespaces=self.ns)
        return found.strip() if found is not None and found.strip() else None

    def all(self, el: Element, path: str) -> list[Element]:
        return el.findall(path, self.ns)

    def day(self, el: Element, path: str) -> date | None:
        """A ``Dt`` or the date part of a ``DtTm`` (the bank's local date) under ``path``."""
        holder = self.find(el, path)
        if holder is None:
            return None
        plain, stamped = self.text(holder, "c:Dt"), self.text(holder, "c:DtTm")
        if plain is not None:
            return (
                date.fromisoformat(plain) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", plain) else _bad_date(plain)
            )
        if stamped is not None:
            try:
                return datetime.fromisoformat(stamped).date()
            except ValueError:
                return _bad_date(stamped)
        raise ValueError(f"{etree.QName(holder).localname} has neither Dt nor DtTm")


def _bad_date(text: str) -> date:
    raise ValueError(f"{text!r} is not an ISO 8601 date")


def _camt_entries(root: Element, namespace: str, collector: _Collector) -> tuple[list[StatementEntry], int]:
    camt = _Camt(namespace)
    entries: list[StatementEntry] = []
    skipped = 0
    statements = camt.all(root, "c:BkToCstmrStmt/c:Stmt")
    if not statements:
        collector.add(line_of(root), "the file holds no statement (BkToCstmrStmt/Stmt)")
    for stmt in statements:
        statement_id = camt.text(stmt, "c:Id") or ""
        iban = camt.text(stmt, "c:Acct/c:Id/c:IBAN")
        if iban is None:
            collector.add(
                line_of(stmt), f"statement {statement_id!r}: the account has no IBAN (Acct/Id/IBAN)"
            )
            continue
        iban = iban.replace(" ", "").upper()
        if not iban_is_valid(iban):
            collector.add(line_of(stmt), f"statement {statement_id!r}: {iban} is not a valid IBAN")
            continue
        if not statement_id:
            collector.add(line_of(stmt), "the statement has no Id")
        for ntry in camt.all(stmt, "c:Ntry"):
            if len(entries) + skipped >= MAX_ENTRIES:
                collector.add(line_of(ntry), f"more than {MAX_ENTRIES:,} entries in one file")
                return entries, skipped
            status_el = camt.find(ntry, "c:Sts")
            status = None
            if status_el is not None:
                # Sts is a plain code up to 001.05 and a choice with Cd from 001.06 on.
                status = camt.text(status_el, "c:Cd") or (status_el.text or "").strip() or None
            if status is None:
                collector.add(line_of(ntry), "the entry has no status (Sts)", len(entries) + 1)
                continue
            if status != "BOOK":
                skipped += 1
                continue
            entries.extend(_camt_entry(camt, ntry, iban, statement_id, len(entries) + 1, collector))
    return entries, skipped


def _camt_entry(
    camt: _Camt, ntry: Element, iban: str, statement_id: str, first_index: int, collector: _Collector
) -> Iterator[StatementEntry]:
    line = line_of(ntry)
    problems: list[str] = []
    amount_el = camt.find(ntry, "c:Amt")
    currency = amount_el.get("Ccy", "") if amount_el is not None else ""
    amount_minor = 0
    if amount_el is None:
        problems.append("the entry has no amount (Amt)")
    else:
        try:
            amount_minor = _minor_units((amount_el.text or "").strip(), currency)
        except ValueError as error:
            problems.append(f"Amt: {error}")
    indicator = camt.text(ntry, "c:CdtDbtInd")
    if indicator not in {"CRDT", "DBIT"}:
        problems.append(f"CdtDbtInd must be CRDT or DBIT, not {indicator!r}")
    reversal_text = camt.text(ntry, "c:RvslInd")
    if reversal_text not in {None, "true", "false", "1", "0"}:
        problems.append(f"RvslInd must be true or false, not {reversal_text!r}")
    reversal = reversal_text in {"true", "1"}
    booking: date | None = None
    value: date | None = None
    try:
        booking = camt.day(ntry, "c:BookgDt")
        value = camt.day(ntry, "c:ValDt")
    except ValueError as error:
        problems.append(str(error))
    if booking is None and not problems:
        problems.append("a booked entry must have a booking date (BookgDt)")
    if problems:
        for problem in problems:
            collector.add(line, problem, first_index)
        return
    assert booking is not None and indicator is not None
    direction = CreditDebit(indicator)
    entry_reference = camt.text(ntry, "c:AcctSvcrRef")
    entry_information = _clean(camt.text(ntry, "c:AddtlNtryInf"))
    details = camt.all(ntry, "c:NtryDtls/c:TxDtls")

    def make(
        index: int, tx_line: int | None, amount: int, tx: Element | None, reference: str | None
    ) -> StatementEntry:
        remittance = None
        end_to_end = None
        if tx is not None:
            end_to_end = camt.text(tx, "c:Refs/c:EndToEndId")
            parts = [camt.text(u, ".") for u in camt.all(tx, "c:RmtInf/c:Ustrd")]
            parts += [camt.text(r, ".") for r in camt.all(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")]
            remittance = _clean(" ".join(part for part in parts if part))
        return StatementEntry(
            account_iban=iban,
            statement_id=statement_id,
            booking_date=booking,
            value_date=value,
            amount_minor=amount,
            currency=currency,
            direction=direction,
            reversal=reversal,
            end_to_end_id=end_to_end,
            remittance_information=remittance or entry_information,
            bank_reference=reference,
            entry_index=index,
            line=tx_line,
        )

    if len(details) <= 1:
        yield make(first_index, line, amount_minor, details[0] if details else None, entry_reference)
        return
    # A batch booking: one entry per transaction, whose amounts must add up to the booked one.
    made: list[StatementEntry] = []
    for offset, tx in enumerate(details):
        tx_amount_el = camt.find(tx, "c:Amt")
        if tx_amount_el is None:
            tx_amount_el = camt.find(tx, "c:AmtDtls/c:TxAmt/c:Amt")
        if tx_amount_el is None:
            collector.add(line_of(tx), "a transaction of a batch entry has no amount", first_index + offset)
            continue
        if tx_amount_el.get("Ccy") != currency:
            collector.add(
                line_of(tx),
                f"transaction in {tx_amount_el.get('Ccy')!r}, entry in {currency}",
                first_index + offset,
            )
            continue
        try:
            tx_amount = _minor_units((tx_amount_el.text or "").strip(), currency)
        except ValueError as error:
            collector.add(line_of(tx), f"Amt: {error}", first_index + offset)
            continue
        reference = camt.text(tx, "c:Refs/c:AcctSvcrRef") or (
            f"{entry_reference}/{offset + 1}" if entry_reference else None
        )
        made.append(make(first_index + offset, line_of(tx), tx_amount, tx, reference))
    if len(made) == len(details) and sum(e.amount_minor for e in made) != amount_minor:
        collector.add(
            line,
            f"the transactions of this batch add up to {sum(e.amount_minor for e in made)} minor units, "
            f"not the entry's {amount_minor}",
            first_index,
        )
        return
    yield from made


def parse_camt053(data: bytes, *, max_bytes: int = MAX_STATEMENT_BYTES) -> StatementReport:
    collector = _Collector()
    try:
        root = parse(data, Limits(max_bytes=max_bytes, max_depth=32))
    except XmlRejected as rejected:
        collector.add(rejected.line, rejected.message)
        return collector.report(StatementFormat.CAMT053, [], 0)
    qname = etree.QName(root)
    if qname.localname != "Document" or qname.namespace not in CAMT053_NAMESPACES:
        collector.add(
            line_of(root),
            f"not a camt.053 statement: the root is {qname.localname} in "
            f"{qname.namespace or 'no namespace'}; Tessera reads camt.053.001.02 to camt.053.001.08",
        )
        return collector.report(StatementFormat.CAMT053, [], 0)
    entries, skipped = _camt_entries(root, qname.namespace, collector)
    _duplicates(entries, collector)
    return collector.report(StatementFormat.CAMT053, entries, skipped)


# ---- MT940 -------------------------------------------------------------------------------------

_FIELD_START = re.compile(r":(?P<tag>[0-9]{2}[A-Z]?|NS):")
_TAGS: dict[str, mt940.tags.Tag] = {
    "20": mt940.tags.TransactionReferenceNumber(),
    "21": mt940.tags.RelatedReference(),
    "25": mt940.tags.AccountIdentification(),
    "28C": mt940.tags.StatementNumber(),
    "60F": mt940.tags.FinalOpeningBalance(),
    "60M": mt940.tags.IntermediateOpeningBalance(),
    "61": mt940.tags.Statement(),
    "86": mt940.tags.TransactionDetails(),
    "62F": mt940.tags.FinalClosingBalance(),
    "62M": mt940.tags.IntermediateClosingBalance(),
    "64": mt940.tags.AvailableBalance(),
    "65": mt940.tags.ForwardAvailableBalance(),
}
_REQUIRED = ("20", "25", "28C", "60", "62")
# SWIFT allows 65 characters a line; banks that write :86: on one line stay far below this.
MT940_MAX_LINE = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MT940_AMOUNT = re.compile(r"[0-9]{1,14},[0-9]{0,3}|[0-9]{1,15}")
_EREF = re.compile(r"(?:EREF\+|/EREF/)\s*([^/?\s][^/?\n]*)")
_IBAN_IN = re.compile(r"\b([A-Z]{2}[0-9]{2}[A-Z0-9]{11,30})\b")


@dataclass
class _Field:
    tag: str
    line: int
    parts: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.parts)


def _mt940_fields(text: str, collector: _Collector) -> list[list[_Field]]:
    """The statements of the file (split at each :20:), as fields with the line they start on."""
    statements: list[list[_Field]] = []
    current: _Field | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").rstrip()
        if len(line) > MT940_MAX_LINE:
            collector.add(number, f"the line is {len(line):,} characters long; MT940 lines are at most 65")
            continue
        control = _CONTROL.search(line)
        if control is not None:
            # SWIFT's character set has no control characters; a NUL cannot even be stored in PostgreSQL.
            collector.add(number, f"control character U+{ord(control.group()):04X} in the text")
            continue
        match = _FIELD_START.match(line)
        if match:
            tag = match.group("tag")
            current = _Field(tag, number, [line[match.end() :]])
            if tag == "20" or not statements:
                statements.append([])
            statements[-1].append(current)
        elif line in {"", "-", "-}"} or (current is None and line.startswith("{")):
            # Blank lines, statement separators and the SWIFT block headers carry no data.
            if line in {"-", "-}"}:
                current = None
        elif current is None:
            collector.add(number, f"text outside any field: {line[:40]!r}")
        else:
            current.parts.append(line)
    return statements


def _mt940_date_problem(values: dict[str, str | None]) -> str | None:
    year, month, day = values.get("year"), values.get("month"), values.get("day")
    if year and month and day:
        try:
            date(2000 + int(year), int(month), int(day))
        except ValueError:
            return f"{year}{month}{day} is not a date (YYMMDD)"
    entry_month, entry_day = values.get("entry_month"), values.get("entry_day")
    if entry_month and entry_day and entry_month.strip() and entry_day.strip():
        try:
            date(2000, int(entry_month), int(entry_day))  # a leap year: 29 February is a day
        except ValueError:
            return f"entry date {entry_month}{entry_day} is not a date (MMDD)"
    return None


def _check_mt940_statement(fields: list[_Field], collector: _Collector) -> bool:
    tags = {f.tag[:2] if f.tag[:2] in {"60", "62"} else f.tag for f in fields}
    ok = True
    for required in _REQUIRED:
        if required not in tags:
            collector.add(fields[0].line, f"the statement has no :{required}: field")
            ok = False
    for fld in fields:
        tag = _TAGS.get(fld.tag)
        if tag is None:
            collector.add(fld.line, f"unknown field :{fld.tag}:")
            ok = False
            continue
        try:
            values = tag.parse(mt940.models.Transactions(), fld.text)
        except RuntimeError:
            collector.add(fld.line, f"field :{fld.tag}: is malformed: {fld.text[:60]!r}")
            ok = False
            continue
        # The package's patterns take any run of digits and commas as an amount, any six digits as a date.
        amount = values.get("amount")
        if amount is not None and not _MT940_AMOUNT.fullmatch(amount):
            collector.add(fld.line, f"field :{fld.tag}: {amount[:20]!r} is not an amount (digits, one comma)")
            ok = False
        problem = _mt940_date_problem(values)
        if problem is not None:
            collector.add(fld.line, f"field :{fld.tag}: {problem}")
            ok = False
    statement_lines = sum(1 for f in fields if f.tag == "61")
    if statement_lines > MAX_ENTRIES:
        collector.add(fields[0].line, f"more than {MAX_ENTRIES:,} entries in one statement")
        ok = False
    return ok


def _mt940_iban(account: str) -> str | None:
    compact = account.replace(" ", "").upper()
    candidates: list[str] = [compact, *compact.split("/"), *_IBAN_IN.findall(compact)]
    for candidate in candidates:
        if iban_is_valid(candidate):
            return candidate
    return None


def _mt940_statement(fields: list[_Field], collector: _Collector, entries: list[StatementEntry]) -> None:
    block = "\n".join(f":{f.tag}:{f.text}" for f in fields)
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(block)
    except (RuntimeError, ValueError, InvalidOperation) as error:
        reason = (
            str(error.args[0])
            if error.args and not isinstance(error, InvalidOperation)
            else type(error).__name__
        )
        collector.add(fields[0].line, f"the statement cannot be read: {reason}")
        return
    # Read from the field itself: the package cuts the account at 35 characters.
    account = next(f.text for f in fields if f.tag == "25").strip()
    statement_id = str(transactions.data.get("transaction_reference") or "")
    iban = _mt940_iban(account)
    if iban is None:
        collector.add(
            next(f.line for f in fields if f.tag == "25"), f"the account {account!r} is not an IBAN"
        )
        return
    lines = [f.line for f in fields if f.tag == "61"]
    if len(lines) != len(transactions.transactions):
        collector.add(fields[0].line, "the statement lines (:61:) could not be told apart")
        return
    for line, transaction in zip(lines, transactions.transactions, strict=True):
        index = len(entries) + 1
        data = transaction.data
        currency = str(data.get("currency") or "")
        status = str(data.get("status") or "").upper()
        amount = data.get("amount")
        try:
            if amount is None:
                raise ValueError("no amount")
            amount_minor = _minor_units(str(abs(amount.amount)), currency)
        except ValueError as error:
            collector.add(line, str(error), index)
            continue
        # RC (reversal of a credit) takes money out; RD (reversal of a debit) brings it back.
        direction = CreditDebit.CREDIT if status in {"C", "RD"} else CreditDebit.DEBIT
        # A structured :86: (the German GVC layout with ?20 sub-fields) is split by the package;
        # a free-text one stays whole, and its end-to-end id is looked for in the text.
        details = str(data.get("purpose") or data.get("transaction_details") or "")
        eref_match = _EREF.search(details)
        eref = data.get("end_to_end_reference") or (eref_match.group(1).strip() if eref_match else None)
        value_date = data.get("date")
        entry_date = data.get("entry_date") or value_date
        if entry_date is None:
            collector.add(line, "the statement line has no date", index)
            continue
        bank_reference = _clean(str(data.get("bank_reference") or "")) or None
        entries.append(
            StatementEntry(
                account_iban=iban,
                statement_id=statement_id,
                booking_date=date(entry_date.year, entry_date.month, entry_date.day),
                value_date=date(value_date.year, value_date.month, value_date.day) if value_date else None,
                amount_minor=amount_minor,
                currency=currency,
                direction=direction,
                reversal=status.startswith("R"),
                end_to_end_id=str(eref) if eref else None,
                remittance_information=_clean(details),
                bank_reference=bank_reference if bank_reference != "NONREF" else None,
                entry_index=index,
                line=line,
            )
        )


def parse_mt940(
    data: bytes, *, encoding: str = "utf-8", max_bytes: int = MAX_STATEMENT_BYTES
) -> StatementReport:
    collector = _Collector()
    if len(data) > max_bytes:
        collector.add(None, f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes")
        return collector.report(StatementFormat.MT940, [], 0)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        collector.add(line, f"not {encoding}: byte 0x{data[error.start]:02X} cannot be read")
        return collector.report(StatementFormat.MT940, [], 0)
    text = text.removeprefix("\ufeff")
    statements = _mt940_fields(text, collector)
    if not statements and not collector.errors:
        collector.add(None, "the file holds no MT940 statement")
    entries: list[StatementEntry] = []
    for fields in statements:
        if _check_mt940_statement(fields, collector) and not collector.errors:
            _mt940_statement(fields, collector, entries)
    _duplicates(entries, collector)
    return collector.report(StatementFormat.MT940, entries, 0)


def parse_statement(data: bytes) -> StatementReport:
    """Read a camt.053 or MT940 file, told apart by its first characters."""
    head = data[:64].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if head.startswith(b"<"):
        return parse_camt053(data)
    if head.startswith((b":20:", b"{1:", b":")):
        return parse_mt940(data)
    return StatementReport(
        None, (), (StatementError(1, None, "neither a camt.053 XML statement nor an MT940 file"),)
    )
