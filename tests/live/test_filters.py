"""orderEvents filters and orderUpdated, through a real websocket to uvicorn."""

from __future__ import annotations

import asyncio

import pytest

from orders_gql.domain.commands import DeleteOrder, Metadata
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from .support import Running, cancel, create, move, running
from .wsclient import EVENTS, LEGACY_WS, PATIENCE, TRANSPORT_WS, UPDATED, graphql_ws


def kinds(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["type"], e["orderId"]) for e in events]


async def test_each_filter_gets_exactly_its_events_in_log_order(
    live: Running, service: OrderService, store: RedisEventStore
) -> None:
    start = await store.last_position()
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("by-order", EVENTS, orderId="o1", after=start)
        await ws.subscribe("by-email", EVENTS, customerEmail="Alice@Example.com", after=start)
        await ws.subscribe("by-type", EVENTS, types=["OrderStatusChanged"], after=start)
        await create(service, "o1", "Alice@example.com")
        await create(service, "o2", "bob@example.com")
        await create(service, "o3", "Alice@example.com")
        await move(service, "o2", OrderStatus.CONFIRMED)
        await move(service, "o1", OrderStatus.CONFIRMED)
        await cancel(service, "o3")
        last = await move(service, "o1", OrderStatus.PROCESSING)  # every filter admits it

        assert kinds(await ws.until("by-order", last.position)) == [
            ("OrderCreated", "o1"),
            ("OrderStatusChanged", "o1"),
            ("OrderStatusChanged", "o1"),
        ]
        assert kinds(await ws.until("by-email", last.position)) == [
            ("OrderCreated", "o1"),
            ("OrderCreated", "o3"),
            ("OrderStatusChanged", "o1"),
            ("OrderCancelled", "o3"),
            ("OrderStatusChanged", "o1"),
        ]
        by_type = await ws.until("by-type", last.position)
        assert kinds(by_type) == [
            ("OrderStatusChanged", "o2"),
            ("OrderStatusChanged", "o1"),
            ("OrderStatusChanged", "o1"),
        ]
        assert by_type[-1]["data"] == {"fromStatus": "confirmed", "toStatus": "processing"}
        assert by_type[-1]["version"] == 3


async def test_email_filter_knows_orders_created_before_the_server_started(
    settings: Settings, service: OrderService, store: RedisEventStore
) -> None:
    await create(service, "old-a", "carol@example.com")
    await create(service, "old-b", "dave@example.com")
    since = await store.last_position()
    async with running(settings) as live, graphql_ws(live.url) as ws:
        await ws.subscribe("carol", EVENTS, customerEmail="carol@example.com", after=since)
        await move(service, "old-b", OrderStatus.CONFIRMED)
        last = await move(service, "old-a", OrderStatus.CONFIRMED)
        assert kinds(await ws.until("carol", last.position)) == [("OrderStatusChanged", "old-a")]


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_order_updated_sends_the_order_then_each_new_state(
    live: Running, service: OrderService, protocol: str
) -> None:
    await create(service, "o1")
    async with graphql_ws(live.url, protocol) as ws:
        await ws.subscribe("1", UPDATED, orderId="o1")
        first = (await ws.data("1"))["orderUpdated"]
        assert (first["status"], first["version"], first["totalAmount"]) == ("PENDING", 1, "2.50")

        await move(service, "o1", OrderStatus.CONFIRMED)
        assert (await ws.data("1"))["orderUpdated"]["status"] == "CONFIRMED"
        await cancel(service, "o1", "out of stock")
        cancelled = (await ws.data("1"))["orderUpdated"]
        assert (cancelled["status"], cancelled["version"]) == ("CANCELLED", 3)
        assert cancelled["cancellationReason"] == "out of stock"


async def test_order_updated_completes_after_the_order_is_deleted(
    live: Running, service: OrderService
) -> None:
    await create(service, "o1")
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", UPDATED, orderId="o1")
        assert (await ws.data("1"))["orderUpdated"]["deleted"] is False
        await service.execute(DeleteOrder("o1", None), metadata=Metadata("del-1", "t"))
        assert (await ws.data("1"))["orderUpdated"]["deleted"] is True
        assert (await ws.message("1"))["type"] == "complete"


async def test_legacy_graphql_ws_streams_events_and_stops(
    live: Running, service: OrderService, store: RedisEventStore
) -> None:
    start = await store.last_position()
    async with graphql_ws(live.url, LEGACY_WS) as ws:
        await ws.subscribe("e", EVENTS, after=start)
        created = await create(service, "o1")
        event = (await ws.data("e"))["orderEvents"]
        assert (event["type"], event["position"]) == ("OrderCreated", created.position)
        await ws.stop("e")
        assert (await ws.message("e"))["type"] == "complete"
        assert live.hub.subscriber_count == 0


async def test_an_anonymous_subscription_with_inline_arguments_streams_live_events(
    live: Running, service: OrderService
) -> None:
    # as GraphiQL sends it: no operation name, no variables, no `after`
    query = 'subscription { orderEvents(customerEmail: "ann@example.com") { type orderId } }'
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("inline", query)
        async with asyncio.timeout(PATIENCE):
            while live.hub.subscriber_count == 0:
                await asyncio.sleep(0.01)
        await create(service, "o1", "ann@example.com")
        assert await ws.data("inline") == {"orderEvents": {"type": "OrderCreated", "orderId": "o1"}}
