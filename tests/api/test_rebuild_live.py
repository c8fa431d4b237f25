"""Rebuilding the read models while mutations continue and queries keep
answering: after the switch nothing is lost and nothing is doubled."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette

from orders_gql.domain.commands import Metadata
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside.rebuild import rebuild
from orders_gql.settings import Settings
from tests.conftest import create_app
from tests.readside import workload
from tests.readside.helpers import (
    active,
    all_orders,
    documents,
    expected_statistics,
    statistics_of,
    wait_passed,
)

from .gql import ok


async def test_rebuild_while_mutations_continue(settings: Settings) -> None:
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        parts = app.state.components
        read_side = parts.read_side
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = await workload.run(parts.service, workload.script(40, seed=1, prefix="a"))
            await wait_passed(parts.redis, read_side.keys, first)
            before = (await active(read_side.store)).generation

            rebuilt = asyncio.Event()

            async def keep_writing() -> str:
                """Mutations before, during and after the rebuild's switch."""
                commands = workload.script(300, seed=2, prefix="b")
                position, after_switch = "0-0", 0
                for n, cmd in enumerate(commands):
                    meta = Metadata(command_id=f"b-{n}", correlation_id="b")
                    position = (await parts.service.execute(cmd, metadata=meta)).position
                    await asyncio.sleep(0.002)
                    after_switch += rebuilt.is_set()
                    if after_switch == 30:
                        break
                assert after_switch == 30, "the rebuild did not finish while mutations went on"
                return position

            writing = asyncio.create_task(keep_writing())
            counts: list[int] = []

            async def keep_querying() -> None:
                while not writing.done():
                    data = await ok(client, "{ orders(first: 1) { totalCount } }")
                    counts.append(data["orders"]["totalCount"])
                    await asyncio.sleep(0.01)

            querying = asyncio.create_task(keep_querying())
            await asyncio.sleep(0.05)
            started_with = len(await parts.store.read_log(count=100_000))
            result = await rebuild(
                read_side.store, parts.store, read_side.keys, batch_size=100, drop_after=0.5
            )
            rebuilt.set()
            last = await writing
            await querying
            await wait_passed(parts.redis, read_side.keys, last)

            assert result.replaced == before
            models = await active(read_side.store)
            assert models.generation == result.generation != before
            assert len(counts) > 0  # queries answered all along, without errors
            store: RedisEventStore = parts.store
            orders = await all_orders(store)
            docs = await documents(models)
            views = {d["_id"]: (d["version"], d["status"], d["deleted"]) for d in docs["views"]}
            assert views == {
                oid: (o.version, o.status.value, o.deleted) for oid, o in orders.items()
            }
            assert statistics_of(docs) == expected_statistics(orders)
            checkpoint = await read_side.store.checkpoint(models.generation)
            assert checkpoint.applied == len(await store.read_log(count=100_000))
            # the summary counts what the switch applied as well: every event up
            # to where the old generation was when it was replaced
            assert result.skipped == [] and result.events == result.applied
            assert started_with <= result.applied <= len(await store.read_log(count=100_000))
            assert await read_side.store.checkpoint(before) is None  # old generation dropped
