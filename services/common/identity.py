"""Who is calling: the gateway authenticates the API key and forwards the caller to the
services as a signed ``X-Tessera-Principal`` header. Services trust only that header, and only
when its HMAC (over ``timestamp.payload``, with the internal secret) checks out, so a request
that bypasses the gateway cannot claim an identity.

Roles: ``supplier`` (bound to one supplier identity), ``officer``, ``admin``, ``service``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request

from services.common.errors import Forbidden, Unauthorized

PRINCIPAL_HEADER = "X-Tessera-Principal"
TOLERANCE_SECONDS = 300


class Role(StrEnum):
    SUPPLIER = "supplier"
    OFFICER = "officer"
    ADMIN = "admin"
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    role: Role
    name: str
    supplier_id: str | None = None  # the supplier identity (e.g. VAT id) a supplier key is bound to


def _mac(secret: str, timestamp: int, payload: str) -> str:
    return hmac.digest(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hex()


def encode_principal(principal: Principal, secret: str, *, now: int | None = None) -> str:
    """``t=<unix time>,p=<base64url json>,v1=<hex hmac>``."""
    timestamp = int(time.time()) if now is None else now
    payload = base64.urlsafe_b64encode(json.dumps(asdict(principal), sort_keys=True).encode()).decode()
    return f"t={timestamp},p={payload},v1={_mac(secret, timestamp, payload)}"


def decode_principal(header: str, secrets: Sequence[str], *, now: int | None = None) -> Principal:
    """The principal in ``header``; :class:`Unauthorized` when it is malformed, stale or forged."""
    timestamp, principal = _verified(header, tuple(secrets))
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        raise Unauthorized("Stale caller identity")
    return principal


# The gateway signs a caller's identity with the time in whole seconds, so a busy caller sends the
# same header many times a second: its signature is checked and its payload read once. Only
# headers that verified are kept (a failure raises, and raising is not cached); the time window
# is checked on every use, above.
@functools.lru_cache(maxsize=1024)
def _verified(header: str, secrets: tuple[str, ...]) -> tuple[int, Principal]:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        payload = parts["p"]
        signature = parts["v1"]
    except (KeyError, ValueError) as error:
        raise Unauthorized("Malformed caller identity") from error
    if not any(hmac.compare_digest(_mac(s, timestamp, payload), signature) for s in secrets):
        raise Unauthorized("Caller identity signature does not match")
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return timestamp, Principal(
            key_id=str(data["key_id"]),
            role=Role(data["role"]),
            name=str(data["name"]),
            supplier_id=data.get("supplier_id"),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise Unauthorized("Malformed caller identity") from error


def internal_secrets(request: Request) -> list[str]:
    secrets: list[str] = request.app.state.settings.internal_secret_list
    return secrets


# The dependencies below are ``async def`` although they never await: FastAPI runs a plain ``def``
# dependency in the thread pool, a hop that costs more than the check itself on every request.
async def current_principal(request: Request) -> Principal:
    header = request.headers.get(PRINCIPAL_HEADER)
    if not header:
        raise Unauthorized(
            "An API key is required: send it as 'Authorization: Bearer <key>' through the gateway"
        )
    return decode_principal(header, internal_secrets(request))


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits only callers with one of ``roles``."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"This operation needs one of the roles: {allowed}")
        return principal

    return dependency


PrincipalDep = Annotated[Principal, Depends(current_principal)]
SupplierDep = Annotated[Principal, Depends(require(Role.SUPPLIER))]
OfficerDep = Annotated[Principal, Depends(require(Role.OFFICER, Role.ADMIN))]
ServiceOrOfficerDep = Annotated[Principal, Depends(require(Role.SERVICE, Role.OFFICER, Role.ADMIN))]
AdminDep = Annotated[Principal, Depends(require(Role.ADMIN))]
