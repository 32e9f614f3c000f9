"""API keys: shown once, stored as a hash, authenticated in constant time, revocable."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gateway import service
from gateway.errors import ApiKeyNotFound, InvalidApiKey, InvalidKeyRequest, RevokedApiKey
from gateway.models import ApiKey
from services.common.db import utcnow
from services.common.identity import Principal, Role


def test_key_is_returned_once_and_only_its_hash_is_stored(session: Session) -> None:
    key, plaintext = service.create_key(session, name="Acme", role=Role.SUPPLIER, supplier_id="BE0123456789")
    session.flush()
    parsed = service.parse_key(plaintext)
    assert plaintext.startswith(f"tsk_{key.id.hex}_")
    assert parsed.key_id == key.id
    assert len(parsed.secret) >= 43
    row = session.execute(text("SELECT * FROM api_keys")).mappings().one()
    assert row["secret_hash"] == hashlib.sha256(parsed.secret.encode()).hexdigest()
    assert all(parsed.secret not in str(value) for value in row.values())
    assert not hasattr(key, "key")


def test_keys_are_unique(session: Session) -> None:
    keys = {service.create_key(session, name=f"k{i}", role=Role.OFFICER)[1] for i in range(20)}
    assert len(keys) == 20


def test_authenticate_returns_the_principal_and_records_use(session: Session) -> None:
    key, plaintext = service.create_key(session, name="Acme", role=Role.SUPPLIER, supplier_id="BE0123456789")
    principal = service.authenticate(session, presented=plaintext)
    assert (principal.key_id, principal.role, principal.name, principal.supplier_id) == (
        str(key.id),
        Role.SUPPLIER,
        "Acme",
        "BE0123456789",
    )
    session.expire_all()
    first_use = session.get(ApiKey, key.id).last_used_at  # type: ignore[union-attr]
    assert first_use is not None
    service.authenticate(session, presented=plaintext, now=first_use + timedelta(seconds=10))
    session.expire_all()
    assert session.get(ApiKey, key.id).last_used_at == first_use  # type: ignore[union-attr]
    later = first_use + timedelta(minutes=5)
    service.authenticate(session, presented=plaintext, now=later)
    session.expire_all()
    assert session.get(ApiKey, key.id).last_used_at == later  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "tsk_",
        "abc",
        "tsk_nothex_secret",
        f"tsk_{'0' * 31}_secret",
        f"xyz_{'0' * 32}_secret",
        f"tsk_{'0' * 32}_",
    ],
)
def test_malformed_keys_are_invalid(session: Session, presented: str) -> None:
    with pytest.raises(InvalidApiKey):
        service.authenticate(session, presented=presented)


def test_wrong_secret_and_unknown_id_are_invalid(session: Session) -> None:
    key, plaintext = service.create_key(session, name="Officer", role=Role.OFFICER)
    with pytest.raises(InvalidApiKey):
        service.authenticate(session, presented=plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B"))
    with pytest.raises(InvalidApiKey):
        service.authenticate(
            session, presented=service.format_key(uuid.uuid4(), service.parse_key(plaintext).secret)
        )


def test_revoked_key_is_refused_and_revocation_is_kept(session: Session) -> None:
    key, plaintext = service.create_key(session, name="Officer", role=Role.OFFICER)
    revoked = service.revoke_key(session, key_id=key.id)
    first = revoked.revoked_at
    assert first is not None
    with pytest.raises(RevokedApiKey):
        service.authenticate(session, presented=plaintext)
    assert service.revoke_key(session, key_id=key.id).revoked_at == first


def test_revoking_an_unknown_key(session: Session) -> None:
    with pytest.raises(ApiKeyNotFound):
        service.revoke_key(session, key_id=uuid.uuid4())


def test_supplier_binding_rules(session: Session) -> None:
    with pytest.raises(InvalidKeyRequest, match="supplier identity"):
        service.create_key(session, name="Acme", role=Role.SUPPLIER)
    with pytest.raises(InvalidKeyRequest, match="supplier identity"):
        service.create_key(session, name="Acme", role=Role.SUPPLIER, supplier_id="  ")
    with pytest.raises(InvalidKeyRequest, match="Only supplier keys"):
        service.create_key(session, name="Clerk", role=Role.OFFICER, supplier_id="BE0123456789")
    with pytest.raises(InvalidKeyRequest, match="name"):
        service.create_key(session, name="   ", role=Role.ADMIN)


def test_list_keys_in_creation_order_with_and_without_revoked(session: Session) -> None:
    a, _ = service.create_key(session, name="a", role=Role.ADMIN)
    b, _ = service.create_key(session, name="b", role=Role.SERVICE)
    b.created_at = utcnow() + timedelta(seconds=1)
    service.revoke_key(session, key_id=a.id)
    assert [k.name for k in service.list_keys(session)] == ["a", "b"]
    assert [k.name for k in service.list_keys(session, include_revoked=False)] == ["b"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def principal(key_id: str = "k1") -> Principal:
    return Principal(key_id=key_id, role=Role.OFFICER, name="Officer")


def test_key_cache_keeps_a_checked_key_for_its_ttl_only() -> None:
    clock = Clock()
    cache = service.KeyCache(5.0, clock=clock)
    cache.put("tsk_a_secret", principal())
    clock.now += 4.9
    assert cache.get("tsk_a_secret") == principal()
    assert cache.get(" tsk_a_secret ") == principal()  # presented keys are stripped before the lookup
    assert cache.get("tsk_a_other") is None  # another secret for the same id is checked afresh
    clock.now += 0.1
    assert cache.get("tsk_a_secret") is None
    assert len(cache) == 0


def test_key_cache_forgets_a_revoked_key_and_is_bounded() -> None:
    cache = service.KeyCache(5.0, max_entries=2, clock=Clock())
    cache.put("one", principal("k1"))
    cache.put("two", principal("k2"))
    cache.forget("k1")
    assert cache.get("one") is None and cache.get("two") == principal("k2")
    cache.put("three", principal("k3"))
    cache.put("four", principal("k4"))
    assert cache.get("two") is None  # the least recently used went first
    assert len(cache) == 2


def test_key_cache_with_no_ttl_keeps_nothing() -> None:
    cache = service.KeyCache(0)
    cache.put("one", principal())
    assert cache.get("one") is None and len(cache) == 0
