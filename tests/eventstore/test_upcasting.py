"""Event versioning: OrderCreated v1 (before multi-currency) is stored as it
was and read as v2 with currency USD; new events are written as v2."""

from __future__ import annotations

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
            {
                "productId": "sku-9",
                "productName": "Typewriter",
                "quantity": 1,
                "price": "120.00",
                "subtotal": "120.00",
            }
        ],
        "totalAmount": "120.00",
    },
}


async def store_v1(redis: Redis, keys: KeySpace) -> str:
    """Write the event exactly as the v1 code did: to the log and the order stream."""
    raw = orjson.dumps(V1_CREATED)
    position = await redis.xadd(keys.log(), {"e": raw})
    await redis.xadd(keys.order("legacy-1"), {"e": raw, "p": position}, id="1-0")
    return position.decode()


async def test_v1_events_load_as_v2_and_accept_new_commands(
    service: OrderService, redis: Redis, keys: KeySpace
) -> None:
    await store_v1(redis, keys)
    order = await service.get("legacy-1")
    assert order.currency == "USD" and order.customer_name == "Old Timer"
    result = await service.execute(
        UpdateOrderStatus("legacy-1", OrderStatus.CONFIRMED), metadata=Metadata("c2", "r2")
    )
    assert result.order.version == 2
    stored = await redis.xrange(keys.order("legacy-1"))
    assert orjson.loads(stored[0][1][b"e"])["schemaVersion"] == 1  # history is never rewritten


async def test_v1_order_through_graphql(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    await store_v1(redis, keys)
    body = await gql(client, '{ order(orderId: "legacy-1") { currency totalAmount status } }')
    assert body["data"]["order"] == {
        "currency": "USD",
        "totalAmount": "120.00",
        "status": "PENDING",
    }
    history = await gql(client, '{ orderHistory(orderId: "legacy-1") { schemaVersion data } }')
    (created,) = history["data"]["orderHistory"]
    assert created["schemaVersion"] == 2 and created["data"]["currency"] == "USD"


async def test_new_orders_are_written_as_v2_with_their_currency(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    created = await create_order(client, currency="EUR")
    assert created["order"]["currency"] == "EUR"
    entries = await redis.xrange(keys.order(created["order"]["orderId"]))
    doc = orjson.loads(entries[0][1][b"e"])
    assert (doc["schemaVersion"], doc["data"]["currency"]) == (2, "EUR")


async def test_unknown_currency_shape_is_refused(client: httpx.AsyncClient) -> None:
    body = await gql(
        client,
        "mutation($i: CreateOrderInput!) { createOrder(input: $i) "
        "{ __typename ... on ValidationError { field } } }",
        {
            "i": {
                "customerName": "Ada",
                "customerEmail": "ada@example.com",
                "currency": "euro",
                "items": [{"productId": "p", "productName": "n", "quantity": 1, "price": "1"}],
            }
        },
    )
    assert body["data"]["createOrder"] == {"__typename": "ValidationError", "field": "currency"}
