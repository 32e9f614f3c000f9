"""Hostile and malformed inputs, built in code (nothing large is committed).

Each XML case is a :class:`Hostile`: a name, the bytes (or, for the 100 MB body, a generator of
chunks so that neither the test nor the client holds it whole), and whether an honest reader
could also accept it (``benign``: a UTF-16 invoice is odd, not an attack). Network entities point
at ``canary``, a URL on a local socket the tests watch: nothing may ever connect to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from services.invoicing import samples

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
# The seller of services.invoicing.samples.sample_invoice(), which the demo municipality accepts.
SUPPLIER_VAT = "IT01234567890"
NUMBER = b"INV-2026-0001"
IBAN = b"IT60X0542811101000000123456"
HUGE_BYTES = 100 * 1024 * 1024
DEEP_LEVELS = 100_000
CHUNK = 1024 * 1024


def sample_invoice(number: str = NUMBER.decode()) -> bytes:
    """An invoice every door accepts as it is: each hostile case is that plus its one change."""
    return samples.sample_invoice(number=number, lines=3)


def _without_prolog(document: bytes) -> bytes:
    """The document from its root element on (declaration and leading comments dropped)."""
    return document[document.index(b"<Invoice") :]


def _with_note(document: bytes, note: bytes) -> bytes:
    """``document`` with ``note`` placed right after BT-2 (IssueDate), as cbc:Note would go."""
    at = document.index(b"</cbc:IssueDate>") + len(b"</cbc:IssueDate>")
    return document[:at] + b"\n  <cbc:Note>" + note + b"</cbc:Note>" + document[at:]


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[], bytes]
    benign: bool = False
    """An honest document in an unusual form: it may be accepted, never crash."""

    def data(self) -> bytes:
        return self.build()


def xxe_file() -> bytes:
    body = _with_note(_without_prolog(sample_invoice()), b"&xxe;")
    return b'<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + body


def xxe_network(canary: str) -> bytes:
    body = _with_note(_without_prolog(sample_invoice()), b"&xxe;")
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "{canary}/xxe">]>\n'.encode() + body
    )


def parameter_entity(canary: str) -> bytes:
    head = f'<!DOCTYPE Invoice [<!ENTITY % remote SYSTEM "{canary}/pe.dtd"> %remote;]>\n'
    return head.encode() + _without_prolog(sample_invoice())


def external_dtd(canary: str) -> bytes:
    head = f'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "{canary}/invoice.dtd">\n'
    return head.encode() + _without_prolog(sample_invoice())


def billion_laughs() -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    head = "<!DOCTYPE Invoice [" + "".join(entities) + "]>\n"
    return head.encode() + _with_note(_without_prolog(sample_invoice()), b"&lol9;")


def quadratic_blowup() -> bytes:
    # One 50 kB entity referenced 20,000 times: 1 MB sent, 1 GB if expanded.
    head = '<!DOCTYPE Invoice [<!ENTITY a "' + "x" * 50_000 + '">]>\n'
    return head.encode() + _with_note(_without_prolog(sample_invoice()), b"&a;" * 20_000)


def doctype_after_comment() -> bytes:
    """A DOCTYPE hidden behind a comment and a processing instruction in the prolog."""
    head = '<?xml version="1.0"?>\n<!-- hello -->\n<?pi x?>\n<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/hostname">]>\n'
    return head.encode() + _with_note(_without_prolog(sample_invoice()), b"&x;")


def undeclared_entity() -> bytes:
    return _with_note(sample_invoice(), b"&xxe;")


def xinclude(canary: str) -> bytes:
    include = (
        f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{canary}/xinclude" parse="text"/>'
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
    )
    return _with_note(sample_invoice(), include.encode())


def schema_location(canary: str) -> bytes:
    """xsi:schemaLocation pointing at the canary: no validator may fetch it."""
    document = sample_invoice("SCHEMA-LOCATION-1")  # benign: a number of its own
    attribute = f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{INVOICE_NS} {canary}/x.xsd"'
    at = document.index(b"<Invoice") + len(b"<Invoice")
    return document[:at] + attribute.encode() + document[at:]


def deep_nesting() -> bytes:
    return (
        f'<Invoice xmlns="{INVOICE_NS}">'.encode()
        + b"<a>" * DEEP_LEVELS
        + b"</a>" * DEEP_LEVELS
        + b"</Invoice>"
    )


def invalid_utf8() -> bytes:
    return _with_note(sample_invoice(), b"caf\xc3\x28 \xff\xfe")


def utf16_with_bom() -> bytes:
    text = sample_invoice("UTF16-1").decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"', 1)
    return text.encode("utf-16")  # Python writes the BOM first


def utf16_declared_but_utf8() -> bytes:
    return sample_invoice().replace(b'encoding="UTF-8"', b'encoding="UTF-16"', 1)


def wrong_namespace() -> bytes:
    return sample_invoice().replace(
        INVOICE_NS.encode(), b"urn:oasis:names:specification:ubl:schema:xsd:Invoice-3", 1
    )


def not_xml() -> bytes:
    return b"%PDF-1.7\n" + b"\0" * 1000


def empty() -> bytes:
    return b""


def truncated() -> bytes:
    document = sample_invoice()
    return document[: len(document) // 2]


def huge_chunks(size: int = HUGE_BYTES) -> Iterator[bytes]:
    """A well-formed-looking invoice of ``size`` bytes, in 1 MB chunks: a Note of spaces."""
    document = _with_note(sample_invoice(), b"\0")
    head, tail = document.split(b"\0")
    yield head
    left = size - len(head) - len(tail)
    while left > 0:
        step = min(CHUNK, left)
        yield b" " * step
        left -= step
    yield tail


def write_huge(path: Path, size: int = HUGE_BYTES) -> Path:
    with path.open("wb") as out:
        for chunk in huge_chunks(size):
            out.write(chunk)
    return path


def xml_corpus(canary: str) -> list[Hostile]:
    """Every hostile XML document but the 100 MB one (see :func:`huge_chunks`)."""
    return [
        Hostile("xxe-file", xxe_file),
        Hostile("xxe-network", lambda: xxe_network(canary)),
        Hostile("xxe-parameter-entity", lambda: parameter_entity(canary)),
        Hostile("external-dtd", lambda: external_dtd(canary)),
        Hostile("billion-laughs", billion_laughs),
        Hostile("quadratic-blowup", quadratic_blowup),
        Hostile("doctype-behind-comment", doctype_after_comment),
        Hostile("undeclared-entity", undeclared_entity),
        Hostile("xinclude", lambda: xinclude(canary)),
        Hostile("schema-location", lambda: schema_location(canary), benign=True),
        Hostile("nesting-100000", deep_nesting),
        Hostile("invalid-utf8", invalid_utf8),
        Hostile("utf16-bom", utf16_with_bom, benign=True),
        Hostile("utf16-declared-utf8-bytes", utf16_declared_but_utf8),
        Hostile("wrong-namespace", wrong_namespace),
        Hostile("not-xml", not_xml),
        Hostile("empty", empty),
        Hostile("truncated", truncated),
    ]


# ---- sealed invoices: tampering and signature wrapping ----------------------------------------

_PAYABLE = re.compile(rb'(<cbc:PayableAmount currencyID="EUR">)([0-9.]+)(</cbc:PayableAmount>)')


def tampered_amount(sealed: bytes) -> bytes:
    """The sealed copy with BT-115 changed after sealing."""
    return _PAYABLE.sub(rb"\g<1>9302.50\g<3>", sealed, count=1)


def tampered_account(sealed: bytes) -> bytes:
    """The sealed copy paying into another account (BT-84): every total still adds up."""
    return sealed.replace(IBAN, b"IT02L1234512345123456789012", 1)


def wrapped_original(sealed: bytes) -> bytes:
    """Signature wrapping: the signed original moved inside the signature's ds:Object (where a
    naive verifier following an Id reference would find it intact) and an altered copy shown."""
    start = sealed.index(b"<Invoice")
    signed_root = sealed[start:]
    altered = tampered_amount(sealed)
    hidden = b'<ds:Object Id="wrapped">' + signed_root + b"</ds:Object>"
    return altered.replace(b"</ds:Signature>", hidden + b"</ds:Signature>", 1)


def moved_signature(sealed: bytes) -> bytes:
    """The whole signature copied out of UBL's extension into a note of an altered invoice."""
    match = re.search(rb"<ds:Signature\b.*?</ds:Signature>", sealed, re.DOTALL)
    assert match is not None
    altered = tampered_amount(sealed)
    at = altered.index(b"</cbc:IssueDate>") + len(b"</cbc:IssueDate>")
    return altered[:at] + match.group(0) + altered[at:]


def second_reference(sealed: bytes) -> bytes:
    """An extra reference to an element the attacker adds, with the amount altered."""
    extra = (
        b'<ds:Reference URI="#evil"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
        b"<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>"
    )
    altered = tampered_amount(sealed)
    return altered.replace(b"</ds:SignedInfo>", extra + b"</ds:SignedInfo>", 1)


def comment_injected(sealed: bytes) -> bytes:
    """A comment inside the invoice number: canonicalization without comments would not see it."""
    return sealed.replace(NUMBER, NUMBER[:4] + b"<!---->" + NUMBER[4:], 1)


def sealed_corpus(sealed: bytes) -> list[Hostile]:
    return [
        Hostile("sealed-tampered-amount", lambda: tampered_amount(sealed)),
        Hostile("sealed-tampered-account", lambda: tampered_account(sealed)),
        Hostile("sealed-wrapped-original", lambda: wrapped_original(sealed)),
        Hostile("sealed-signature-moved", lambda: moved_signature(sealed)),
        Hostile("sealed-extra-reference", lambda: second_reference(sealed)),
        Hostile("sealed-comment-injected", lambda: comment_injected(sealed)),
    ]
