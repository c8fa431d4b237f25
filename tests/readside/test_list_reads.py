"""What a list query reads: the page only when its orders or pageInfo are
asked for, read once for both; the count of no filter and of a status from
the summary, other counts from the views. Each answer is the one the views
hold (a workload of creates, status changes, cancels and deletes)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside import queries as rq
from orders_gql.readside.batch import ReadSideUnavailable
from orders_gql.readside.generations import ReadModels
from orders_gql.readside.store import Delivery, ReadStore
from orders_gql.service import OrderService

from . import workload
from .helpers import Commands, active


async def _projected(
    read_store: ReadStore, service: OrderService, store: RedisEventStore
) -> ReadModels:
    await workload.run(service, workload.script(40, seed=5))
    await read_store.ensure_active()
    await read_store.apply([Delivery(s.event, s.position) for s in await store.read_log()])
    return await active(read_store)


async def _matching(models: ReadModels, spec: rq.OrderFilterSpec) -> list[str]:
    views = models.views.get_pymongo_collection()
    found = await views.find(spec.query()).sort(rq._NEWEST).to_list()
    return [v["_id"] for v in found]


SPECS = [
    rq.OrderFilterSpec(),
    rq.OrderFilterSpec(status="pending"),
    rq.OrderFilterSpec(status="cancelled"),
    rq.OrderFilterSpec(status="delivered"),
    rq.OrderFilterSpec(status="shipped", customer_email="customer3@example.com"),
    rq.OrderFilterSpec(customer_email="customer3@example.com"),
]


async def test_counts_are_what_the_views_hold_and_read_the_summary_when_it_has_them(
    watched: tuple[ReadStore, Commands], service: OrderService, store: RedisEventStore
) -> None:
    read_store, commands = watched
    models = await _projected(read_store, service, store)
    views = models.views.get_pymongo_collection().name
    summary = models.summary.get_pymongo_collection().name
    counted = []
    for spec in SPECS:
        matching = await _matching(models, spec)
        commands.sent.clear()

        assert await rq.list_orders(models, spec, 20, None).count() == len(matching), spec

        if spec.customer_email is None:  # one summary document, no pass over the views
            assert commands.sent == [("find", summary)]
        else:
            assert commands.sent == [("aggregate", views)]
        counted.append(len(matching))
    assert counted[0] > counted[1] > 0 and counted[2] > 0  # the workload has them all
    assert counted[0] < 40  # deleted orders are not counted


async def test_the_page_is_read_once_and_only_when_asked_for(
    watched: tuple[ReadStore, Commands], service: OrderService, store: RedisEventStore
) -> None:
    read_store, commands = watched
    models = await _projected(read_store, service, store)
    views = models.views.get_pymongo_collection().name
    for spec in SPECS:
        matching = await _matching(models, spec)
        commands.sent.clear()

        page = rq.list_orders(models, spec, 5, None)
        assert commands.sent == []  # nothing read yet
        rows, again = await asyncio.gather(page.rows(), page.rows())  # edges and pageInfo

        assert rows is again
        assert commands.sent == [("find", views)]
        assert [v["_id"] for v in rows.items] == matching[:5]
        assert rows.has_next == (len(matching) > 5)
        if rows.end_cursor is not None:  # the next page goes on from there
            after = await rq.list_orders(models, spec, 100, rows.end_cursor).rows()
            assert [v["_id"] for v in after.items] == matching[5:]


async def test_a_read_shared_by_two_fields_outlives_one_that_is_cancelled() -> None:
    calls = []

    async def read() -> str:
        calls.append(1)
        await asyncio.sleep(0.05)
        return "rows"

    shared = rq.once(read)
    edges = asyncio.ensure_future(shared())
    page_info = asyncio.ensure_future(shared())
    await asyncio.sleep(0.01)
    edges.cancel()

    assert await page_info == "rows"
    assert calls == [1]


async def test_a_failed_read_whose_fields_were_cancelled_reports_nothing_unretrieved() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: reported.append(context))

    async def read() -> str:
        await asyncio.sleep(0.02)
        raise ReadSideUnavailable("down")

    try:
        edges = asyncio.ensure_future(rq.once(read)())
        await asyncio.sleep(0.005)
        edges.cancel()
        await asyncio.sleep(0.05)  # the read fails with nobody waiting
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert reported == []
