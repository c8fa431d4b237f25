"""Event versioning: OrderCreated v1 (items with `unitPrice`, no `subtotal`) is
stored exactly as the old code wrote it and read as v2."""

from __future__ import annotations

from decimal import Decimal

import httpx
import orjson
from redis.asyncio import Redis

from orders_gql.domain.commands import Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.keys import KeySpace
from orders_gql.service import OrderService

from ..api.graphql_client import create_order, gql

V1_CREATED = {
    "type": "OrderCreated",
    "schemaVersion": 1,
    "eventId": "2b1f0c7e-0000-4000-8000-000000000001",
    "orderId": "legacy-1",
    "version": 1,
    "occurredAt": "2025-06-01T10:00:00+00:00",
    "metadata": {"commandId": "c-legacy", "correlationId": "r-legacy", "issuedBy": None},
    "data": {
        "customerName": "Old Timer",
        "customerEmail": "old@example.com",
        "items": [
            {"productId": "sku-9", "productName": "Typewriter", "quantity": 2, "unitPrice": "60.25"}
        ],
        "totalAmount": "120.50",
    },
}


async def store_v1(redis: Redis, keys: KeySpace) -> str:
    """Write the event as the v1 code did: to the log and to the order stream."""
    raw = orjson.dumps(V1_CREATED)
    position = await redis.xadd(keys.log(), {"e": raw})
    await redis.xadd(keys.order("legacy-1"), {"e": raw, "p": position}, id="1-0")
    return str(position.decode())


async def test_v1_events_load_and_accept_new_commands(
    service: OrderService, redis: Redis, keys: KeySpace
) -> None:
    await store_v1(redis, keys)
    order = await service.get("legacy-1")
    assert [(i.price, i.subtotal) for i in order.items] == [(Decimal("60.25"), Decimal("120.50"))]
    result = await service.execute(
        UpdateOrderStatus("legacy-1", OrderStatus.CONFIRMED), metadata=Metadata("c2", "r2")
    )
    assert result.order.version == 2
    stored = await redis.xrange(keys.order("legacy-1"))
    assert orjson.loads(stored[0][1][b"e"])["schemaVersion"] == 1  # history is never rewritten


async def test_v1_order_projected_and_queried_through_graphql(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    position = await store_v1(redis, keys)
    # The projector replays the v1 event into the read model; the query waits for it.
    body = await gql(
        client,
        'query($pos: String) { order(orderId: "legacy-1", consistentWith: $pos) '
        "{ totalAmount items { price subtotal } } }",
        {"pos": position},
    )
    assert body["data"]["order"] == {
        "totalAmount": "120.50",
        "items": [{"price": "60.25", "subtotal": "120.50"}],
    }
    history = await gql(client, '{ orderHistory(orderId: "legacy-1") { schemaVersion data } }')
    (created,) = history["data"]["orderHistory"]
    assert created["schemaVersion"] == 2
    assert created["data"]["items"][0] == {
        "productId": "sku-9",
        "productName": "Typewriter",
        "quantity": 2,
        "price": "60.25",
        "subtotal": "120.50",
    }


async def test_new_orders_are_written_as_v2(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    created = await create_order(client)
    entries = await redis.xrange(keys.order(created["order"]["orderId"]))
    doc = orjson.loads(entries[0][1][b"e"])
    assert doc["schemaVersion"] == 2
    assert doc["data"]["items"][0]["subtotal"] == "39.98"
