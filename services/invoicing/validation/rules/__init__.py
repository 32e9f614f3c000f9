"""Every EN 16931 UBL rule, by family, and the loop that runs them.

Families (one module each, in the order of the CEN/TC 434 artefacts):
``core`` BR-01..BR-66, ``calculations`` BR-CO, ``decimals`` BR-DEC, ``vat`` BR-S/Z/E/AE/IC/G/O/AF/AG/B,
``codelists`` BR-CL, ``syntax`` UBL-SR, ``datatypes`` UBL-DT, ``unused`` UBL-CR.
"""

from __future__ import annotations

from collections.abc import Iterator

from services.invoicing.validation.rules import (  # noqa: F401  (importing registers the rules)
    calculations,
    codelists,
    core,
    datatypes,
    decimals,
    syntax,
    unused,
    vat,
)
from services.invoicing.validation.rules.base import GROUPS, REGISTRY, Doc, Element, Rule

# Most rules answer with an iterator over a list they have already collected (see base.each): nothing
# is left that could raise, so the engine reads it as it is instead of copying it first.
_COLLECTED: type = type(iter([]))


class RuleCrashed(Exception):
    """A rule raised instead of answering: reported as a fatal finding, never as a pass."""

    def __init__(self, rule_id: str, error: BaseException) -> None:
        super().__init__(f"rule {rule_id} could not be evaluated: {error!r}")
        self.rule_id = rule_id


def evaluate(root: Element) -> Iterator[tuple[Rule, Element] | RuleCrashed]:
    """Run every registered rule on ``root``; yield each breach, or a RuleCrashed (fail closed)."""
    doc = Doc(root)
    present = doc.walk.elements
    for r, check, needs in REGISTRY.checked():
        if needs is not None and needs not in present:
            continue  # the document has no element the rule speaks of
        try:
            hits = check(doc)
            if hits.__class__ is not _COLLECTED:  # a generator may still raise: read it all first
                hits = list(hits)
        except Exception as error:  # noqa: BLE001  (a crashing rule must not pass the document)
            yield RuleCrashed(r.id, error)
            continue
        for el in hits:
            yield r, el
    for group in GROUPS:
        try:
            pairs = [(REGISTRY[rule_id], el) for rule_id, el in group(doc)]
        except Exception as error:  # noqa: BLE001  (an unknown rule id is a crash too)
            yield RuleCrashed(group.__name__, error)
            continue
        yield from pairs
