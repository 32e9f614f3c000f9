"""Request budgets per API key, and per client address for callers without one.

Each bucket is a token bucket: it holds up to ``limit`` tokens, refills at ``limit`` tokens per
window, and each request takes one. A bucket that is empty answers with the seconds until the
next token, which becomes the ``Retry-After`` of the 429.

:class:`MemoryRateLimiter` keeps buckets in the process (one gateway process).
:class:`RedisRateLimiter` keeps them in Redis, updated by one Lua script so that concurrent
gateway processes never lose an update (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.errors import RateLimiterUnavailable

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Limit:
    requests: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.requests <= 0 or self.window_seconds <= 0:
            raise ValueError(f"a rate limit needs positive requests and window, got {self}")

    @property
    def rate(self) -> float:
        """Tokens added per second."""
        return self.requests / self.window_seconds


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    remaining: int
    retry_after: float  # seconds until a request would be admitted; 0 when allowed

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: Limit) -> Decision: ...

    async def close(self) -> None: ...


def _take(tokens: float, elapsed: float, limit: Limit) -> tuple[float, Decision]:
    tokens = min(float(limit.requests), tokens + max(0.0, elapsed) * limit.rate)
    if tokens >= 1.0:
        tokens -= 1.0
        return tokens, Decision(allowed=True, remaining=int(tokens), retry_after=0.0)
    return tokens, Decision(allowed=False, remaining=0, retry_after=(1.0 - tokens) / limit.rate)


class MemoryRateLimiter:
    """Buckets in a dict. The event loop runs :meth:`hit` without awaiting inside, so updates
    never interleave."""

    def __init__(self, *, clock: Clock = time.monotonic, max_buckets: int = 100_000) -> None:
        self._clock = clock
        self._max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket -> (tokens, updated at)

    def __len__(self) -> int:
        return len(self._buckets)

    async def hit(self, bucket: str, limit: Limit) -> Decision:
        now = self._clock()
        tokens, updated = self._buckets.get(bucket, (float(limit.requests), now))
        tokens, decision = _take(tokens, now - updated, limit)
        self._buckets[bucket] = (tokens, now)
        if len(self._buckets) > self._max_buckets:
            self._forget_full(now, limit)
        return decision

    def _forget_full(self, now: float, limit: Limit) -> None:
        """Drop buckets idle long enough to have refilled: forgetting them changes nothing."""
        horizon = limit.window_seconds
        for name in [n for n, (_, updated) in self._buckets.items() if now - updated >= horizon]:
            del self._buckets[name]

    async def close(self) -> None:
        self._buckets.clear()


# KEYS[1] bucket; ARGV capacity, tokens per second, now (seconds). Returns allowed (0/1),
# remaining tokens and retry-after as strings (Lua numbers would be truncated to integers).
_TOKEN_BUCKET_LUA = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
local elapsed = now - ts
if elapsed < 0 then elapsed = 0 end
tokens = math.min(capacity, tokens + elapsed * rate)
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, tostring(tokens), tostring(retry)}
"""


class RedisRateLimiter:
    """Buckets in Redis hashes under ``prefix``, shared by every gateway process. The clock is
    the gateway's wall clock (processes are expected to run NTP); when Redis cannot be reached
    the request is refused with a 503 rather than let through unchecked."""

    def __init__(
        self, client: Redis, *, prefix: str = "tessera:gateway:ratelimit:", clock: Clock = time.time
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._script = client.register_script(_TOKEN_BUCKET_LUA)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRateLimiter:
        return cls(Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2), **kwargs)

    async def hit(self, bucket: str, limit: Limit) -> Decision:
        try:
            allowed, tokens, retry = await self._script(
                keys=[self._prefix + bucket], args=[limit.requests, repr(limit.rate), repr(self._clock())]
            )
        except (RedisError, OSError) as error:
            raise RateLimiterUnavailable(
                "The rate limiter (Redis) cannot be reached; the request was not forwarded",
                headers={"Retry-After": "5"},
            ) from error
        return Decision(allowed=bool(int(allowed)), remaining=int(float(tokens)), retry_after=float(retry))

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except (RedisError, OSError):
            return False

    async def close(self) -> None:
        await self._client.aclose()
