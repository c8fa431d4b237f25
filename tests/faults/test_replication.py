"""ORDERS_REDIS_WAIT_REPLICAS: an append is acknowledged only once a replica
has it; without a replica in time the caller is told, and a retry with the
same idempotency key returns the result without appending again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from orders_gql.domain.commands import Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import NotReplicated, RedisEventStore
from orders_gql.service import OrderService

from ..eventstore.test_redis_store import create


@pytest.fixture
def replica(own_redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "replica", appendfsync="always")
    server.start()
    yield server
    server.stop()


async def follow(replica: EmbeddedRedis, primary: EmbeddedRedis) -> None:
    """`replica` replicates `primary`, once it has acknowledged a write made
    after it came online: the primary reports a replica online before it has
    taken up the stream (then an append waited over 300 ms for its
    acknowledgement, in one run of twenty)."""
    on_primary = Redis.from_url(primary.url)
    # It waits 5 s (repl-diskless-sync-delay) for more replicas before it
    # streams a full resync to one; these tests have one.
    await on_primary.config_set("repl-diskless-sync-delay", 0)
    client = Redis.from_url(replica.url)
    await client.execute_command("REPLICAOF", "127.0.0.1", primary.port)
    for _ in range(100):  # online: WAIT counts acknowledgements of this connection's writes
        if await on_primary.execute_command("WAIT", 1, 100) >= 1:
            break
    else:
        pytest.fail("the replica did not come online within 10 s")
    for _ in range(100):
        await on_primary.incr("follow:probe")
        if await on_primary.execute_command("WAIT", 1, 100) >= 1:
            break
    else:
        pytest.fail("the replica did not acknowledge a write within 10 s")
    await on_primary.delete("follow:probe")
    await client.aclose()
    await on_primary.aclose()


async def waiting_for_a_replica(
    server: EmbeddedRedis, keys: KeySpace, timeout_ms: int
) -> AsyncIterator[OrderService]:
    client = Redis.from_url(server.url)
    store = RedisEventStore(client, keys, wait_replicas=1, wait_timeout_ms=timeout_ms)
    yield OrderService(store)
    await store.aclose()
    await client.aclose()


@pytest.fixture
async def service(own_redis_server: EmbeddedRedis, keys: KeySpace) -> AsyncIterator[OrderService]:
    """Waits 300 ms for a replica: a test that expects none waits that long."""
    async for service in waiting_for_a_replica(own_redis_server, keys, 300):
        yield service


@pytest.fixture
async def patient_service(
    own_redis_server: EmbeddedRedis, keys: KeySpace
) -> AsyncIterator[OrderService]:
    """Waits up to 5 s for a replica: on a busy machine a replica that
    fsyncs every write (`appendfsync always`) can take longer than 300 ms,
    and the test is about what an acknowledgement promises, not how fast."""
    async for service in waiting_for_a_replica(own_redis_server, keys, 5000):
        yield service


async def test_acknowledged_appends_are_on_the_replica(
    own_redis_server: EmbeddedRedis,
    replica: EmbeddedRedis,
    patient_service: OrderService,
    keys: KeySpace,
) -> None:
    await follow(replica, own_redis_server)
    for n in range(20):
        await patient_service.execute(create(f"o{n}"), metadata=Metadata(f"c{n}", "r"))
        # acknowledged: the replica has it already, without waiting
        on_replica = Redis.from_url(replica.url)
        assert await on_replica.xlen(keys.order(f"o{n}")) == 1
        await on_replica.aclose()


async def test_without_a_replica_in_time_the_caller_is_told_and_a_retry_is_safe(
    own_redis_server: EmbeddedRedis, replica: EmbeddedRedis, service: OrderService, keys: KeySpace
) -> None:
    await follow(replica, own_redis_server)
    await service.execute(create("o1"), metadata=Metadata("c0", "r"))
    replica.kill()
    with pytest.raises(NotReplicated) as told:
        await service.execute(create("lonely"), metadata=Metadata("c1", "r"), idempotency_key="k1")
    assert told.value.confirmed == 0
    confirm = UpdateOrderStatus("o1", OrderStatus.CONFIRMED)
    with pytest.raises(NotReplicated):
        await service.execute(confirm, metadata=Metadata("c2", "r"), idempotency_key="k2")
    # A retry before a replica has the first attempt is not acknowledged either.
    with pytest.raises(NotReplicated):
        await service.execute(create("lonely"), metadata=Metadata("c3", "r"), idempotency_key="k1")
    with pytest.raises(NotReplicated):
        await service.execute(confirm, metadata=Metadata("c4", "r"), idempotency_key="k2")
    replica.start()
    await follow(replica, own_redis_server)
    again = await service.execute(
        create("lonely"), metadata=Metadata("c5", "r"), idempotency_key="k1"
    )
    assert again.replayed and again.order.version == 1
    confirmed = await service.execute(confirm, metadata=Metadata("c6", "r"), idempotency_key="k2")
    assert confirmed.replayed and confirmed.order.status is OrderStatus.CONFIRMED
    primary = Redis.from_url(own_redis_server.url)
    assert await primary.xlen(keys.order("lonely")) == 1
    assert await primary.xlen(keys.order("o1")) == 2
    await primary.aclose()
