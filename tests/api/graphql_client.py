"""Small helpers to speak GraphQL over HTTP in tests."""

from __future__ import annotations

from typing import Any

import httpx

ORDER_FIELDS = """
  orderId customerName customerEmail totalAmount orderDate status version
  cancellationReason deleted updatedAt
  items { productId productName quantity price subtotal }
"""

ERROR_FIELDS = """
  __typename
  ... on Error { code message }
  ... on ValidationError { field }
  ... on OrderNotFound { orderId }
  ... on OrderDeleted { orderId }
  ... on InvalidStatusTransition { from to }
  ... on ConcurrencyConflict { expectedVersion currentVersion }
"""

CREATE = f"""
mutation Create($input: CreateOrderInput!, $key: String) {{
  createOrder(input: $input, idempotencyKey: $key) {{
    __typename
    ... on OrderPayload {{ position replayed order {{ {ORDER_FIELDS} }} }}
    ... on Error {{ code message }}
    ... on ValidationError {{ field }}
  }}
}}"""

UPDATE = f"""
mutation Update($id: ID!, $status: OrderStatus!, $v: Int, $key: String) {{
  updateOrderStatus(orderId: $id, status: $status, expectedVersion: $v, idempotencyKey: $key) {{
    ... on OrderPayload {{ position replayed order {{ {ORDER_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}"""

CANCEL = f"""
mutation Cancel($id: ID!, $reason: String!, $v: Int) {{
  cancelOrder(orderId: $id, reason: $reason, expectedVersion: $v) {{
    ... on OrderPayload {{ position order {{ {ORDER_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}"""

DELETE = f"""
mutation Delete($id: ID!, $v: Int) {{
  deleteOrder(orderId: $id, expectedVersion: $v) {{
    ... on OrderPayload {{ position order {{ {ORDER_FIELDS} }} }}
    {ERROR_FIELDS}
  }}
}}"""

HISTORY = """
query History($id: ID!) {
  orderHistory(orderId: $id) { type version position schemaVersion data metadata }
}"""


def order_input(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "customerName": "Ada Lovelace",
        "customerEmail": "ada@example.com",
        "items": [
            {"productId": "sku-1", "productName": "Notebook", "quantity": 2, "price": "19.99"},
            {"productId": "sku-2", "productName": "Pen (blue)", "quantity": 3, "price": "0.10"},
        ],
    }
    value.update(overrides)
    return value


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kw: Any
) -> dict[str, Any]:
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, **kw
    )
    assert response.headers["content-type"].startswith("application/json"), response.text
    body: dict[str, Any] = response.json()
    return body


async def create_order(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body = await gql(client, CREATE, {"input": order_input(**overrides)})
    result: dict[str, Any] = body["data"]["createOrder"]
    assert result["__typename"] == "OrderPayload", result
    return result
