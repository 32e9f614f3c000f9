"""Who is calling, whether the access policy lets them, and whether they are within budget: the
one check every request passes, whether the proxy forwards it (``proxy.Proxy``) or the gateway
answers it itself (the ``endpoints.admit`` dependency of the key API).

In order: paths with dot segments or backslashes are refused (400); a path that neither table
of ``policy`` names is not exposed (404); public and provider routes spend the caller's address
budget; everything else needs an API key (401 without a valid one), whose role ``policy.ACCESS``
must admit (403), and spends the key's budget (429 when it is empty). Callers without a valid
key spend their address's budget, so guessing keys is rate-limited too.

A key checked in the last ``key_cache_seconds`` is taken from the process's
:class:`~gateway.service.KeyCache`; otherwise it is checked in the database in a worker thread,
with a short session of its own, so that no connection is held while a request waits on a
service.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser

from gateway import service
from gateway.errors import MissingApiKey, RateLimited, RoleNotAllowed, UnsafePath
from gateway.policy import SESSION_COOKIE, Auth, Route, allowed_roles, unsafe_path
from gateway.ratelimit import Limit, RateLimiter
from gateway.settings import GatewaySettings
from services.common.db import Database
from services.common.errors import NotFound, Unauthorized
from services.common.identity import Principal, Role

# Where the budget a request spent is left for the answer's RateLimit-* headers: the ASGI scope's
# ``state`` (``request.state`` in Starlette), which the errors raised after spending also reach.
BUDGET_STATE = "rate_limit_headers"


@dataclass(frozen=True, slots=True)
class Caller:
    principal: Principal | None  # None for public and provider routes
    route: Route | None  # None for the gateway's own endpoints
    address: str


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request presented to say who it is (the first of each header, as sent)."""

    authorization: str | None = None
    api_key: str | None = None  # X-Api-Key
    cookies: tuple[str, ...] = ()  # every Cookie header, read only on SESSION routes

    def key(self, *, session_cookie: bool) -> str | None:
        """The API key: ``Authorization: Bearer``, else ``X-Api-Key``, else (pages only) the
        session cookie the login page set."""
        if self.authorization:
            scheme, _, credentials = self.authorization.partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                return credentials.strip()
        api_key = self.api_key
        if not (api_key and api_key.strip()) and session_cookie:
            cookies: dict[str, str] = {}
            for header in self.cookies:
                cookies.update(cookie_parser(header))
            api_key = cookies.get(SESSION_COOKIE)
        return api_key.strip() if api_key and api_key.strip() else None


def client_address(peer: str, forwarded_for: str | None, *, trust_forwarded: bool) -> str:
    """The caller's address: the TCP ``peer``, or behind a trusted load balancer the last
    X-Forwarded-For entry, the one that balancer appended (entries before it come from the
    client and can be anything)."""
    if trust_forwarded and forwarded_for:
        last = forwarded_for.split(",")[-1].strip()
        if last:
            return last
    return peer


class Gatekeeper:
    """The admission check, with what it needs: the key database and cache, the rate limiter,
    and each role's budget."""

    def __init__(
        self,
        settings: GatewaySettings,
        *,
        database: Database,
        key_cache: service.KeyCache,
        limiter: RateLimiter,
    ) -> None:
        self.database = database
        self.key_cache = key_cache
        self.limiter = limiter
        self._checks: dict[str, asyncio.Future[Principal]] = {}  # keys being checked, by key
        window = settings.rate_limit_window_seconds
        self._limits: dict[Role | None, Limit] = {
            role: Limit(settings.role_limit(role), window) for role in (*Role, None)
        }

    async def admit(
        self,
        *,
        method: str,
        path: str,
        route: Route | None,
        credentials: Credentials,
        address: str,
        state: dict[str, Any],
    ) -> Caller:
        """The caller of ``method path`` (``route`` is the one ``policy.find_route`` gave), or
        the error to answer with. The budget spent is left in ``state``."""
        if unsafe_path(path):
            raise UnsafePath("Paths with '.', '..' segments or backslashes are not forwarded")
        roles = allowed_roles(method, path)
        if route is None and not roles:
            raise NotFound(f"Nothing answers {path} through the gateway")
        if route is not None and route.auth not in (Auth.API_KEY, Auth.SESSION):
            await self._charge(state, f"ip:{address}", None)
            return Caller(principal=None, route=route, address=address)
        try:
            presented = credentials.key(session_cookie=route is not None and route.auth is Auth.SESSION)
            if presented is None:
                raise MissingApiKey(
                    "An API key is required: send it as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
                    headers={"WWW-Authenticate": 'Bearer realm="tessera"'},
                )
            principal = await self.principal(presented)
        except Unauthorized:
            await self._charge(state, f"ip:{address}", None)
            raise
        await self._charge(state, f"key:{principal.key_id}", principal.role)
        if principal.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles)) or "none"
            raise RoleNotAllowed(
                f"A {principal.role.value} key may not {method} {path}; allowed roles: {allowed}"
            )
        return Caller(principal=principal, route=route, address=address)

    async def principal(self, presented: str) -> Principal:
        """The principal behind a presented key, from the cache or the database. Requests that
        present the same key while it is being checked wait for that one check: when a busy
        key's cache entry expires, its requests in flight would otherwise each take a worker
        thread and a database connection for the same answer."""
        principal = self.key_cache.get(presented)
        if principal is not None:
            return principal
        check = self._checks.get(presented)
        if check is None:
            check = asyncio.ensure_future(self._check(presented))
            self._checks[presented] = check
            check.add_done_callback(lambda done: self._checked(presented, done))
        # Shielded: a caller that goes away does not cancel the check the others wait for.
        return await asyncio.shield(check)

    async def _check(self, presented: str) -> Principal:
        principal = await run_in_threadpool(self._authenticate, presented)
        self.key_cache.put(presented, principal)
        return principal

    def _checked(self, presented: str, check: asyncio.Future[Principal]) -> None:
        del self._checks[presented]
        if not check.cancelled():
            check.exception()  # retrieved here too, in case every waiter went away

    def _authenticate(self, presented: str) -> Principal:
        with self.database.sessionmaker() as session:
            principal = service.authenticate(session, presented=presented)
            session.commit()
        return principal

    async def _charge(self, state: dict[str, Any], bucket: str, role: Role | None) -> None:
        limit = self._limits[role]
        decision = await self.limiter.hit(bucket, limit)
        budget = {"RateLimit-Limit": str(limit.requests), "RateLimit-Remaining": str(decision.remaining)}
        if not decision.allowed:
            raise RateLimited(
                f"Too many requests; retry in {decision.retry_after_header} s",
                headers={"Retry-After": decision.retry_after_header, **budget},
            )
        state[BUDGET_STATE] = budget
