"""UBL 2.1 XSD validation with libxml2 (lxml's ``etree.XMLSchema``).

Each document schema is compiled once per process, on first use, after the schema files have
been checked against the committed manifest (``services.common.ubl_schemas.verify``): a
missing or altered schema raises :class:`~services.common.ubl_schemas.SchemasError` rather
than letting a document through unchecked.

libxml2 names elements as ``{namespace}Name`` and locates them by a path whose steps are
``prefix:Name[n]`` or ``*[n]``; both are turned into Tessera's form here (``cbc:IssueDate``,
the element itself) so that the engine can report a readable location and line.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from lxml import etree

from services.common import ubl_schemas
from services.invoicing.validation.parser import line_of
from services.invoicing.validation.rules.base import CREDIT_NOTE_NS, INVOICE_NS, NS

Element = etree._Element

SCHEMA_FILES: dict[str, str] = {
    "Invoice": "maindoc/UBL-Invoice-2.1.xsd",
    "CreditNote": "maindoc/UBL-CreditNote-2.1.xsd",
    "ApplicationResponse": "maindoc/UBL-ApplicationResponse-2.1.xsd",
}

# Namespace -> prefix used in messages; the document namespaces read best without one.
PREFIXES: dict[str, str] = {INVOICE_NS: "", CREDIT_NOTE_NS: ""}
for _prefix, _uri in NS.items():
    PREFIXES.setdefault(_uri, _prefix)


@dataclass(frozen=True, slots=True)
class SchemaViolation:
    """One libxml2 schema error: readable message, line, and the element when it could be found."""

    message: str
    line: int | None
    element: Element | None
    path: str


class _Compiled:
    """A compiled schema and the lock that serialises its use (its error log is shared state)."""

    __slots__ = ("schema", "lock")

    def __init__(self, schema: etree.XMLSchema) -> None:
        self.schema = schema
        self.lock = threading.Lock()


_load_lock = threading.Lock()
_compiled: dict[tuple[Path, str], _Compiled] = {}
_verified: set[Path] = set()


def _load(document_type: str) -> _Compiled:
    folder = ubl_schemas.schema_dir()
    key = (folder, document_type)
    compiled = _compiled.get(key)
    if compiled is not None:
        return compiled
    with _load_lock:
        compiled = _compiled.get(key)
        if compiled is None:
            if folder not in _verified:
                ubl_schemas.verify(folder)
                _verified.add(folder)
            # The schemas are trusted (checked against the manifest); one of them, the W3C
            # xmldsig schema, declares internal entities, so they are resolved here, but
            # nothing is ever fetched from the network.
            parser = etree.XMLParser(no_network=True, resolve_entities=True, load_dtd=False)
            tree = etree.parse(str(folder / SCHEMA_FILES[document_type]), parser)
            compiled = _compiled[key] = _Compiled(etree.XMLSchema(tree))
    return compiled


def load(document_type: str) -> etree.XMLSchema:
    """The compiled schema of ``document_type`` (``Invoice``, ``CreditNote``, ``ApplicationResponse``)."""
    if document_type not in SCHEMA_FILES:
        raise ValueError(f"no UBL 2.1 schema for document type {document_type!r}")
    return _load(document_type).schema


def forget() -> None:
    """Drop the compiled schemas (for tests that point ``TESSERA_UBL_SCHEMAS`` elsewhere)."""
    with _load_lock:
        _compiled.clear()
        _verified.clear()


_CLARK = re.compile(r"\{([^}]*)\}([\w.\-]+)")


def readable(message: str) -> str:
    """A libxml2 message with ``{namespace}Name`` written as ``prefix:Name``."""

    def name(match: re.Match[str]) -> str:
        prefix = PREFIXES.get(match.group(1))
        if prefix is None:
            return match.group(0)
        return f"{prefix}:{match.group(2)}" if prefix else match.group(2)

    return " ".join(_CLARK.sub(name, message).replace("( ", "(").replace(" )", ")").split())


_STEP = re.compile(r"^(?P<name>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")


def resolve(root: Element, path: str) -> Element | None:
    """The element a libxml2 node path designates (see its ``xmlGetNodePath``), or None.

    Steps are ``prefix:Name[n]`` (the n-th sibling with that prefix and name), ``Name[n]``
    (no namespace) or ``*[n]`` (an element in a default namespace: the n-th element sibling).
    """
    steps = path.split("/")
    if len(steps) < 2 or steps[0] != "":
        return None
    node = root
    for step in steps[2:]:
        match = _STEP.match(step)
        if match is None:
            return None
        name, index = match.group("name"), int(match.group("index") or 1)
        prefix, _, local = name.rpartition(":")
        found = 0
        chosen: Element | None = None
        for child in node.iterchildren(tag=etree.Element):
            if name == "*":
                hit = True
            else:
                qname = etree.QName(child)
                if prefix:
                    hit = qname.localname == local and child.prefix == prefix
                else:
                    hit = qname.localname == local and qname.namespace is None
            if hit:
                found += 1
                if found == index:
                    chosen = child
                    break
        if chosen is None:
            return None
        node = chosen
    return node


# An attached document (BT-125) is xs:base64Binary, and libxml2 takes about 7 ns per character to
# check one (20 ms for a 3 MB PDF, a hundred times the rest of the schema check). Text that is plainly
# valid base64, as encoders write it, is checked here instead and hidden from libxml2 meanwhile;
# anything else (line breaks, stray characters, odd padding) is left to libxml2 and its messages.
ATTACHMENT = f"{{{NS['cbc']}}}EmbeddedDocumentBinaryObject"
SET_ASIDE_FROM = 4096  # characters: below, libxml2 answers in microseconds
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# With padding, the last data character must leave no bits over (the xs:base64Binary grammar).
_BEFORE_PADDING = {1: "AEIMQUYcgkosw048", 2: "AQgw"}


def plain_base64(text: str) -> bool:
    """True when ``text`` is base64 without whitespace or stray characters, in groups of four with
    canonical padding: a valid xs:base64Binary lexical form (libxml2 accepts it)."""
    if len(text) % 4 or not text.isascii():
        return False
    padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
    if text.encode("ascii").translate(None, _BASE64_ALPHABET) != b"=" * padding:
        return False
    return not padding or (len(text) > padding and text[-padding - 1] in _BEFORE_PADDING[padding])


def _set_aside_attachments(root: Element) -> list[tuple[Element, str]]:
    """Empty the large attachments that are plainly valid base64; the caller puts the texts back."""
    set_aside: list[tuple[Element, str]] = []
    for el in root.iter(ATTACHMENT):
        text = el.text
        if text is not None and len(text) >= SET_ASIDE_FROM and len(el) == 0 and plain_base64(text):
            set_aside.append((el, text))
            el.text = ""  # also valid base64: the element keeps its verdict and its attributes are checked
    return set_aside


def validate(root: Element, document_type: str) -> list[SchemaViolation]:
    """Validate the document of ``root`` against the UBL 2.1 schema of its type; [] when valid.

    Large attachments that are plainly valid base64 are emptied during the check and restored
    before returning, so ``root`` is as it was (do not read it from another thread meanwhile).
    """
    if document_type not in SCHEMA_FILES:
        raise ValueError(f"no UBL 2.1 schema for document type {document_type!r}")
    compiled = _load(document_type)
    set_aside = _set_aside_attachments(root)
    try:
        with compiled.lock:
            if compiled.schema.validate(root):
                return []
            log = cast(Iterable[etree._LogEntry], compiled.schema.error_log)
    finally:
        for el, text in set_aside:
            el.text = text
    violations: list[SchemaViolation] = []
    for entry in log:
        element = resolve(root, entry.path) if entry.path else None
        line = entry.line if entry.line > 0 else (line_of(element) if element is not None else None)
        violations.append(SchemaViolation(readable(entry.message), line, element, entry.path or "/"))
    if not violations:  # fail closed: libxml2 said invalid without saying why
        violations.append(
            SchemaViolation("the document does not conform to the UBL 2.1 schema", None, None, "/")
        )
    return violations
