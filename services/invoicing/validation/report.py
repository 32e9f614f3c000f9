"""Renderings of validation reports: one JSON object per file, or text for people.

JSON shape (one object per file, one line each in the command's output)::

    {"file": PATH, "valid": BOOL,
     "findings": [{"rule": ID, "severity": "fatal"|"warning", "location": XPATH, "line": N, "message": TEXT}]}

``line`` is null when the finding has no line (e.g. a document over the size limit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from services.invoicing.validation.findings import Finding, Severity, ValidationReport


def finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "severity": finding.severity.value,
        "location": finding.location,
        "line": finding.line,
        "message": finding.message,
    }


def to_dict(file: str, report: ValidationReport) -> dict[str, Any]:
    """The JSON-ready form of one file's report."""
    return {"file": file, "valid": report.valid, "findings": [finding_dict(f) for f in report.findings]}


def to_json(file: str, report: ValidationReport) -> str:
    """One file's report as a single line of JSON (UTF-8 text kept as is)."""
    return json.dumps(to_dict(file, report), ensure_ascii=False)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def to_text(file: str, report: ValidationReport) -> str:
    """One file's verdict, then each finding: severity, rule, line, location, and the message below."""
    fatal, warnings = len(report.fatal), len(report.warnings)
    counts = [_plural(n, word) for n, word in ((fatal, "fatal finding"), (warnings, "warning")) if n]
    verdict = "valid" if report.valid else "INVALID"
    lines = [f"{file}: {verdict}" + (f" ({', '.join(counts)})" if counts else "")]
    for finding in report.findings:
        where = f"line {finding.line}" if finding.line is not None else "no line"
        lines.append(f"  {finding.severity.value:<8} {finding.rule:<11} {where:<11} {finding.location}")
        lines.append(f"  {'':<8} {finding.message}")
    return "\n".join(lines)


@dataclass(slots=True)
class Tally:
    """Running counts over many files, for the summary line."""

    files: int = 0
    invalid: int = 0
    fatal: int = 0
    warnings: int = 0
    unreadable: int = 0

    def add(self, report: ValidationReport) -> None:
        self.files += 1
        self.invalid += not report.valid
        for finding in report.findings:
            if finding.severity is Severity.FATAL:
                self.fatal += 1
            else:
                self.warnings += 1

    def summary(self) -> str:
        """``3 files: 2 valid, 1 invalid; 4 fatal findings, 1 warning`` (and unreadable files, if any)."""
        text = (
            f"{_plural(self.files, 'file')}: {self.files - self.invalid} valid, {self.invalid} invalid; "
            f"{_plural(self.fatal, 'fatal finding')}, {_plural(self.warnings, 'warning')}"
        )
        if self.unreadable:
            text += f"; {self.unreadable} could not be read"
        return text
