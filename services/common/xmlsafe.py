"""Hardened parsing of untrusted XML bytes: invoices from suppliers, bank statements from
officers, sealed files handed in for verification.

Before libxml2 sees the bytes Tessera checks the size, and it refuses any document type
declaration outright: no DTD is loaded, no entity is declared or resolved, nothing is fetched
from the network, XInclude is never processed. What is left (undefined entity references,
malformed or mis-encoded input, absurd nesting) is an error of libxml2 that becomes a
:class:`XmlRejected` with a readable message and a line.

Every limit is checked in time linear in the input: the prolog scan reads each byte of the
prolog at most once, libxml2 parses without entity expansion, the depth check is one XPath
evaluation in C.

- XML security background: https://www.w3.org/TR/xml/#sec-prolog-dtd (where a DOCTYPE may appear)
"""

from __future__ import annotations

import codecs
import re
import threading
from dataclasses import dataclass

from lxml import etree

Element = etree._Element

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
# A UBL invoice nests about 8 levels deep; a signature in ext:UBLExtensions about 20; a bank
# statement (camt.053) about 12.
DEFAULT_MAX_DEPTH = 64
# libxml2's own bounds without XML_PARSE_HUGE (which Tessera never sets): a larger max_depth
# has no effect past this, and no single text node (e.g. an embedded attachment, BT-125) may
# be longer than 10,000,000 characters.
LIBXML2_MAX_DEPTH = 256


class XmlRejected(Exception):
    """The bytes are not a document Tessera will look at; ``message`` says why, ``line`` where."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied to every document; the defaults fit any real invoice with room to spare."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH


_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "ascii"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Without a BOM, the first characters "<?" betray a 16-bit encoding (XML 1.0 appendix F.1).
_SIGNATURES: tuple[tuple[bytes, str], ...] = ((b"<\0?\0", "utf-16-le"), (b"\0<\0?", "utf-16-be"))


def _prolog_encoding(data: bytes) -> tuple[str, int]:
    """The encoding to scan the prolog in (``ascii``: any ASCII-compatible one), and the BOM length."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name, 0
    # Every other encoding libxml2 accepts is ASCII-compatible for the markup of a prolog.
    return "ascii", 0


_PROLOG_TOKEN = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_PROLOG_TOKEN_BYTES = re.compile(rb"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)
_DOCTYPE = "a DOCTYPE declaration is not allowed (no DTD, no entity declarations)"


def refuse_doctype(data: bytes) -> None:
    """Raise :class:`XmlRejected` if the prolog (before the first element) declares a DOCTYPE.

    Only the prolog is read: a DOCTYPE cannot appear after the root element starts, so a
    ``<!DOCTYPE`` inside a comment or CDATA section of the body is left alone.
    """
    encoding, skip = _prolog_encoding(data)
    if encoding == "ascii":
        position = skip
        while (token := _PROLOG_TOKEN_BYTES.match(data, position)) is not None:
            position = token.end()
        if data.startswith(b"<!DOCTYPE", position):
            raise XmlRejected(_DOCTYPE, data.count(b"\n", 0, position) + 1)
        return
    width = 4 if encoding.startswith("utf-32") else 2
    body = data[skip:]
    text = body[: len(body) - len(body) % width].decode(encoding, errors="replace")
    at = 0
    while (match := _PROLOG_TOKEN.match(text, at)) is not None:
        at = match.end()
    if text.startswith("<!DOCTYPE", at):
        raise XmlRejected(_DOCTYPE, text.count("\n", 0, at) + 1)


_local = threading.local()


def _parser() -> etree.XMLParser:
    # lxml parsers keep state between documents: one per thread.
    parser: etree.XMLParser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            load_dtd=False,
            dtd_validation=False,
            no_network=True,
            huge_tree=False,
            collect_ids=False,
            recover=False,
            # Indentation between elements is dropped: a third fewer nodes to build, keep and
            # walk. Text of leaf elements, blank or not, is kept; no EN 16931 rule or XSD check
            # reads the whitespace between elements (the CEN unit cases agree either way).
            remove_blank_text=True,
        )
        _local.parser = parser
    return parser


_DEPTH_CHECKS: dict[int, etree.XPath] = {}


def _deeper_than(root: Element, depth: int) -> bool:
    check = _DEPTH_CHECKS.get(depth)
    if check is None:
        check = _DEPTH_CHECKS[depth] = etree.XPath("boolean(/" + "/".join(["*"] * (depth + 1)) + ")")
    return bool(check(root))


_POSITION = re.compile(r", line (\d+), column (\d+)$")
_HUGE_HINT = re.compile(r",? (?:use|try) XML_PARSE_HUGE(?: option)?")


def _syntax_message(error: etree.XMLSyntaxError, limits: Limits) -> str:
    """libxml2's message in Tessera's words: the line is reported apart, the column kept."""
    message = " ".join((error.msg or str(error)).split())
    if message.startswith("Excessive depth in document"):
        return f"elements are nested more than {min(limits.max_depth, LIBXML2_MAX_DEPTH)} levels deep"
    # libxml2's own limits (without XML_PARSE_HUGE, which Tessera never sets) are the rule here.
    message = _HUGE_HINT.sub("", message)
    position = _POSITION.search(message)
    if position:
        message = f"{message[: position.start()]} (column {position.group(2)})"
    return f"not well-formed XML: {message}"


def line_of(el: Element) -> int | None:
    """The line ``el`` starts on in the source, None when unknown."""
    line: int | None = el.sourceline  # type: ignore[assignment]  # lxml-stubs types it as "..."
    return line


def size_message(size: int, max_bytes: int) -> str:
    return f"the document is {size:,} bytes, over the limit of {max_bytes:,} bytes"


def parse(data: bytes, limits: Limits = Limits()) -> Element:
    """Parse untrusted bytes into the root element, or raise :class:`XmlRejected`."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"parse() takes the document's bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise XmlRejected(size_message(len(data), limits.max_bytes))
    if not data or data.isspace():
        raise XmlRejected("the document is empty")
    refuse_doctype(data)
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line = error.lineno if error.lineno and error.lineno > 0 else None
        raise XmlRejected(_syntax_message(error, limits), line) from None
    if root is None:
        raise XmlRejected("the document has no root element")
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        # Not reachable through refuse_doctype for the encodings it reads; kept for the others.
        raise XmlRejected(_DOCTYPE, 1)
    if _deeper_than(root, limits.max_depth):
        raise XmlRejected(f"elements are nested more than {limits.max_depth} levels deep")
    return root
