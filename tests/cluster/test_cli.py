"""`orders-gql events` and `check` on a Redis Cluster: the log of every
partition, and resuming after a line's position prints exactly the rest."""

from __future__ import annotations

import json

from redis.asyncio.cluster import RedisCluster

from orders_gql.domain.commands import Metadata
from orders_gql.embedded_cluster import EmbeddedCluster
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService

from ..eventstore.test_redis_store import create
from ..test_cli_tools import cli


async def test_events_reads_every_partition_and_resumes_after_a_line(
    cluster: EmbeddedCluster, redis: RedisCluster, key_prefix: str
) -> None:
    service = OrderService(RedisEventStore(redis, KeySpace(key_prefix, partitions=6)))
    for n in range(12):
        await service.execute(create(f"o{n}"), metadata=Metadata(f"c{n}", "r"))
    env = {
        "ORDERS_REDIS_URL": cluster.url,
        "ORDERS_REDIS_CLUSTER": "true",
        "ORDERS_PARTITIONS": "6",
        "ORDERS_KEY_PREFIX": key_prefix,
    }
    out = cli("events", **env)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert sorted(e["orderId"] for e in lines) == sorted(f"o{n}" for n in range(12))
    rest = cli("events", "--after", lines[4]["position"], **env)
    assert [json.loads(x)["orderId"] for x in rest.stdout.splitlines()] == [
        e["orderId"] for e in lines[5:]
    ]
    check = cli("check", **env)
    assert check.stdout.startswith("redis    ok"), check.stdout
