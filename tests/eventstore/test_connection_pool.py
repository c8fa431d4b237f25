"""The server's Redis client waits for a free connection under a burst (it
does not fail with "too many connections"), gives up after its timeout with
a clear error, and a waiter that leaves does not strand the others."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.connect import WaitingConnectionPool, connect


def client(server: EmbeddedRedis, size: int, timeout: float = 5) -> Redis:
    pool = WaitingConnectionPool.from_url(server.url, max_connections=size, timeout=timeout)
    return Redis.from_pool(pool)


async def holding(redis: Redis, seconds: float) -> asyncio.Task[object]:
    """A command that keeps its connection for `seconds`."""
    task = asyncio.create_task(redis.blpop([f"held-{uuid.uuid4().hex}"], timeout=seconds))
    await asyncio.sleep(0.05)
    return task


async def test_a_burst_larger_than_the_pool_waits_and_every_command_runs(
    redis_server: EmbeddedRedis,
) -> None:
    redis = client(redis_server, size=2)
    key = f"burst-{uuid.uuid4().hex}"
    try:
        # Each BLPOP holds its connection for 50 ms: 12 of them on 2 connections.
        results = await asyncio.gather(*(redis.blpop([key], timeout=0.05) for _ in range(12)))
        assert results == [None] * 12
        await asyncio.gather(*(redis.incr(key + "n") for _ in range(200)))
        assert int(await redis.get(key + "n")) == 200
        assert len(redis.connection_pool._in_use_connections) == 0
        assert len(redis.connection_pool._available_connections) <= 2
    finally:
        await redis.aclose()


async def test_no_free_connection_within_the_timeout_is_a_clear_error(
    redis_server: EmbeddedRedis,
) -> None:
    redis = client(redis_server, size=1, timeout=0.2)
    try:
        holder = await holding(redis, 1)
        with pytest.raises(RedisConnectionError, match="No connection available"):
            await redis.ping()
        assert await holder is None
        assert await redis.ping() is True  # the connection came back
    finally:
        await redis.aclose()


async def test_a_waiter_that_is_cancelled_does_not_strand_the_next(
    redis_server: EmbeddedRedis,
) -> None:
    redis = client(redis_server, size=1, timeout=30)
    pusher = client(redis_server, size=1)
    pool = redis.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    key = f"held-{uuid.uuid4().hex}"
    try:
        # The one connection held until the test lets it go (not for a time:
        # a stalled machine must not let it go before both are waiting).
        holder = asyncio.create_task(redis.blpop([key], timeout=30))
        first = asyncio.create_task(redis.ping())
        second = asyncio.create_task(redis.ping())
        async with asyncio.timeout(10):
            while len(pool._waiters) < 2:
                await asyncio.sleep(0.01)
        first.cancel()
        await pusher.lpush(key, "go")  # type: ignore[misc]
        assert await asyncio.wait_for(second, 10) is True
        assert list(await holder or ()) == [key.encode(), b"go"]
        with pytest.raises(asyncio.CancelledError):
            await first
    finally:
        await redis.aclose()
        await pusher.aclose()


async def test_a_woken_waiter_that_leaves_passes_the_connection_on(
    redis_server: EmbeddedRedis,
) -> None:
    """Cancelled in the same loop step as it is woken: the wake-up must go to
    the next waiter, not be lost with it."""
    redis = client(redis_server, size=1, timeout=5)
    pool = redis.connection_pool
    assert isinstance(pool, WaitingConnectionPool)
    try:
        connection = await pool.get_connection()
        first = asyncio.create_task(pool.get_connection())
        second = asyncio.create_task(pool.get_connection())
        await asyncio.sleep(0.01)
        assert len(pool._waiters) == 2
        await pool.release(connection)  # wakes `first`...
        first.cancel()  # ...which leaves before it runs
        taken = await asyncio.wait_for(second, 2)
        await pool.release(taken)
        with pytest.raises(asyncio.CancelledError):
            await first
    finally:
        await redis.aclose()


async def test_the_server_client_uses_the_waiting_pool(redis_server: EmbeddedRedis) -> None:
    redis = connect(redis_server.url, max_connections=3)
    try:
        assert isinstance(redis.connection_pool, WaitingConnectionPool)
        assert redis.connection_pool.max_connections == 3
        assert await redis.ping() is True
    finally:
        await redis.aclose()
