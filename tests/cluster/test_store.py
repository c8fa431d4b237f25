"""The event store contract on a Redis Cluster: the single-server contract
tests run here unchanged, and a partitioned key space spreads orders over
every master while each append stays in one slot."""

from __future__ import annotations

import asyncio

from redis.asyncio.cluster import RedisCluster

from orders_gql.app import build_components
from orders_gql.domain.commands import Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded_cluster import EmbeddedCluster
from orders_gql.eventstore.connect import HiredisPacking, connect
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from ..eventstore.test_redis_store import (  # the contract, run against the cluster
    create,
    test_append_writes_order_stream_and_log,
    test_duplicate_idempotency_key_appends_nothing,
    test_expected_version_mismatch_is_a_typed_conflict,
    test_fifty_concurrent_status_updates_leave_a_valid_chain,
    test_read_log_pages_in_position_order,
    test_stale_version_conflicts_and_writes_nothing,
)

__all__ = [
    "test_append_writes_order_stream_and_log",
    "test_duplicate_idempotency_key_appends_nothing",
    "test_expected_version_mismatch_is_a_typed_conflict",
    "test_fifty_concurrent_status_updates_leave_a_valid_chain",
    "test_read_log_pages_in_position_order",
    "test_stale_version_conflicts_and_writes_nothing",
]


async def test_partitions_spread_over_every_master(
    cluster: EmbeddedCluster, redis: RedisCluster, key_prefix: str
) -> None:
    keys = KeySpace(key_prefix, partitions=6)
    service = OrderService(RedisEventStore(redis, keys), snapshot_every=2)
    for n in range(24):
        await service.execute(create(f"o{n}"), metadata=Metadata(f"c{n}", "r"))
        await service.execute(
            UpdateOrderStatus(f"o{n}", OrderStatus.CONFIRMED),
            metadata=Metadata(f"u{n}", "r"),
            idempotency_key=f"k{n}",
        )
    holders = {redis.get_node_from_key(keys.log(p)).port for p in range(6)}  # type: ignore[union-attr]
    assert holders == {n.port for n in cluster.masters()}
    for n in range(24):
        order = await service.get(f"o{n}")  # snapshot (version 2) + no tail
        assert (order.version, order.status) == (2, OrderStatus.CONFIRMED)
        again = await service.execute(
            UpdateOrderStatus(f"o{n}", OrderStatus.CONFIRMED),
            metadata=Metadata(f"v{n}", "r"),
            idempotency_key=f"k{n}",
        )
        assert again.replayed and again.order.version == 2
    total = sum([await redis.xlen(keys.log(p)) for p in range(6)])
    assert total == 48


async def test_a_burst_of_commands_on_a_new_client_all_succeed(settings: Settings) -> None:
    parts = build_components(settings)
    await parts.open()
    try:
        done = await asyncio.gather(
            *(
                parts.service.execute(create(f"b{n}"), metadata=Metadata(f"b{n}", "r"))
                for n in range(48)
            )
        )
        assert {d.order.version for d in done} == {1}
    finally:
        await parts.aclose()


async def test_a_cluster_clients_connections_pack_with_hiredis(
    cluster: EmbeddedCluster, key_prefix: str
) -> None:
    """The server's cluster client packs commands with hiredis on every node,
    the seed and those found later, as the single-server client does
    (tests/eventstore/test_packing.py holds the packing to redis-py's)."""
    client = connect(cluster.url, cluster=True)
    try:
        keys = [f"{key_prefix}:{{t{n}}}" for n in range(30)]  # hash tags over every master
        for key in keys:
            await client.set(key, "v")
        assert await client.mget(keys[:1]) == [b"v"]
        assert [await client.get(key) for key in keys] == [b"v"] * len(keys)
        used = [node for node in client.get_nodes() if node._connections]
        assert len(used) == len(cluster.masters())
        seeds = list(client.nodes_manager.startup_nodes.values())  # asked for the slot map
        connections = [c for node in used + seeds for c in node._connections]
        assert connections and all(isinstance(c, HiredisPacking) for c in connections)
    finally:
        await client.aclose()
