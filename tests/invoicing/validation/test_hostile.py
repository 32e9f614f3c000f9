"""Hostile and broken inputs: each becomes one fatal ``XML`` finding, fast, without touching anything.

Every case runs twice: through ``validate`` (DOCTYPE refused before libxml2 sees it), and with
that first check switched off, to show that the libxml2 configuration alone (no entity
expansion, no DTD, no network) still stops it in bounded time and memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from services.invoicing.validation import Severity, validate
from services.invoicing.validation import parser as parser_module
from tests.invoicing.validation.support import PeakMemory, require_schemas

INVOICE_OPEN = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
SECRET = "tessera-hostile-test-secret"

# Generous bounds: each case takes well under 100 ms and a few MB when all is well.
SECONDS = 2.0
MEGABYTES = 150


def billion_laughs() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">']
    entities += [b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10) for i in range(1, 10)]
    return (
        b"<?xml version='1.0'?><!DOCTYPE Invoice ["
        + b"".join(entities)
        + b"]>"
        + INVOICE_OPEN
        + b"&lol9;</Invoice>"
    )


def parameter_laughs() -> bytes:
    entities = [b"<!ENTITY % q0 'lol'>"]
    entities += [b'<!ENTITY %% q%d "%s">' % (i, b"%%q%d;" % (i - 1) * 10) for i in range(1, 10)]
    return b"<!DOCTYPE Invoice [" + b"".join(entities) + b"%q9;]>" + INVOICE_OPEN + b"</Invoice>"


def quadratic_blowup() -> bytes:
    return (
        b'<!DOCTYPE Invoice [<!ENTITY a "'
        + b"x" * 100_000
        + b'">]>'
        + INVOICE_OPEN
        + b"<x>"
        + b"&a;" * 100_000
        + b"</x></Invoice>"
    )


def external_entity(secret_file: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file://'
        + str(secret_file).encode()
        + b'">]>\n'
        + INVOICE_OPEN
        + b"<x>&xxe;</x></Invoice>"
    )


def external_parameter_entity(secret_file: Path) -> bytes:
    return (
        b'<!DOCTYPE Invoice [<!ENTITY % ext SYSTEM "file://'
        + str(secret_file).encode()
        + b'"> %ext;]>'
        + INVOICE_OPEN
        + b"</Invoice>"
    )


def external_dtd(secret_file: Path) -> bytes:
    return (
        b'<!DOCTYPE Invoice SYSTEM "file://'
        + str(secret_file).encode()
        + b'">'
        + INVOICE_OPEN
        + b"</Invoice>"
    )


def remote_dtd() -> bytes:
    return (
        b'<!DOCTYPE Invoice PUBLIC "-//X//Y//EN" "http://127.0.0.1:9/x.dtd">' + INVOICE_OPEN + b"</Invoice>"
    )


DOCTYPE_ATTACKS: dict[str, Callable[[Path], bytes]] = {
    "billion-laughs": lambda _: billion_laughs(),
    "parameter-entity-laughs": lambda _: parameter_laughs(),
    "quadratic-blowup": lambda _: quadratic_blowup(),
    "xxe-file": external_entity,
    "xxe-parameter-entity": external_parameter_entity,
    "external-dtd": external_dtd,
    "remote-dtd": lambda _: remote_dtd(),
    "utf16-doctype": lambda _: ("<!DOCTYPE Invoice []>" + INVOICE_OPEN.decode() + "</Invoice>").encode(
        "utf-16"
    ),
}

BROKEN: dict[str, tuple[bytes, str]] = {
    "deep-nesting": (INVOICE_OPEN + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</Invoice>", "nested more than"),
    "moderate-nesting": (INVOICE_OPEN + b"<a>" * 100 + b"</a>" * 100 + b"</Invoice>", "nested more than 64"),
    "invalid-utf8": (
        b'<?xml version="1.0" encoding="UTF-8"?>' + INVOICE_OPEN + b"\xff\xfe\xc3(</Invoice>",
        "encoding",
    ),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "not well-formed"),
    "json": (b'{"invoice": 1}', "not well-formed"),
    "binary": (bytes(range(256)) * 4, "not well-formed"),
    "empty": (b"", "empty"),
    "blank": (b" \n\t ", "empty"),
    "truncated": (INVOICE_OPEN + b"<cbc:ID", "not well-formed"),
    "undefined-entity": (INVOICE_OPEN + b"&nbsp;</Invoice>", "not well-formed"),
    "two-roots": (INVOICE_OPEN + b"</Invoice><Invoice/>", "not well-formed"),
    "huge-text-node": (INVOICE_OPEN + b"<x>" + b"a" * 11_000_000 + b"</x></Invoice>", "not well-formed"),
}


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


def assert_one_xml_finding(data: bytes, expected: str, **limits: int) -> None:
    with PeakMemory() as memory:
        started = time.perf_counter()
        report = validate(data, **limits)
        elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"took {elapsed:.2f}s"
    assert memory.megabytes < MEGABYTES, f"peak memory grew by {memory.megabytes:.0f} MB"
    assert not report.valid
    assert [(f.rule, f.severity) for f in report.findings] == [("XML", Severity.FATAL)]
    assert expected in report.findings[0].message
    assert SECRET not in repr(report)
    assert report.document_type is None


@pytest.mark.parametrize("attack", DOCTYPE_ATTACKS.values(), ids=DOCTYPE_ATTACKS.keys())
def test_doctype_attacks_are_refused_before_parsing(
    attack: Callable[[Path], bytes], secret_file: Path
) -> None:
    assert_one_xml_finding(attack(secret_file), "DOCTYPE declaration is not allowed")


@pytest.mark.parametrize("attack", DOCTYPE_ATTACKS.values(), ids=DOCTYPE_ATTACKS.keys())
def test_doctype_attacks_are_harmless_even_to_the_bare_parser(
    attack: Callable[[Path], bytes], secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parser_module, "refuse_doctype", lambda data: None)
    data = attack(secret_file)
    with PeakMemory() as memory:
        started = time.perf_counter()
        report = validate(data)
        elapsed = time.perf_counter() - started
    assert elapsed < SECONDS, f"took {elapsed:.2f}s"
    assert memory.megabytes < MEGABYTES, f"peak memory grew by {memory.megabytes:.0f} MB"
    assert [f.rule for f in report.findings] == ["XML"]
    assert SECRET not in repr(report)


@pytest.mark.parametrize(("data", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_input_is_one_clear_xml_finding(data: bytes, expected: str) -> None:
    assert_one_xml_finding(data, expected)


def test_oversized_input_is_refused_without_parsing() -> None:
    data = INVOICE_OPEN + b"<x>" + b"a" * (21 * 1024 * 1024) + b"</x></Invoice>"
    assert_one_xml_finding(data, "over the limit of 20,971,520 bytes")
    assert_one_xml_finding(INVOICE_OPEN + b"</Invoice>", "over the limit of 10 bytes", max_bytes=10)


def test_xinclude_is_never_processed(secret_file: Path) -> None:
    require_schemas()
    data = (
        INVOICE_OPEN
        + b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="'
        + str(secret_file).encode()
        + b'" parse="text"/></Invoice>'
    )
    report = validate(data)
    assert not report.valid
    assert SECRET not in repr(report)
    assert any(f.rule == "XSD" and "XInclude" in f.message for f in report.findings)


def test_the_memory_probe_is_not_blind() -> None:
    with PeakMemory() as memory:
        block = bytearray(MEGABYTES * 2 * 1024 * 1024)
        block[::4096] = b"x" * len(block[::4096])  # touch every page so that it is resident
        del block
    assert memory.megabytes > MEGABYTES
