"""The registry holds exactly the rules of the EN 16931 UBL validation, each with its official flag."""

from __future__ import annotations

from services.invoicing.validation.rules.base import REGISTRY
from tests.invoicing.validation.conformance import official_rules


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
