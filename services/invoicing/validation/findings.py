"""Result types of the EN 16931 validation: findings and the report that holds them.

Pure data: frozen dataclasses, no I/O. Rendering (JSON, text) lives in ``report.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """The flag of a rule in the CEN/TC 434 artefacts: fatal makes a document non-compliant."""

    FATAL = "fatal"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken rule at one place in the document.

    ``rule`` is the EN 16931 rule id (``BR-CO-10``), or ``XSD`` / ``XML`` / ``DOCTYPE`` for
    problems found before the business rules run.
    """

    rule: str
    severity: Severity
    message: str
    location: str = "/"
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What the validator says of one document: ``valid`` is true when no finding is fatal."""

    document_type: str | None
    customization_id: str | None
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def valid(self) -> bool:
        return not any(f.severity is Severity.FATAL for f in self.findings)

    @property
    def fatal(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.FATAL)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)
