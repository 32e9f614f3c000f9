"""The 19 official example invoices: each passes the UBL 2.1 XSD and gets exactly the official verdict.

The verdicts (``expected.json``) come from the CEN/TC 434 artefacts 1.3.16: every example is a
valid EN 16931 invoice, so no rule may fire on any of them, neither fatal nor warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.invoicing.validation import validate, xsd
from services.invoicing.validation.parser import document_type, parse
from tests.invoicing.validation.conformance import EXAMPLES_DIR, example_files, expected_verdicts
from tests.invoicing.validation.support import require_schemas

EXAMPLES = example_files()
pytestmark = pytest.mark.skipif(
    not EXAMPLES, reason=f"{EXAMPLES_DIR} is absent: put ../shared beside the project root"
)


@pytest.fixture(autouse=True, scope="module")
def schemas() -> Path:
    return require_schemas()


def test_every_example_has_an_official_verdict() -> None:
    assert sorted(expected_verdicts()["documents"]) == sorted(p.name for p in EXAMPLES)
    assert len(EXAMPLES) == 19


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_the_ubl_schema(path: Path) -> None:
    root = parse(path.read_bytes())
    assert [v.message for v in xsd.validate(root, document_type(root))] == []


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_gets_the_official_verdict(path: Path) -> None:
    expected = sorted((rule, flag) for rule, flag in expected_verdicts()["documents"][path.name])
    report = validate(path.read_bytes())
    fired = sorted({(f.rule, f.severity.value) for f in report.findings})
    details = [f"{f.rule} at {f.location} (line {f.line}): {f.message}" for f in report.findings]
    assert fired == expected, "\n".join(details)
    assert report.valid == all(flag != "fatal" for _, flag in expected)
