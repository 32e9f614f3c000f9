"""Every CEN unit test case: each <success> rule stays silent, each <error> rule fires (as often as stated).

Rules run on the partial test documents as they are, without the XSD gate, as the official
test sets prescribe (../shared/conformance/README.md).
"""

from __future__ import annotations

from collections import Counter

import pytest
from lxml import etree

from services.invoicing.validation.rules import REGISTRY, RuleCrashed, evaluate
from tests.invoicing.validation.conformance import UNIT_DIR, UnitCase, unit_cases

CASES = list(unit_cases())


def fired(case: UnitCase) -> Counter[str]:
    root = etree.fromstring(case.document)
    counts: Counter[str] = Counter()
    for result in evaluate(root):
        if isinstance(result, RuleCrashed):
            raise result
        counts[result[0].id] += 1
    return counts


@pytest.mark.skipif(not CASES, reason=f"{UNIT_DIR} is absent: put ../shared beside the project root")
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_unit_case(case: UnitCase) -> None:
    named = set(case.success) | {r for r, _ in case.errors} | set(case.warnings)
    missing = sorted(r for r in named if r not in REGISTRY)
    assert not missing, f"rules not implemented: {missing}"
    counts = fired(case)
    for rule_id in case.success:
        assert counts[rule_id] == 0, f"{rule_id} fired {counts[rule_id]}x but must not: {case.description}"
    for rule_id, number in case.errors:
        if number is None:
            assert counts[rule_id] >= 1, f"{rule_id} did not fire: {case.description}"
        else:
            assert counts[rule_id] == number, f"{rule_id} fired {counts[rule_id]}x, expected {number}"
    for rule_id in case.warnings:
        assert counts[rule_id] >= 1, f"warning {rule_id} did not fire: {case.description}"
