"""Resuming with `after`: what was missed comes from the event store, then live
events follow, with no gap and no duplicate, across reconnects and restarts."""

from __future__ import annotations

import asyncio

from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from .support import Running, create, move, running
from .wsclient import EVENTS, graphql_ws

CLIENTS = 8
FLOW = [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


async def log_after(store: RedisEventStore, position: str) -> list[str]:
    return [s.position for s in await store.read_log(position, count=100_000)]


async def test_resume_after_a_reconnect_sends_what_was_missed_then_live_events(
    live: Running, service: OrderService, store: RedisEventStore
) -> None:
    start = await store.last_position()
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", EVENTS, after=start)
        first = await create(service, "o1")
        seen = await ws.until("1", first.position)

    for status in FLOW[:3]:  # while the client is away
        await move(service, "o1", status)

    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", EVENTS, after=seen[-1]["position"])
        missed = await ws.results("1", 3)
        assert [m["orderEvents"]["version"] for m in missed] == [2, 3, 4]
        last = await move(service, "o1", FLOW[3])
        assert (await ws.data("1"))["orderEvents"]["position"] == last.position
    received = [e["position"] for e in seen] + [m["orderEvents"]["position"] for m in missed]
    assert [*received, last.position] == await log_after(store, start)


async def test_resume_after_a_server_restart(
    settings: Settings, service: OrderService, store: RedisEventStore
) -> None:
    start = await store.last_position()
    async with running(settings) as live, graphql_ws(live.url) as ws:
        await ws.subscribe("1", EVENTS, orderId="o1", after=start)
        created = await create(service, "o1")
        before = await ws.until("1", created.position)

    await move(service, "o1", OrderStatus.CONFIRMED)  # while no server runs
    await create(service, "o2")

    async with running(settings) as live, graphql_ws(live.url) as ws:
        await ws.subscribe("1", EVENTS, orderId="o1", after=before[-1]["position"])
        missed = (await ws.data("1"))["orderEvents"]
        assert (missed["type"], missed["version"]) == ("OrderStatusChanged", 2)
        last = await move(service, "o1", OrderStatus.PROCESSING)
        after = (await ws.data("1"))["orderEvents"]
        assert (after["version"], after["position"]) == (3, last.position)


async def test_the_seam_between_replay_and_live_has_no_gap_and_no_duplicate(
    live: Running, service: OrderService, store: RedisEventStore
) -> None:
    """Clients join while events are being appended, each from a position of
    the past: each sees exactly the log after its position, in order."""
    positions = [await store.last_position()]
    under_way, joined = asyncio.Event(), asyncio.Event()
    subscribed: list[int] = []

    async def append() -> None:
        for n in range(150):
            positions.append((await create(service, f"o{n}")).position)
            if n == 40:
                under_way.set()
            if n == 60:
                await joined.wait()  # the clients join while appends go on

    async def client(i: int) -> list[str]:
        async with graphql_ws(live.url) as ws:
            await ws.subscribe("1", EVENTS, after=positions[i * 5])
            subscribed.append(i)
            if len(subscribed) == CLIENTS:
                joined.set()
            events: list[dict[str, str]] = []
            while not events or events[-1]["orderId"] != "o149":
                events.append((await ws.data("1"))["orderEvents"])
            return [e["position"] for e in events]

    appender = asyncio.create_task(append())
    await under_way.wait()
    results = await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    await appender
    for i, got in enumerate(results):
        assert got == await log_after(store, positions[i * 5]), f"client {i}"
