"""A master killed during a stream of mutations: its replica takes over, the
writers go on, and with ORDERS_REDIS_WAIT_REPLICAS=1 no acknowledged event is
lost (each was on a replica before it was acknowledged); a live subscription
gets every acknowledged event, across the failover."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import RedisCluster

from orders_gql.domain.commands import Metadata
from orders_gql.embedded_cluster import EmbeddedCluster, wait_for
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.positions import parse_position
from orders_gql.eventstore.redis_store import EventStoreUnavailable, RedisEventStore
from orders_gql.live.hub import LiveHub
from orders_gql.live.log_tail import LogTail
from orders_gql.live.subscription import EventFilter, Subscription
from orders_gql.service import OrderService

from ..eventstore.test_redis_store import create

pytestmark = pytest.mark.slow

ORDERS = 120
KILL_AFTER = 40


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(tmp_path / "cluster", masters=3, replicas=1) as running:
        yield running


async def listen(subscription: Subscription, delivered: set[str]) -> None:
    while (stored := await subscription.get()) is not None:
        delivered.add(stored.event.order_id)


async def write_all(service: OrderService, acknowledged: dict[str, str], deadline: float) -> None:
    """Create the orders one after another; a failed call is retried with its
    idempotency key, so a retry never appends twice."""
    for n in range(ORDERS):
        while True:
            assert time.monotonic() < deadline, f"order {n} was never acknowledged"
            try:
                done = await service.execute(
                    create(f"o{n}"), metadata=Metadata(f"c{n}", "r"), idempotency_key=f"k{n}"
                )
            except EventStoreUnavailable:
                await asyncio.sleep(0.05)  # a failover in progress
                continue
            acknowledged[f"o{n}"] = done.position
            break


async def test_with_wait_no_acknowledged_event_is_lost_when_a_master_dies(
    replicated: EmbeddedCluster,
) -> None:
    keys = KeySpace("failover", partitions=6)
    redis = RedisCluster.from_url(replicated.url, socket_timeout=2, socket_connect_timeout=1)
    store = RedisEventStore(redis, keys, wait_replicas=1, wait_timeout_ms=500)
    acknowledged: dict[str, str] = {}
    hub = LiveHub(LogTail(store, block_ms=200))
    await hub.start()
    await hub.ready()
    delivered: set[str] = set()
    listener = asyncio.create_task(listen(hub.subscribe(EventFilter()), delivered))
    writer = asyncio.create_task(
        write_all(OrderService(store), acknowledged, time.monotonic() + 60)
    )
    try:
        async with asyncio.timeout(30):
            while len(acknowledged) < KILL_AFTER:
                await asyncio.sleep(0.01)
        victim = next(
            n for n in replicated.masters() if n.port == redis.get_node_from_key(keys.log(0)).port
        )
        replicated.kill(victim)
        killed_at = len(acknowledged)
        await asyncio.to_thread(replicated.wait_for_failover, victim, 30.0)
        # The new master has no replica: with WAIT, its shard acknowledges
        # nothing until the old master is back, as its replica.
        await asyncio.to_thread(victim.start)
        await asyncio.to_thread(wait_for, replicated.is_healthy, 30.0, "the old master rejoined")
        await writer
        assert len(acknowledged) == ORDERS and killed_at < ORDERS  # it went on after the kill

        check = RedisCluster.from_url(replicated.url)
        try:
            logs = {p: await check.xrange(keys.log(p)) for p in range(keys.partitions)}
            on_log = {(p, e[0].decode()) for p, entries in logs.items() for e in entries}
            for order_id, position in acknowledged.items():
                assert await check.xlen(keys.order(order_id)) == 1, order_id
                [(partition, entry_id)] = parse_position(position, keys.partitions).named().items()
                assert (partition, entry_id) in on_log, order_id
        finally:
            await check.aclose()
        async with asyncio.timeout(30):  # the subscriber got every acknowledged event
            while not set(acknowledged) <= delivered:
                await asyncio.sleep(0.05)
    finally:
        writer.cancel()
        listener.cancel()
        await asyncio.gather(writer, listener, return_exceptions=True)
        try:
            await hub.stop()
        finally:  # else its connections are left to the collector, a later test's warning
            await store.aclose()
            await redis.aclose()
