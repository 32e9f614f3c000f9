"""The validator: bytes in, :class:`ValidationReport` out.

Stages, each reported under its own rule id:

``XML``      hardened parse (size, DOCTYPE, well-formedness, encoding, nesting depth); fatal, stops.
``DOCTYPE``  the root must be a UBL 2.1 Invoice or CreditNote; fatal, stops.
``XSD``      the UBL 2.1 schema of that document type; fatal.
rules        every EN 16931 business rule (``rules.evaluate``), flag as in the CEN/TC 434 artefacts.

The business rules run even when the schema check fails: they never raise on partial
documents, and a schema-invalid document is never valid anyway, so the extra findings only
help the sender. A rule that crashes is a fatal finding (fail closed).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from lxml import etree

from services.invoicing.validation import parser, xsd
from services.invoicing.validation.findings import Finding, Severity, ValidationReport
from services.invoicing.validation.parser import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    Limits,
    WrongDocumentType,
    XmlRejected,
    line_of,
)
from services.invoicing.validation.rules import RuleCrashed, evaluate
from services.invoicing.validation.rules.base import REGISTRY

Element = etree._Element

XML = "XML"
DOCTYPE = "DOCTYPE"
XSD = "XSD"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a client may know of one check: id, flag, the EN 16931 business terms, the message."""

    id: str
    flag: Severity
    terms: tuple[str, ...]
    message: str


ENGINE_CHECKS: tuple[RuleInfo, ...] = (
    RuleInfo(
        XML,
        Severity.FATAL,
        (),
        "The document must be well-formed XML (UTF-8 or UTF-16) without a DOCTYPE, "
        f"at most {DEFAULT_MAX_BYTES // (1024 * 1024)} MB and nested at most {DEFAULT_MAX_DEPTH} levels deep.",
    ),
    RuleInfo(DOCTYPE, Severity.FATAL, (), "The document must be a UBL 2.1 Invoice or CreditNote."),
    RuleInfo(XSD, Severity.FATAL, (), "The document must conform to the OASIS UBL 2.1 schema of its type."),
)


def rule_catalogue() -> tuple[RuleInfo, ...]:
    """Every check the validator runs: the engine's own, then each EN 16931 rule in registry order."""
    return ENGINE_CHECKS + tuple(RuleInfo(r.id, r.severity, r.terms, r.message) for r in REGISTRY.values())


class Locator:
    """Readable XPaths (``/Invoice/cac:InvoiceLine[2]/cac:Item/cbc:Name``) for elements of one document.

    Prefixes are Tessera's (``cbc``, ``cac``, ...), whatever the document declares; the
    document element has none. A step carries its position only among same-named siblings,
    and only when there are several. Positions are computed once per parent, so locating
    every line of a large invoice stays linear.
    """

    __slots__ = ("_positions", "_paths")

    def __init__(self) -> None:
        self._positions: dict[Element, dict[Element, str]] = {}
        self._paths: dict[Element, str] = {}

    @staticmethod
    def name(el: Element) -> str:
        tag = el.tag
        if not isinstance(tag, str):
            return "node()"
        if tag[0] != "{":
            return tag
        uri, _, local = tag[1:].partition("}")
        prefix = xsd.PREFIXES.get(uri)
        if prefix is None:
            return f"Q{{{uri}}}{local}"
        return f"{prefix}:{local}" if prefix else local

    def _step(self, el: Element, parent: Element) -> str:
        steps = self._positions.get(parent)
        if steps is None:
            by_tag: dict[object, list[Element]] = {}
            for child in parent:
                by_tag.setdefault(child.tag, []).append(child)
            steps = {}
            for group in by_tag.values():
                name = self.name(group[0])
                if len(group) == 1:
                    steps[group[0]] = name
                else:
                    for index, child in enumerate(group, start=1):
                        steps[child] = f"{name}[{index}]"
            self._positions[parent] = steps
        return steps.get(el) or self.name(el)

    def path(self, el: Element) -> str:
        known = self._paths.get(el)
        if known is not None:
            return known
        parent = el.getparent()
        result = "/" + self.name(el) if parent is None else self.path(parent) + "/" + self._step(el, parent)
        self._paths[el] = result
        return result


