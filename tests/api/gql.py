"""Helpers for tests that speak GraphQL over HTTP to the app in-process, or
to a schema directly."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import strawberry

CREATE = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    __typename
    ... on OrderPayload { position order { orderId version orderDate } }
  }
}"""

STATUS = """
mutation($id: ID!, $status: OrderStatus!) {
  updateOrderStatus(orderId: $id, status: $status) {
    __typename ... on OrderPayload { position order { version } }
  }
}"""

CANCEL = """
mutation($id: ID!, $reason: String!) {
  cancelOrder(orderId: $id, reason: $reason) {
    __typename ... on OrderPayload { position }
  }
}"""

DELETE = """
mutation($id: ID!) {
  deleteOrder(orderId: $id) { __typename ... on OrderPayload { position } }
}"""


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    return body


async def ok(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    body = await gql(client, query, **variables)
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def order_input(
    name: str = "Ada Lovelace",
    email: str = "ada@example.com",
    items: list[tuple[str, int, str]] | None = None,
) -> dict[str, Any]:
    lines = items or [("Pen", 1, "2.50")]
    return {
        "customerName": name,
        "customerEmail": email,
        "items": [
            {"productId": f"sku-{n}", "productName": p, "quantity": q, "price": price}
            for n, (p, q, price) in enumerate(lines)
        ],
    }


async def create(client: httpx.AsyncClient, **kw: Any) -> tuple[str, str]:
    """Create an order; returns (order id, position)."""
    data = await ok(client, CREATE, input=order_input(**kw))
    payload = data["createOrder"]
    assert payload["__typename"] == "OrderPayload", payload
    return payload["order"]["orderId"], payload["position"]


async def change(client: httpx.AsyncClient, order_id: str, status: str) -> str:
    data = await ok(client, STATUS, id=order_id, status=status)
    assert data["updateOrderStatus"]["__typename"] == "OrderPayload", data
    return str(data["updateOrderStatus"]["position"])


def execute(
    schema: strawberry.Schema, query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, list[Any]]:
    """A schema's answer, in-process: its data and its errors as clients see them."""
    result = asyncio.run(schema.execute(query, variable_values=variables))
    return result.data, [e.formatted for e in result.errors or []]
