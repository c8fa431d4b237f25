"""At start-up the projector replays everything when the read models are
empty (a new or wiped database), and otherwise resumes where it stopped."""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient

from orders_gql.embedded import EmbeddedMongo
from orders_gql.service import OrderService
from orders_gql.settings import Settings
from tests.conftest import http_client
from tests.readside import workload

from .gql import ok

COUNT = "query($p: String) { orders(consistentWith: $p) { totalCount } }"


async def checkpoint_applied(settings: Settings) -> int:
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url)
    db = client[settings.mongodb_db]
    pointer = await db["readside"].find_one({"_id": "active"})
    assert pointer is not None
    cp = await db["projection_checkpoints"].find_one({"_id": pointer["generation"]})
    await client.close()
    assert cp is not None
    return int(cp["applied"])


async def test_events_written_before_start_are_replayed_then_resumed(
    settings: Settings, service: OrderService
) -> None:
    first = await workload.run(service, workload.script(12, seed=5, prefix="x"))
    live = {o for o in {c.order_id for c in workload.script(12, seed=5, prefix="x")}}
    async with http_client(settings) as client:
        total = (await ok(client, COUNT, p=first))["orders"]["totalCount"]
    applied = await checkpoint_applied(settings)
    assert 0 < total <= len(live)
    assert applied == len(await service.store.read_log(count=10_000))

    more = await workload.run(service, workload.script(3, seed=6, prefix="y"), tag="y")
    async with http_client(settings) as client:  # a restart resumes: nothing applied twice
        await ok(client, COUNT, p=more)
    assert await checkpoint_applied(settings) == len(await service.store.read_log(count=10_000))


async def test_a_wiped_database_is_rebuilt_from_the_log(
    settings: Settings, service: OrderService, mongo_server: EmbeddedMongo
) -> None:
    last = await workload.run(service, workload.script(10, seed=8))
    async with http_client(settings) as client:
        before = (await ok(client, COUNT, p=last))["orders"]["totalCount"]
    client_: AsyncMongoClient[Any] = AsyncMongoClient(mongo_server.url)
    await client_.drop_database(settings.mongodb_db)
    await client_.close()
    async with http_client(settings) as client:
        after = (await ok(client, COUNT, p=last))["orders"]["totalCount"]
        assert after == before > 0
