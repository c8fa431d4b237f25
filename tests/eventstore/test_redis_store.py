"""The event store contract, against a real Redis-compatible server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata, UpdateOrderStatus
from orders_gql.domain.errors import ConcurrencyConflict, InvalidStatusTransition
from orders_gql.domain.model import Order, decide
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.codec import decode_event
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import DuplicateCommand, RedisEventStore
from orders_gql.service import OrderService

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def meta(n: int = 1) -> Metadata:
    return Metadata(command_id=f"cmd-{n}", correlation_id="corr")


def create(order_id: str = "o1") -> CreateOrder:
    return CreateOrder(
        order_id, "Ada Lovelace", "ada@example.com", (ItemInput("p", "Pen", 1, Decimal("2.50")),)
    )


async def test_append_writes_order_stream_and_log(
    store: RedisEventStore, redis: Redis, keys: KeySpace
) -> None:
    events = decide(Order("o1"), create(), now=NOW, metadata=meta())
    appended = await store.append("o1", 0, events)
    assert appended.version == 1
    entries = await redis.xrange(keys.order("o1"))
    assert [e[0] for e in entries] == [b"1-0"]
    assert decode_event(entries[0][1][b"e"]) == events[0]
    assert entries[0][1][b"p"].decode() == appended.positions[0]
    log = await redis.xrange(keys.log())
    assert [e[0].decode() for e in log] == appended.positions


async def test_stale_version_conflicts_and_writes_nothing(
    store: RedisEventStore, redis: Redis, keys: KeySpace
) -> None:
    await store.append("o1", 0, decide(Order("o1"), create(), now=NOW, metadata=meta()))
    again = decide(Order("o1"), create(), now=NOW, metadata=meta(2))
    with pytest.raises(ConcurrencyConflict) as conflict:
        await store.append("o1", 0, again, idempotency_key="k", snapshot=Order("o1", version=1))
    assert conflict.value.current_version == 1
    assert await redis.xlen(keys.order("o1")) == 1
    assert await redis.xlen(keys.log()) == 1
    assert not await redis.exists(keys.idempotency("o1", "k"), keys.snapshot("o1"))


async def test_duplicate_idempotency_key_appends_nothing(
    store: RedisEventStore, redis: Redis, keys: KeySpace
) -> None:
    first = decide(Order("o1"), create(), now=NOW, metadata=meta())
    done = await store.append("o1", 0, first, idempotency_key="key-1", fingerprint="f")
    with pytest.raises(DuplicateCommand) as dup:
        await store.append("o1", 1, first, idempotency_key="key-1", fingerprint="f")
    assert dup.value.record.version == 1
    assert dup.value.record.position == done.positions[-1]
    assert await redis.xlen(keys.log()) == 1


async def test_hash_tag_puts_an_orders_keys_in_one_slot() -> None:
    keys = KeySpace("orders", partitions=4)
    order_keys = [
        keys.order("abc"),
        keys.snapshot("abc"),
        keys.idempotency("abc", "k"),
        keys.log(keys.partition_of("abc")),
    ]
    tags = {k[k.index("{") + 1 : k.index("}")] for k in order_keys}
    assert len(tags) == 1


async def test_idempotency_survives_a_server_restart(
    own_redis_server: EmbeddedRedis, keys: KeySpace
) -> None:
    client = Redis.from_url(own_redis_server.url)
    service = OrderService(RedisEventStore(client, keys))
    first = await service.execute(create("o9"), metadata=meta(), idempotency_key="retry-me")
    await client.aclose()

    own_redis_server.kill()  # a crash, not a clean shutdown: AOF with appendfsync always
    own_redis_server.start()

    client = Redis.from_url(own_redis_server.url)
    service = OrderService(RedisEventStore(client, keys))
    again = await service.execute(create("o9"), metadata=meta(2), idempotency_key="retry-me")
    assert again.replayed
    assert again.position == first.position
    assert again.order == first.order
    assert await client.xlen(keys.order("o9")) == 1
    await client.aclose()


async def test_fifty_concurrent_status_updates_leave_a_valid_chain(
    service: OrderService, store: RedisEventStore
) -> None:
    await service.execute(create(), metadata=meta())
    flow = [
        OrderStatus.CONFIRMED,
        OrderStatus.PROCESSING,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
    ]
    commands = [UpdateOrderStatus("o1", flow[i % 4]) for i in range(50)]

    async def run(i: int, cmd: UpdateOrderStatus) -> object:
        try:
            return await service.execute(cmd, metadata=meta(100 + i))
        except (InvalidStatusTransition, ConcurrencyConflict) as err:
            return err

    outcomes = await asyncio.gather(*(run(i, c) for i, c in enumerate(commands)))
    stored = await store.read_stream("o1")
    assert [s.event.version for s in stored] == list(range(1, len(stored) + 1))
    successes = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(successes) == len(stored) - 1
    statuses = [s.event.to_status for s in stored[1:]]  # type: ignore[attr-defined]
    assert statuses == flow[: len(statuses)]  # only valid transitions were stored, in order
    assert all(
        isinstance(o, InvalidStatusTransition | ConcurrencyConflict)
        for o in outcomes
        if isinstance(o, Exception)
    )


async def test_expected_version_mismatch_is_a_typed_conflict(
    service: OrderService, store: RedisEventStore
) -> None:
    await service.execute(create(), metadata=meta())
    await service.execute(UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=meta(2))
    with pytest.raises(ConcurrencyConflict) as conflict:
        await service.execute(
            UpdateOrderStatus("o1", OrderStatus.PROCESSING), metadata=meta(3), expected_version=1
        )
    assert (conflict.value.expected_version, conflict.value.current_version) == (1, 2)
    assert len(await store.read_stream("o1")) == 2


async def test_read_log_pages_in_position_order(
    service: OrderService, store: RedisEventStore
) -> None:
    for n in range(5):
        await service.execute(create(f"o{n}"), metadata=meta(n))
    first = await store.read_log(count=3)
    rest = await store.read_log(after=first[-1].position, count=10)
    assert [s.event.order_id for s in first + rest] == [f"o{n}" for n in range(5)]
    assert await store.last_position() == rest[-1].position
