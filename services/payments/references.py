"""ISO 11649 structured creditor references (``RF`` + two check digits + up to 21 characters).

The check is the ISO 7064 MOD 97-10 scheme IBANs use: move ``RF`` and the check digits to the
end, read letters as numbers (A=10 ... Z=35), and the whole must leave remainder 1 modulo 97.
Tessera generates references from random digits, so they read well on paper notices and on the
phone, and prints them in groups of four as the standard recommends.
"""

from __future__ import annotations

import secrets
import string

PREFIX = "RF"
MAX_BODY = 21
BODY_DIGITS = 16
_ALPHABET = frozenset(string.ascii_uppercase + string.digits)


class InvalidReference(ValueError):
    """The text is not a valid ISO 11649 reference; the message says why."""


def _numeric(text: str) -> int:
    return int("".join(str(int(char, 36)) for char in text))


def check_digits(body: str) -> str:
    """The two check digits for ``body`` (already upper case, 1 to 21 letters or digits)."""
    return f"{98 - _numeric(body + PREFIX + '00') % 97:02d}"


def make(body: str) -> str:
    body = body.upper()
    if not 1 <= len(body) <= MAX_BODY or not set(body) <= _ALPHABET:
        raise InvalidReference(f"a reference body is 1 to {MAX_BODY} letters or digits, not {body!r}")
    return f"{PREFIX}{check_digits(body)}{body}"


def generate() -> str:
    """A new random reference with a 16-digit body (unique per database by a constraint)."""
    return make("".join(secrets.choice(string.digits) for _ in range(BODY_DIGITS)))


def normalise(text: str) -> str:
    """``text`` without spaces, upper case, checked; raises :class:`InvalidReference`."""
    compact = "".join(text.split()).upper()
    if len(compact) < 5 or len(compact) > 4 + MAX_BODY:
        raise InvalidReference("a creditor reference is RF, two check digits and 1 to 21 characters")
    if not compact.startswith(PREFIX):
        raise InvalidReference("a creditor reference starts with RF")
    if not compact[2:4].isdigit():
        raise InvalidReference("RF must be followed by two check digits")
    if not set(compact) <= _ALPHABET:
        raise InvalidReference("a creditor reference holds only letters and digits")
    if _numeric(compact[4:] + compact[:4]) % 97 != 1:
        raise InvalidReference("the check digits do not match (mistyped reference?)")
    return compact


def display(reference: str) -> str:
    """The reference in groups of four characters, as printed on notices."""
    return " ".join(reference[i : i + 4] for i in range(0, len(reference), 4))