def _rejected(rule: str, message: str, line: int | None) -> ValidationReport:
    return ValidationReport(None, None, (Finding(rule, Severity.FATAL, message, "/", line),))


def too_large(size: int, max_bytes: int = DEFAULT_MAX_BYTES) -> ValidationReport:
    """The report on a document of ``size`` bytes over ``max_bytes``, for callers that never read it."""
    return _rejected(XML, parser.size_message(size, max_bytes), None)


def schema_findings(root: Element, document_type: str, locator: Locator) -> list[Finding]:
    """The ``XSD`` findings of a parsed document of a known type."""
    findings: list[Finding] = []
    for violation in xsd.validate(root, document_type):
        if violation.element is not None:
            location = locator.path(violation.element)
        else:
            location = violation.path.replace("/*", "/" + Locator.name(root), 1)
        findings.append(Finding(XSD, Severity.FATAL, violation.message, location, violation.line))
    return findings


def rule_findings(root: Element, locator: Locator) -> list[Finding]:
    """The findings of every EN 16931 rule on ``root``; a crashed rule is a fatal finding."""
    findings: list[Finding] = []
    for result in evaluate(root):
        if isinstance(result, RuleCrashed):
            findings.append(
                Finding(
                    result.rule_id,
                    Severity.FATAL,
                    f"{result}; the document is not accepted until this rule can be checked.",
                    "/" + Locator.name(root),
                    None,
                )
            )
            continue
        rule, el = result
        if isinstance(el, etree._Element):
            findings.append(Finding(rule.id, rule.severity, rule.message, locator.path(el), line_of(el)))
        else:  # a rule bug (it must yield elements); the finding stands, at the document element
            findings.append(Finding(rule.id, rule.severity, rule.message, "/" + Locator.name(root), None))
    return findings


class _CollectorPause:
    """Python's cyclic garbage collector held off while a validation is running, for callers that
    validate one document after another (the command line, the benchmark), who ask for it with
    ``pause_collector=True``. Long-running services leave it off: there, overlapping validations
    could keep the collector paused for as long as the load lasts.

    The rules' shared views keep one lxml proxy per element and a few containers per line alive
    until the validation ends: hundreds of thousands of objects on a 10,000-line invoice, which
    full collections walk again and again while they pile up (a fifth of the rules' time there).
    They hold no reference cycles and are freed by reference counting when the validation ends,
    so collecting during it finds nothing. The pause is counted across threads and ends with the
    last running validation; a collector that was already off is left off.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0
        self._was_enabled = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._running == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if self._running == 0 and self._was_enabled:
                    gc.enable()


_collector_paused = _CollectorPause()


def validate_tree(root: Element, document_type: str, *, pause_collector: bool = False) -> ValidationReport:
    """Schema and business rules on an already parsed (and type-checked) document."""
    locator = Locator()
    with _collector_paused() if pause_collector else nullcontext():
        findings = schema_findings(root, document_type, locator)
        findings.extend(rule_findings(root, locator))
    return ValidationReport(document_type, parser.customization_id(root), tuple(findings))


def validate(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    pause_collector: bool = False,
) -> ValidationReport:
    """Validate one document's bytes against UBL 2.1 and EN 16931.

    Never raises on bad input: unreadable, hostile or foreign documents come back as a report
    with a fatal ``XML`` or ``DOCTYPE`` finding. Raises
    :class:`~services.common.ubl_schemas.SchemasError` when the UBL schemas are missing or
    altered, since then nothing can be validated.
    """
    try:
        root = parser.parse(data, Limits(max_bytes=max_bytes, max_depth=max_depth))
    except XmlRejected as rejected:
        return _rejected(XML, rejected.message, rejected.line)
    try:
        document_type = parser.document_type(root)
    except WrongDocumentType as wrong:
        return _rejected(DOCTYPE, wrong.message, wrong.line)
    return validate_tree(root, document_type, pause_collector=pause_collector)
