"""Renderings: the exact JSON shape, the text for people, the summary counts."""

from __future__ import annotations

import json

from services.invoicing.validation import Finding, Severity, ValidationReport
from services.invoicing.validation.report import Tally, to_dict, to_json, to_text

FATAL = Finding("BR-CO-10", Severity.FATAL, "Sums differ (BT-106).", "/Invoice/cac:LegalMonetaryTotal", 91)
WARNING = Finding(
    "UBL-CR-001", Severity.WARNING, "No extensions — “please”.", "/Invoice/ext:UBLExtensions", 3
)
NO_LINE = Finding("XML", Severity.FATAL, "the document is empty", "/", None)

INVALID = ValidationReport("Invoice", "urn:cen.eu:en16931:2017", (FATAL, WARNING))
WARNED = ValidationReport("Invoice", None, (WARNING,))
CLEAN = ValidationReport("CreditNote", None, ())


def test_json_has_exactly_the_documented_shape() -> None:
    assert to_dict("a/b.xml", INVALID) == {
        "file": "a/b.xml",
        "valid": False,
        "findings": [
            {
                "rule": "BR-CO-10",
                "severity": "fatal",
                "location": "/Invoice/cac:LegalMonetaryTotal",
                "line": 91,
                "message": "Sums differ (BT-106).",
            },
            {
                "rule": "UBL-CR-001",
                "severity": "warning",
                "location": "/Invoice/ext:UBLExtensions",
                "line": 3,
                "message": "No extensions — “please”.",
            },
        ],
    }


def test_json_is_one_line_and_keeps_unicode() -> None:
    line = to_json("ünïcode.xml", INVALID)
    assert "\n" not in line
    assert "“please”" in line and "ünïcode.xml" in line
    assert json.loads(line) == to_dict("ünïcode.xml", INVALID)
    assert list(json.loads(line)) == ["file", "valid", "findings"]


def test_json_of_a_finding_without_line_has_null() -> None:
    assert (
        json.loads(to_json("x.xml", ValidationReport(None, None, (NO_LINE,))))["findings"][0]["line"] is None
    )


def test_text_gives_the_verdict_then_each_finding() -> None:
    lines = to_text("in/b.xml", INVALID).splitlines()
    assert lines[0] == "in/b.xml: INVALID (1 fatal finding, 1 warning)"
    assert lines[1].split() == ["fatal", "BR-CO-10", "line", "91", "/Invoice/cac:LegalMonetaryTotal"]
    assert lines[2].strip() == "Sums differ (BT-106)."
    assert lines[3].split()[:2] == ["warning", "UBL-CR-001"]
    assert len(lines) == 5


def test_text_of_valid_documents() -> None:
    assert to_text("ok.xml", CLEAN) == "ok.xml: valid"
    assert to_text("warned.xml", WARNED).splitlines()[0] == "warned.xml: valid (1 warning)"
    assert "no line" in to_text("empty.xml", ValidationReport(None, None, (NO_LINE,)))


def test_the_tally_counts_files_findings_and_unreadable_inputs() -> None:
    tally = Tally()
    for result in (INVALID, WARNED, CLEAN):
        tally.add(result)
    assert tally.summary() == "3 files: 2 valid, 1 invalid; 1 fatal finding, 2 warnings"
    tally.unreadable = 2
    assert tally.summary().endswith("; 2 could not be read")
    assert Tally().summary() == "0 files: 0 valid, 0 invalid; 0 fatal findings, 0 warnings"
