"""On one server, the store's script calls that arrive together go in one
pipeline (eventstore.scripts); each append keeps its own atomicity, version
check and answer. Against a real server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis

from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata
from orders_gql.domain.errors import ConcurrencyConflict
from orders_gql.domain.events import DomainEvent
from orders_gql.domain.model import Order, decide
from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import EventStoreUnavailable, RedisEventStore

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def created(order_id: str, n: int = 1) -> list[DomainEvent]:
    command = CreateOrder(
        order_id, "Ada Lovelace", "ada@example.com", (ItemInput("p", "Pen", 1, Decimal("2.50")),)
    )
    return decide(Order(order_id), command, now=NOW, metadata=Metadata(f"cmd-{n}", "corr"))


@pytest.fixture
def pipelines(redis: Redis, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The pipelines the store's client opens."""
    opened: list[Any] = []
    real = redis.pipeline

    def spy(*args: Any, **kwargs: Any) -> Any:
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(redis, "pipeline", spy)
    return opened


async def test_appends_that_arrive_together_share_one_pipeline(
    store: RedisEventStore, redis: Redis, keys: KeySpace, pipelines: list[Any]
) -> None:
    ids = [f"o{n}" for n in range(20)]
    appended = await asyncio.gather(*(store.append(i, 0, created(i)) for i in ids))
    assert [a.version for a in appended] == [1] * 20
    assert len(pipelines) == 1
    log = [e[0].decode() for e in await redis.xrange(keys.log())]
    assert sorted(log) == sorted(p for a in appended for p in a.positions)  # each its own entry
    for order_id, a in zip(ids, appended, strict=True):
        (entry,) = await redis.xrange(keys.order(order_id))
        assert entry[1][b"p"].decode() == a.positions[0]


async def test_a_conflict_in_a_pipeline_refuses_that_append_alone(
    store: RedisEventStore, redis: Redis, keys: KeySpace, pipelines: list[Any]
) -> None:
    got = await asyncio.gather(
        store.append("o1", 0, created("o1", 1)),
        store.append("o1", 0, created("o1", 2)),
        store.append("o2", 0, created("o2", 3)),
        return_exceptions=True,
    )
    assert len(pipelines) == 1
    assert [type(g).__name__ for g in got] == ["Appended", "ConcurrencyConflict", "Appended"]
    assert isinstance(got[1], ConcurrencyConflict) and got[1].current_version == 1
    assert await redis.xlen(keys.order("o1")) == 1
    assert await redis.xlen(keys.log()) == 2


async def test_a_server_that_lost_its_scripts_runs_the_pipeline_anyway(
    store: RedisEventStore, redis: Redis, keys: KeySpace
) -> None:
    await redis.script_flush()  # as a restarted or new server would be
    appended = await asyncio.gather(*(store.append(f"o{n}", 0, created(f"o{n}")) for n in range(5)))
    assert [a.version for a in appended] == [1] * 5
    assert await redis.xlen(keys.log()) == 5
    assert await redis.script_exists(store._append.script.sha) == [True]


async def test_every_append_of_a_pipeline_fails_alone_when_the_server_is_down(
    own_redis_server: EmbeddedRedis,
) -> None:
    redis = Redis.from_url(own_redis_server.url, socket_connect_timeout=1)
    store = RedisEventStore(redis, KeySpace(prefix="down"))
    own_redis_server.stop()
    try:
        got = await asyncio.gather(
            *(store.append(f"o{n}", 0, created(f"o{n}")) for n in range(3)),
            return_exceptions=True,
        )
    finally:
        await redis.aclose()
    assert [type(g) for g in got] == [EventStoreUnavailable] * 3
    assert len({id(g) for g in got}) == 3
