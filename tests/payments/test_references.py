"""ISO 11649 creditor references."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.payments import references
from services.payments.references import InvalidReference


def test_the_standards_example() -> None:
    # ISO 11649's own example: body 539007547034 has check digits 18.
    assert references.make("539007547034") == "RF18539007547034"
    assert references.display("RF18539007547034") == "RF18 5390 0754 7034"
    assert references.normalise(" rf18 5390 0754 7034 ") == "RF18539007547034"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("RF19539007547034", "check digits do not match"),
        ("XX18539007547034", "starts with RF"),
        ("RFAB539007547034", "two check digits"),
        ("RF18-5390", "only letters and digits"),
        ("RF1", "RF, two check digits"),
        ("RF18" + "1" * 22, "RF, two check digits"),
    ],
)
def test_invalid_references_say_why(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason):
        references.normalise(text)


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21))
def test_any_body_makes_a_valid_reference_and_one_changed_character_is_caught(body: str) -> None:
    reference = references.make(body)
    assert references.normalise(reference) == reference
    # MOD 97-10 catches any single substitution of a digit by a digit or a letter by a letter
    # (the change is under 97 times a power of ten, and 97 is prime to ten).
    last = reference[-1]
    letter = "A" if last != "A" else "B"
    other = str((int(last) + 1) % 10) if last.isdigit() else letter
    changed = reference[:-1] + other
    with pytest.raises(InvalidReference):
        references.normalise(changed)


def test_generated_references_are_valid_and_printable() -> None:
    made = {references.generate() for _ in range(50)}
    assert len(made) == 50
    for reference in made:
        assert references.normalise(reference) == reference and len(reference) == 20
