"""On a Redis Cluster, a poison event is parked (the dead letter, the block
and the acknowledgement in one transaction on its partition's slot), the
others flow, and operators see it."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import orjson
from redis.asyncio.cluster import RedisCluster

from orders_gql.eventstore.keys import KeySpace
from orders_gql.settings import Settings

from ..api.gql import change, create, ok
from ..api.test_dead_letters import LETTERS, ORDER
from ..conftest import http_client


async def test_a_poison_event_is_parked_and_listed(settings: Settings, redis: RedisCluster) -> None:
    keys = KeySpace(settings.key_prefix, settings.partitions)
    async with http_client(settings) as client:
        poisoned, _ = await create(client, name="Poisoned")
        raw = orjson.dumps({
            "type": "OrderStatusChanged", "schemaVersion": 0, "eventId": "old-2",
            "orderId": poisoned, "version": 2, "occurredAt": datetime.now(UTC).isoformat(),
            "metadata": {}, "data": {"from": "pending", "to": "confirmed"},
        })  # fmt: skip
        log = keys.log(keys.partition_of(poisoned))
        position = await redis.xadd(log, {"e": raw})
        await redis.xadd(keys.order(poisoned), {"e": raw, "p": position}, id="2-0")
        healthy, _ = await create(client, name="Healthy")
        pos = await change(client, healthy, "CONFIRMED")
        assert (await ok(client, ORDER, id=healthy, p=pos))["order"]["status"] == "CONFIRMED"
        deadline = time.monotonic() + 30  # parked after 3 attempts
        while not (letters := (await ok(client, LETTERS))["deadLetters"]):
            assert time.monotonic() < deadline, "the poison was not parked"
            await asyncio.sleep(0.05)
        assert [(x["orderId"], x["version"]) for x in letters] == [(poisoned, 2)]
