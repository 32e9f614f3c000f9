"""Token buckets in memory and in a real Redis."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.errors import RateLimiterUnavailable
from gateway.ratelimit import Decision, Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter

pytestmark = pytest.mark.anyio


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_limiter(clock: FakeClock, redis_client: Redis, redis_prefix: str) -> RedisRateLimiter:
    return RedisRateLimiter(redis_client, prefix=redis_prefix, clock=clock)


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest, clock: FakeClock) -> RateLimiter:
    if request.param == "memory":
        return MemoryRateLimiter(clock=clock)
    limiter: RateLimiter = request.getfixturevalue("redis_limiter")
    return limiter


async def hits(limiter: RateLimiter, bucket: str, limit: Limit, n: int) -> list[Decision]:
    return [await limiter.hit(bucket, limit) for _ in range(n)]


async def test_a_full_bucket_admits_its_limit_then_refuses(limiter: RateLimiter) -> None:
    limit = Limit(requests=3, window_seconds=60)
    decisions = await hits(limiter, "key:a", limit, 4)
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].retry_after == pytest.approx(20.0)
    assert decisions[-1].retry_after_header == "20"


async def test_tokens_come_back_with_time(limiter: RateLimiter, clock: FakeClock) -> None:
    limit = Limit(requests=2, window_seconds=10)  # one token every 5 s
    await hits(limiter, "key:a", limit, 2)
    assert not (await limiter.hit("key:a", limit)).allowed
    clock.now += 4.9
    assert not (await limiter.hit("key:a", limit)).allowed
    clock.now += 0.2
    assert (await limiter.hit("key:a", limit)).allowed
    clock.now += 1000
    assert [d.allowed for d in await hits(limiter, "key:a", limit, 3)] == [True, True, False]


async def test_buckets_are_independent(limiter: RateLimiter) -> None:
    limit = Limit(requests=1, window_seconds=60)
    assert (await limiter.hit("key:a", limit)).allowed
    assert not (await limiter.hit("key:a", limit)).allowed
    assert (await limiter.hit("key:b", limit)).allowed
    assert (await limiter.hit("ip:198.51.100.1", limit)).allowed


async def test_retry_after_is_at_least_one_second(limiter: RateLimiter) -> None:
    limit = Limit(requests=1000, window_seconds=1)
    decisions = await hits(limiter, "key:fast", limit, 1001)
    assert not decisions[-1].allowed
    assert decisions[-1].retry_after_header == "1"


async def test_memory_limiter_forgets_refilled_buckets(clock: FakeClock) -> None:
    limiter = MemoryRateLimiter(clock=clock, max_buckets=10)
    limit = Limit(requests=5, window_seconds=1)
    for i in range(10):
        await limiter.hit(f"ip:{i}", limit)
    clock.now += 2
    await limiter.hit("ip:new", limit)
    assert len(limiter) == 1


async def test_redis_buckets_expire(redis_limiter: RedisRateLimiter) -> None:
    limit = Limit(requests=2, window_seconds=4)
    await redis_limiter.hit("key:ttl", limit)
    client = redis_limiter._client
    ttl = await client.pttl(redis_limiter._prefix + "key:ttl")
    assert 0 < ttl <= 5000


async def test_unreachable_redis_refuses_rather_than_admits() -> None:
    limiter = RedisRateLimiter.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(RateLimiterUnavailable):
        await limiter.hit("key:a", Limit(requests=5, window_seconds=60))
    assert not await limiter.ping()
    await limiter.close()


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Limit(requests=0, window_seconds=60)
    with pytest.raises(ValueError, match="positive"):
        Limit(requests=1, window_seconds=0)
