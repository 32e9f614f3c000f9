from __future__ import annotations

import pytest

from services.common.errors import Unauthorized
from services.common.identity import Principal, Role, decode_principal, encode_principal

SUPPLIER = Principal(key_id="k1", role=Role.SUPPLIER, name="ACME", supplier_id="IT12345678901")


def test_round_trip() -> None:
    header = encode_principal(SUPPLIER, "s1", now=1_000)
    assert decode_principal(header, ["s1"], now=1_010) == SUPPLIER


def test_rotated_secret_still_verifies() -> None:
    header = encode_principal(SUPPLIER, "old", now=1_000)
    assert decode_principal(header, ["new", "old"], now=1_000) == SUPPLIER


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h: h.replace("v1=", "v1=0"),
        lambda h: h.replace("p=", "p=e30"),
        lambda h: "garbage",
        lambda h: "t=abc,p=x,v1=y",
    ],
)
def test_forged_or_malformed_identity_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    header = tamper(encode_principal(SUPPLIER, "s1", now=1_000))
    with pytest.raises(Unauthorized):
        decode_principal(header, ["s1"], now=1_000)


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(Unauthorized, match="signature"):
        decode_principal(encode_principal(SUPPLIER, "attacker", now=1_000), ["s1"], now=1_000)


def test_stale_identity_is_refused() -> None:
    with pytest.raises(Unauthorized, match="Stale"):
        decode_principal(encode_principal(SUPPLIER, "s1", now=1_000), ["s1"], now=1_000 + 301)


def test_an_identity_checked_once_is_still_refused_when_stale_or_under_a_retired_secret() -> None:
    header = encode_principal(SUPPLIER, "s1", now=5_000)
    assert decode_principal(header, ["s1"], now=5_000) == SUPPLIER  # verified, and remembered
    with pytest.raises(Unauthorized, match="Stale"):
        decode_principal(header, ["s1"], now=5_000 + 301)
    with pytest.raises(Unauthorized, match="signature"):
        decode_principal(header, ["s2"], now=5_000)
