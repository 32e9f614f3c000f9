"""API keys: creation (the key is returned once, only its hash is kept), authentication,
listing and revocation. Plain functions with keyword-only arguments; they add and flush, the
caller commits.

A key reads ``tsk_<id>_<secret>``: the id (32 hex digits) finds the row, the secret (43
URL-safe characters, 256 random bits) is checked against its stored SHA-256 in constant time.
A fast hash is enough because the secret is random and long, not a password a person chose.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from gateway import repository
from gateway.errors import ApiKeyNotFound, InvalidApiKey, InvalidKeyRequest, RevokedApiKey
from gateway.models import ApiKey
from services.common.db import utcnow
from services.common.identity import Principal, Role

KEY_PREFIX = "tsk"
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    key_id: uuid.UUID
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def format_key(key_id: uuid.UUID, secret: str) -> str:
    return f"{KEY_PREFIX}_{key_id.hex}_{secret}"


def parse_key(presented: str) -> ParsedKey:
    """Split a presented key; :class:`InvalidApiKey` when it does not have the Tessera shape."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 32 or not parts[2]:
        raise InvalidApiKey("The API key is not a Tessera key (expected 'tsk_<id>_<secret>')")
    try:
        key_id = uuid.UUID(hex=parts[1])
    except ValueError as error:
        raise InvalidApiKey("The API key is not a Tessera key (expected 'tsk_<id>_<secret>')") from error
    return ParsedKey(key_id=key_id, secret=parts[2])


def _check_role_binding(role: Role, supplier_id: str | None) -> str | None:
    supplier = supplier_id.strip() if supplier_id is not None else None
    if role is Role.SUPPLIER and not supplier:
        raise InvalidKeyRequest("A supplier key needs the supplier identity it acts for (supplier_id)")
    if role is not Role.SUPPLIER and supplier_id is not None:
        raise InvalidKeyRequest(f"Only supplier keys are bound to a supplier; a {role.value} key takes none")
    return supplier


def create_key(
    session: Session, *, name: str, role: Role, supplier_id: str | None = None
) -> tuple[ApiKey, str]:
    """A new key row and the plaintext key, which the caller shows once and forgets."""
    clean_name = name.strip()
    if not clean_name:
        raise InvalidKeyRequest("A key needs a non-empty name")
    supplier = _check_role_binding(role, supplier_id)
    key_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=key_id,
        name=clean_name,
        role=role,
        supplier_id=supplier,
        secret_hash=hash_secret(secret),
        created_at=utcnow(),
    )
    repository.add_key(session, key)
    return key, format_key(key_id, secret)


def authenticate(session: Session, *, presented: str, now: datetime | None = None) -> Principal:
    """The principal behind ``presented``; 401 errors when unknown, mismatched or revoked."""
    parsed = parse_key(presented)
    key = repository.get_key(session, parsed.key_id)
    # Compare against a hash even when the id is unknown, so timing does not reveal which ids exist.
    expected = key.secret_hash if key is not None else hash_secret(secrets.token_urlsafe(32))
    if not hmac.compare_digest(expected, hash_secret(parsed.secret)) or key is None:
        raise InvalidApiKey("The API key is not valid")
    if key.revoked:
        raise RevokedApiKey("The API key was revoked")
    moment = now or utcnow()
    repository.mark_used(session, key.id, at=moment, not_since=moment - LAST_USED_RESOLUTION)
    return Principal(key_id=str(key.id), role=key.role, name=key.name, supplier_id=key.supplier_id)


class KeyCache:
    """Principals of keys this process authenticated less than ``ttl`` seconds ago, so that a
    busy caller costs one database check per ``ttl`` instead of one per request.

    Entries are found by the SHA-256 of the whole presented key (the secret included), so only
    the exact key that was checked hits. A revocation made through this process forgets the key
    at once; one made elsewhere (another gateway process, ``tessera keys revoke``) takes effect
    within ``ttl`` seconds, the bound ``key_cache_seconds`` documents. Failures are not kept:
    a wrong or revoked key is checked against the database every time. At most ``max_entries``
    keys are kept, the least recently used dropped first.
    """

    def __init__(
        self, ttl: float, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    @staticmethod
    def _fingerprint(presented: str) -> str:
        return hashlib.sha256(presented.strip().encode()).hexdigest()

    def get(self, presented: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        fingerprint = self._fingerprint(presented)
        entry = self._entries.get(fingerprint)
        if entry is None:
            return None
        expires, principal = entry
        if self._clock() >= expires:
            del self._entries[fingerprint]
            return None
        self._entries.move_to_end(fingerprint)
        return principal

    def put(self, presented: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        fingerprint = self._fingerprint(presented)
        self._entries[fingerprint] = (self._clock() + self.ttl, principal)
        self._entries.move_to_end(fingerprint)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, key_id: uuid.UUID | str) -> None:
        """Drop every entry of ``key_id`` (after it was revoked here)."""
        wanted = str(key_id)
        for fingerprint in [f for f, (_, p) in self._entries.items() if p.key_id == wanted]:
            del self._entries[fingerprint]

    def __len__(self) -> int:
        return len(self._entries)


def list_keys(session: Session, *, include_revoked: bool = True) -> Sequence[ApiKey]:
    return repository.list_keys(session, include_revoked=include_revoked)


def revoke_key(session: Session, *, key_id: uuid.UUID) -> ApiKey:
    """Revoke a key (revoking it again keeps the first revocation time)."""
    key = repository.get_key(session, key_id)
    if key is None:
        raise ApiKeyNotFound(f"No API key with id {key_id}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key
