"""The admission check's parts: credentials, the caller's address, and the key check shared by
requests that present the same key at once. Its answers through HTTP are in test_endpoints.py."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy.orm import Session

from gateway import service
from gateway.admission import Credentials, Gatekeeper, client_address
from gateway.errors import InvalidApiKey
from gateway.ratelimit import MemoryRateLimiter
from gateway.service import KeyCache
from services.common.db import Database
from services.common.identity import Principal, Role
from tests.gateway.conftest import make_key, settings_for

pytestmark = pytest.mark.anyio


def test_bearer_comes_first_then_the_api_key_header() -> None:
    both = Credentials(authorization="Bearer tsk_a", api_key="tsk_b")
    assert both.key(session_cookie=False) == "tsk_a"
    assert Credentials(authorization="Basic eDp5", api_key=" tsk_b ").key(session_cookie=False) == "tsk_b"
    assert Credentials(authorization="Bearer  ").key(session_cookie=False) is None


def test_the_session_cookie_counts_on_session_routes_only() -> None:
    cookies = Credentials(cookies=("theme=dark", "tessera_session=tsk_c"))
    assert cookies.key(session_cookie=True) == "tsk_c"
    assert cookies.key(session_cookie=False) is None


def test_the_address_is_the_peer_unless_a_trusted_balancer_appended_one() -> None:
    assert client_address("10.0.0.2", "1.1.1.1, 192.0.2.9", trust_forwarded=False) == "10.0.0.2"
    assert client_address("10.0.0.2", "1.1.1.1, 192.0.2.9", trust_forwarded=True) == "192.0.2.9"
    assert client_address("10.0.0.2", " , ", trust_forwarded=True) == "10.0.0.2"


def counted_checks(monkeypatch: pytest.MonkeyPatch, *, seconds: float) -> list[str]:
    """Make every database check of a key take ``seconds`` and record it."""
    checked: list[str] = []
    lock = threading.Lock()
    real = service.authenticate

    def slow(session: Session, *, presented: str) -> Principal:
        with lock:
            checked.append(presented)
        time.sleep(seconds)
        return real(session, presented=presented)

    monkeypatch.setattr(service, "authenticate", slow)
    return checked


async def test_requests_presenting_one_key_at_once_share_one_database_check(
    database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, key = make_key(database_url, Role.OFFICER)
    _, other = make_key(database_url, Role.SERVICE)
    checked = counted_checks(monkeypatch, seconds=0.2)
    gatekeeper = Gatekeeper(
        settings_for(database_url), database=database, key_cache=KeyCache(5), limiter=MemoryRateLimiter()
    )
    principals = await asyncio.gather(*(gatekeeper.principal(k) for k in [key] * 8 + [other] * 3))
    assert sorted(checked) == sorted([key, other])
    assert {p.role for p in principals[:8]} == {Role.OFFICER}
    assert {p.role for p in principals[8:]} == {Role.SERVICE}
    # Once checked, the key comes from the cache.
    await gatekeeper.principal(key)
    assert len(checked) == 2


async def test_a_shared_check_that_fails_fails_every_waiter_and_is_not_kept(
    database_url: str, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = counted_checks(monkeypatch, seconds=0.1)
    gatekeeper = Gatekeeper(
        settings_for(database_url), database=database, key_cache=KeyCache(5), limiter=MemoryRateLimiter()
    )
    wrong = "tsk_" + "0" * 32 + "_nope"
    results = await asyncio.gather(*(gatekeeper.principal(wrong) for _ in range(4)), return_exceptions=True)
    assert all(isinstance(r, InvalidApiKey) for r in results)
    assert len(checked) == 1
    with pytest.raises(InvalidApiKey):
        await gatekeeper.principal(wrong)
    assert len(checked) == 2
