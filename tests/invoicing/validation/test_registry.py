"""The registry holds exactly the rules of the EN 16931 UBL validation, each with its official flag."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lxml import etree

from services.invoicing.validation.rules import RuleCrashed, evaluate
from services.invoicing.validation.rules._tree import by_tag
from services.invoicing.validation.rules.base import NS, REGISTRY, Doc, Element
from services.invoicing.validation.rules.syntax import SPECIAL
from tests.invoicing.validation.conformance import (
    UNIT_DIR,
    example_files,
    official_rules,
    require_shared,
    unit_cases,
)


def test_every_official_rule_is_registered_with_its_flag() -> None:
    official = official_rules()
    missing = sorted(set(official) - set(REGISTRY))
    assert not missing, f"{len(missing)} rules not registered, e.g. {missing[:10]}"
    wrong_flag = sorted(r for r in official if REGISTRY[r].severity.value != official[r])
    assert not wrong_flag, f"flags differ from the official ones: {wrong_flag}"


def test_nothing_else_is_registered() -> None:
    extra = sorted(set(REGISTRY) - set(official_rules()))
    assert not extra, f"not rules of the EN 16931 UBL validation: {extra}"


def test_every_rule_has_a_message_and_names_well_formed_terms() -> None:
    for rule in REGISTRY.values():
        assert rule.message.strip(), f"{rule.id} has no message"
        for term in rule.terms:
            assert term.startswith(("BT-", "BG-")) and term[3:].isdigit(), (
                f"{rule.id}: odd business term {term!r}"
            )


def test_a_rule_finds_nothing_where_the_element_it_needs_is_absent() -> None:
    """The engine skips a rule whose ``needs`` element a document lacks: on every CEN unit test document
    and official example without that element, the check, run all the same, finds nothing."""
    require_shared(UNIT_DIR)
    documents = [etree.fromstring(case.document) for case in unit_cases()]
    documents += [etree.parse(str(path)).getroot() for path in example_files()]
    needing = [r for r in REGISTRY.values() if r.check is not None and r.needs is not None]
    special = [(r, check, needs) for r, check, needs in SPECIAL if needs is not None]
    assert len(needing) > 50 and special
    skipped = 0
    for root in documents:
        doc = Doc(root)
        present = by_tag(doc)
        for r in needing:
            if r.needs not in present:
                assert r.check is not None
                assert not list(r.check(doc)), f"{r.id} fires without {r.needs}"
                skipped += 1
        for r, check, needs in special:
            if needs not in present:
                assert not list(check(doc, present)), f"{r.id} fires without {needs}"
    assert skipped > 1000


def test_the_engine_does_not_run_a_rule_whose_element_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(doc: Doc) -> list[Element]:
        raise AssertionError("not to be run")

    rule = REGISTRY["BR-17"]
    assert rule.needs == "{" + NS["cac"] + "}PayeeParty"
    monkeypatch.setitem(REGISTRY, "BR-17", replace(rule, check=crash))
    root = etree.fromstring(
        f'<Invoice xmlns="{NS["inv"]}" xmlns:cac="{NS["cac"]}"><cac:AccountingSupplierParty/></Invoice>'
    )
    assert not [result for result in evaluate(root) if isinstance(result, RuleCrashed)]
    root.append(etree.Element("{" + NS["cac"] + "}PayeeParty"))
    assert [result.rule_id for result in evaluate(root) if isinstance(result, RuleCrashed)] == ["BR-17"]
