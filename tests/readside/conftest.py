"""Read-side fixtures: a ReadStore on the test's own database, projector keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring
from redis.asyncio import Redis

from orders_gql.embedded import EmbeddedMongo
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.projector import Projector, ProjectorConfig
from orders_gql.readside.store import ReadStore

from .helpers import Commands


@pytest.fixture
async def mongo(mongo_server: EmbeddedMongo) -> AsyncIterator[AsyncMongoClient[Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_server.url, tz_aware=True)
    yield client
    await client.close()


@pytest.fixture
def read_store(mongo: AsyncMongoClient[Any], mongo_db: str) -> ReadStore:
    return ReadStore(mongo, mongo_db)


@pytest.fixture
def pkeys(keys: KeySpace) -> ProjectorKeys:
    return ProjectorKeys(keys)


@pytest.fixture
def make_projector(
    redis: Redis, read_store: ReadStore, store: RedisEventStore, pkeys: ProjectorKeys
) -> Any:
    def make(name: str, **config: Any) -> Projector:
        settings = {"block_ms": 20, "claim_idle_ms": 200, "max_attempts": 3, **config}
        return Projector(redis, read_store, store, pkeys, ProjectorConfig(**settings), name)

    return make


@pytest.fixture
async def client_with(
    mongo_server: EmbeddedMongo,
) -> AsyncIterator[Callable[[monitoring.CommandListener], AsyncMongoClient[Any]]]:
    """Clients of the test server that tell `listener` every command they send."""
    clients: list[AsyncMongoClient[Any]] = []

    def make(listener: monitoring.CommandListener) -> AsyncMongoClient[Any]:
        clients.append(
            AsyncMongoClient(mongo_server.url, tz_aware=True, event_listeners=[listener])
        )
        return clients[-1]

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
def watched(
    client_with: Callable[[monitoring.CommandListener], AsyncMongoClient[Any]], mongo_db: str
) -> tuple[ReadStore, Commands]:
    """A ReadStore whose commands are recorded."""
    commands = Commands()
    return ReadStore(client_with(commands), mongo_db), commands
