"""Redis/Valkey killed with SIGKILL during a stream of mutations: with
appendfsync always, every acknowledged mutation survives; requests made while
it is down fail fast with a clear error and write nothing partial."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from redis.asyncio import Redis

from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.keys import KeySpace
from orders_gql.settings import Settings

from ..api.graphql_client import CREATE, UPDATE, gql, order_input
from ..conftest import http_client


async def test_acknowledged_mutations_survive_a_sigkill(
    own_redis_server: EmbeddedRedis, settings: Settings, keys: KeySpace
) -> None:
    config = dataclasses.replace(settings, redis_url=own_redis_server.url)
    acknowledged: dict[str, int] = {}  # orderId -> version the client was told
    failures: list[dict[str, object]] = []
    down_latencies: list[float] = []

    async with http_client(config) as client:

        async def worker(n: int) -> None:
            order_id: str | None = None
            for step in range(40):
                started = time.monotonic()
                if order_id is None:
                    body = await gql(client, CREATE, {"input": order_input(), "key": f"w{n}"})
                    result = (body.get("data") or {}).get("createOrder")
                else:
                    status = ["CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED"][step % 4]
                    body = await gql(client, UPDATE, {"id": order_id, "status": status})
                    result = (body.get("data") or {}).get("updateOrderStatus")
                if body.get("errors"):
                    failures.append(body["errors"][0])
                    down_latencies.append(time.monotonic() - started)
                elif result and result["__typename"] == "OrderPayload":
                    order_id = result["order"]["orderId"]
                    acknowledged[order_id] = result["order"]["version"]
                await asyncio.sleep(0.01)

        async def crash() -> None:
            await asyncio.sleep(0.15)
            own_redis_server.kill()
            await asyncio.sleep(0.3)
            own_redis_server.start()

        await asyncio.gather(*(worker(n) for n in range(8)), crash())

    assert acknowledged, "no mutation was acknowledged"
    assert failures, "the crash did not hit any request"
    assert {f["extensions"]["code"] for f in failures} == {"SERVICE_UNAVAILABLE"}  # type: ignore[index]
    assert max(down_latencies) < 3.0  # failed fast, no hang
    redis = Redis.from_url(own_redis_server.url)
    try:
        for order_id, version in acknowledged.items():
            entries = await redis.xrange(keys.order(order_id))
            versions = [int(e[0].split(b"-")[0]) for e in entries]
            assert versions == list(range(1, len(versions) + 1))  # a valid chain, no gap
            assert len(versions) >= version  # nothing acknowledged was lost
        streams = [k async for k in redis.scan_iter(match=keys.order("*"))]
        stream_total = sum([await redis.xlen(k) for k in streams])
        assert await redis.xlen(keys.log()) == stream_total  # every event in both places
    finally:
        await redis.aclose()
