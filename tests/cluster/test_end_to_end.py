"""On a Redis Cluster with six partitions over three masters: mutations, reads
of one's own writes, subscriptions that merge every partition and resume from
an event's position, and two projector workers sharing the partitions."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from redis.asyncio.cluster import RedisCluster

from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.projector import Projector, ProjectorConfig
from orders_gql.readside.store import ReadStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from ..api.gql import change, create, ok
from ..api.test_read_queries import ORDER
from ..live.support import running
from ..live.wsclient import EVENTS, graphql_ws
from ..readside import workload
from ..readside.helpers import (
    active,
    all_orders,
    documents,
    drain,
    expected_statistics,
    statistics_of,
)

Seen = tuple[str, int]  # (order id, version)


def in_order_per_order(events: list[dict[str, Any]]) -> bool:
    versions: dict[str, list[int]] = defaultdict(list)
    for e in events:
        versions[e["orderId"]].append(e["version"])
    return all(v == list(range(v[0], v[0] + len(v))) for v in versions.values())


async def test_mutations_reads_and_resumed_subscriptions_span_every_master(
    settings: Settings,
) -> None:
    async with running(settings) as live:
        base = live.http_url.removesuffix("/graphql")
        async with httpx.AsyncClient(base_url=base) as http, graphql_ws(live.url) as ws:
            await ws.subscribe("1", EVENTS, after="0-0")  # every partition from the start
            written: set[Seen] = set()
            for n in range(12):
                order_id, position = await create(http, name=f"Customer {n}")
                order = (await ok(http, ORDER, id=order_id, pos=position))["order"]
                assert (order["status"], order["version"]) == ("PENDING", 1)  # read my write
                written.add((order_id, 1))
                if n % 2:
                    position = await change(http, order_id, "CONFIRMED")
                    order = (await ok(http, ORDER, id=order_id, pos=position))["order"]
                    assert order["status"] == "CONFIRMED"
                    written.add((order_id, 2))
            first = [(await ws.data("1"))["orderEvents"] for _ in written]
        assert {(e["orderId"], e["version"]) for e in first} == written
        assert in_order_per_order(first)

        resume_at = first[6]["position"]  # names every partition
        missed_before = {(e["orderId"], e["version"]) for e in first[7:]}
        async with httpx.AsyncClient(base_url=base) as http:
            extra_id, _ = await create(http, name="While away")
        async with graphql_ws(live.url) as ws:
            await ws.subscribe("1", EVENTS, after=resume_at)
            again = [(await ws.data("1"))["orderEvents"] for _ in range(len(missed_before) + 1)]
            with pytest.raises(TimeoutError):  # nothing else comes: no duplicate
                async with asyncio.timeout(0.3):
                    await ws.message("1")
        assert {(e["orderId"], e["version"]) for e in again} == missed_before | {(extra_id, 1)}
        assert in_order_per_order(again)


async def test_two_projector_workers_share_the_partitions_and_apply_each_event_once(
    redis: RedisCluster, key_prefix: str, settings: Settings
) -> None:
    keys = KeySpace(key_prefix, partitions=6)
    store = RedisEventStore(redis, keys)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    read_store = ReadStore(mongo, settings.mongodb_db)
    pkeys = ProjectorKeys(keys)
    config = ProjectorConfig(batch_size=7, block_ms=20, claim_idle_ms=500)
    first, second = (Projector(redis, read_store, store, pkeys, config, n) for n in "ab")
    try:
        await first.start()
        last = await workload.run(OrderService(store), workload.script(30))
        await asyncio.gather(drain(first, last), drain(second, last))
        everywhere = "9999999999999-0"  # a plain id: every partition, up to now
        await asyncio.gather(drain(first, everywhere), drain(second, everywhere))
        models = await active(read_store)
        checkpoint = await read_store.checkpoint(models.generation)
        total = sum([await redis.xlen(keys.log(p)) for p in range(6)])
        assert checkpoint is not None and checkpoint.applied == total
        orders: dict[str, Any] = {}
        for p in range(6):
            orders |= await all_orders(store, partition=p)
        assert statistics_of(await documents(models)) == expected_statistics(orders)
    finally:
        await first.close()
        await second.close()
        await mongo.close()
