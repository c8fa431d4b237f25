"""Mutations end to end through HTTP: each success, each error type, and
that a refusal appends nothing."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace

from .graphql_client import CANCEL, CREATE, DELETE, HISTORY, UPDATE, create_order, gql, order_input


async def log_length(redis: Redis, keys: KeySpace) -> int:
    return int(await redis.xlen(keys.log()))


async def test_create_order_computes_total_and_stores_an_event(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    result = await create_order(client)
    order = result["order"]
    assert order["status"] == "PENDING"
    assert order["version"] == 1
    assert order["totalAmount"] == "40.28"
    assert [i["subtotal"] for i in order["items"]] == ["39.98", "0.30"]
    entries = await redis.xrange(keys.order(order["orderId"]))
    assert len(entries) == 1 and entries[0][1][b"p"].decode() == result["position"]
    assert b'"type":"OrderCreated"' in entries[0][1][b"e"]


async def test_full_flow_and_history(client: httpx.AsyncClient) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    for version, status in enumerate(["CONFIRMED", "PROCESSING", "SHIPPED", "DELIVERED"], start=1):
        body = await gql(client, UPDATE, {"id": order_id, "status": status, "v": version})
        payload = body["data"]["updateOrderStatus"]
        assert payload["__typename"] == "OrderPayload"
        assert payload["order"]["status"] == status
        assert payload["order"]["version"] == version + 1
    history = (await gql(client, HISTORY, {"id": order_id}))["data"]["orderHistory"]
    assert [h["type"] for h in history] == ["OrderCreated"] + ["OrderStatusChanged"] * 4
    assert [h["version"] for h in history] == [1, 2, 3, 4, 5]
    assert history[-1]["data"] == {"fromStatus": "shipped", "toStatus": "delivered"}
    assert history[0]["metadata"]["correlationId"]


async def test_correlation_id_is_echoed_and_recorded(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": order_input()}},
        headers={"X-Correlation-ID": "trace-123"},
    )
    assert response.headers["x-correlation-id"] == "trace-123"
    order_id = response.json()["data"]["createOrder"]["order"]["orderId"]
    history = (await gql(client, HISTORY, {"id": order_id}))["data"]["orderHistory"]
    assert history[0]["metadata"]["correlationId"] == "trace-123"


async def test_cancel_and_delete(client: httpx.AsyncClient) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    cancelled = (await gql(client, CANCEL, {"id": order_id, "reason": "changed my mind"}))["data"][
        "cancelOrder"
    ]
    assert cancelled["order"]["status"] == "CANCELLED"
    assert cancelled["order"]["cancellationReason"] == "changed my mind"
    deleted = (await gql(client, DELETE, {"id": order_id}))["data"]["deleteOrder"]
    assert deleted["__typename"] == "OrderPayload"
    assert deleted["order"]["deleted"] is True
    again = (await gql(client, UPDATE, {"id": order_id, "status": "CONFIRMED"}))["data"][
        "updateOrderStatus"
    ]
    assert again == {
        **again,
        "__typename": "OrderDeleted",
        "code": "ORDER_DELETED",
        "orderId": order_id,
    }
    gone = await gql(
        client, "query($id: ID!) { order(orderId: $id) { orderId } }", {"id": order_id}
    )
    assert gone["data"]["order"] is None


async def test_invalid_transition_is_typed_and_writes_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    before = await log_length(redis, keys)
    result = (await gql(client, UPDATE, {"id": order_id, "status": "SHIPPED"}))["data"][
        "updateOrderStatus"
    ]
    assert result["__typename"] == "InvalidStatusTransition"
    assert (result["code"], result["from"], result["to"]) == (
        "INVALID_STATUS_TRANSITION",
        "PENDING",
        "SHIPPED",
    )
    assert await log_length(redis, keys) == before


async def test_delete_of_confirmed_order_is_refused(client: httpx.AsyncClient) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    await gql(client, UPDATE, {"id": order_id, "status": "CONFIRMED"})
    result = (await gql(client, DELETE, {"id": order_id}))["data"]["deleteOrder"]
    assert (result["__typename"], result["from"], result["to"]) == (
        "InvalidStatusTransition",
        "CONFIRMED",
        "DELETED",
    )


async def test_stale_expected_version_is_a_conflict(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    result = (await gql(client, UPDATE, {"id": order_id, "status": "CONFIRMED", "v": 7}))["data"][
        "updateOrderStatus"
    ]
    assert result["__typename"] == "ConcurrencyConflict"
    assert (result["expectedVersion"], result["currentVersion"]) == (7, 1)
    assert await redis.xlen(keys.order(order_id)) == 1


@pytest.mark.parametrize(
    "mutation,variables",
    [
        (UPDATE, {"status": "CONFIRMED"}),
        (CANCEL, {"reason": "x"}),
        (DELETE, {}),
    ],
)
async def test_unknown_order_is_typed(
    client: httpx.AsyncClient, mutation: str, variables: dict[str, object]
) -> None:
    body = await gql(client, mutation, {"id": "no-such-order", **variables})
    (result,) = body["data"].values()
    assert (result["__typename"], result["code"], result["orderId"]) == (
        "OrderNotFound",
        "ORDER_NOT_FOUND",
        "no-such-order",
    )


async def test_malformed_order_id_is_a_validation_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, UPDATE, {"id": "{p0}:log", "status": "CONFIRMED"})
    result = body["data"]["updateOrderStatus"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "orderId")


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"customerName": "A"}, "customerName"),
        ({"customerEmail": "nope"}, "customerEmail"),
        ({"items": []}, "items"),
        (
            {"items": [{"productId": "p", "productName": "n", "quantity": 1, "price": "1"}] * 101},
            "items",
        ),
        (
            {"items": [{"productId": "p", "productName": "n", "quantity": -2, "price": "1"}]},
            "items.0.quantity",
        ),
        (
            {"items": [{"productId": "p", "productName": "n", "quantity": 1, "price": "1.001"}]},
            "items.0.price",
        ),
        (
            {"items": [{"productId": "p", "productName": "n", "quantity": 1, "price": "-1"}]},
            "items.0.price",
        ),
        (
            {"items": [{"productId": "p" * 65, "productName": "n", "quantity": 1, "price": "1"}]},
            "items.0.productId",
        ),
        ({"customerName": "x" * 10_000}, "customerName"),
    ],
)
async def test_invalid_input_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient,
    redis: Redis,
    keys: KeySpace,
    overrides: dict[str, object],
    field: str,
) -> None:
    body = await gql(client, CREATE, {"input": order_input(**overrides)})
    result = body["data"]["createOrder"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError",
        "VALIDATION_ERROR",
        field,
    )
    assert await log_length(redis, keys) == 0


@pytest.mark.parametrize(
    "item,field",
    [
        ({"productId": "p", "productName": "n", "quantity": 1.5, "price": "1"}, "quantity"),
        ({"productId": "p", "productName": "n", "quantity": 1, "price": "ten"}, "price"),
        ({"productId": "p", "productName": "n", "quantity": "1", "price": "1"}, "quantity"),
        ({"productId": "p", "productName": "n", "price": "1"}, "quantity"),
    ],
)
async def test_wrong_types_are_bad_user_input(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, item: dict[str, object], field: str
) -> None:
    body = await gql(client, CREATE, {"input": order_input(items=[item])})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert field in error["extensions"]["field"]
    assert await log_length(redis, keys) == 0


@pytest.mark.parametrize("price", [19.99, 1e3, "1_000", " 1.00 ", "1e3", "NaN", "0x10", True])
async def test_money_is_a_decimal_string_or_a_whole_number(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, price: object
) -> None:
    item = {"productId": "p", "productName": "n", "quantity": 1, "price": price}
    body = await gql(client, CREATE, {"input": order_input(items=[item])})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "input.items.0.price"
    assert "decimal string" in error["message"]
    if isinstance(price, float):  # shown as the number it was, not as a string
        assert f"Decimal: the number {price!r}, not a string." in error["message"]
    assert await log_length(redis, keys) == 0


async def test_a_float_literal_for_money_is_refused_too(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    body = await gql(
        client,
        'mutation { createOrder(input: {customerName: "Ada Lovelace", customerEmail: '
        '"ada@example.com", items: [{productId: "p", productName: "n", quantity: 1, '
        "price: 19.99}]}) { __typename } }",
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "decimal string" in error["message"]
    assert await log_length(redis, keys) == 0


async def test_whole_numbers_and_negative_zero_are_plain_amounts(
    client: httpx.AsyncClient,
) -> None:
    items = [
        {"productId": "a", "productName": "n", "quantity": 2, "price": 5},
        {"productId": "b", "productName": "n", "quantity": 1, "price": "-0"},
        {"productId": "c", "productName": "n", "quantity": 1, "price": "007.50"},
    ]
    order = (await create_order(client, items=items))["order"]
    assert [i["price"] for i in order["items"]] == ["5.00", "0.00", "7.50"]
    assert [i["subtotal"] for i in order["items"]] == ["10.00", "0.00", "7.50"]
    assert order["totalAmount"] == "17.50"


async def test_invalid_enum_value_is_refused(client: httpx.AsyncClient) -> None:
    body = await gql(client, UPDATE, {"id": "x", "status": "LOST"})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "LOST" in error["message"]


async def test_malformed_graphql_is_a_parse_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, "mutation { createOrder(input: {")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert error["extensions"]["correlationId"]


async def test_unknown_field_is_a_validation_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ order(orderId: "x") { secretField } }')
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["field"] == "secretField"


async def test_non_json_body_is_a_typed_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_idempotent_create_over_http(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    variables = {"input": order_input(), "key": "checkout-42"}
    first, second = [
        (await gql(client, CREATE, variables))["data"]["createOrder"] for _ in range(2)
    ]
    assert first["replayed"] is False and second["replayed"] is True
    assert first["order"] == second["order"] and first["position"] == second["position"]
    assert await log_length(redis, keys) == 1


async def test_bad_idempotency_key_is_refused(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    body = await gql(client, CREATE, {"input": order_input(), "key": "has spaces"})
    result = body["data"]["createOrder"]
    assert (result["__typename"], result["field"]) == ("ValidationError", "idempotencyKey")
    assert await log_length(redis, keys) == 0


async def test_concurrent_updates_over_http_serialise(client: httpx.AsyncClient) -> None:
    order_id = (await create_order(client))["order"]["orderId"]
    bodies = await asyncio.gather(
        *(gql(client, CANCEL, {"id": order_id, "reason": f"r{i}"}) for i in range(10))
    )
    kinds = sorted(b["data"]["cancelOrder"]["__typename"] for b in bodies)
    assert kinds == ["InvalidStatusTransition"] * 9 + ["OrderPayload"]
    history = (await gql(client, HISTORY, {"id": order_id}))["data"]["orderHistory"]
    assert [h["version"] for h in history] == [1, 2]


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).text == "ok"
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["redis"] == "ok"


async def test_event_store_down_is_a_clear_error_without_internals(redis_server: object) -> None:
    from orders_gql.embedded import free_port
    from orders_gql.settings import Settings

    from ..conftest import http_client

    dead = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", auth="off")
    async with http_client(dead) as down:
        body = await gql(down, CREATE, {"input": order_input()})
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert "nothing was written" in error["message"]
        assert "Connect" not in error["message"] and "6379" not in error["message"]
        ready = await down.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("down")


async def test_unknown_operation_name_is_a_clear_error(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": order_input()}, "operationName": "Nope"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert "Nope" in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    assert await log_length(redis, keys) == 0


async def test_a_query_sent_as_get_cannot_mutate(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": CREATE})
    assert response.status_code in (400, 405)
    assert response.json()["errors"][0]["extensions"]["code"] in (
        "BAD_REQUEST",
        "METHOD_NOT_ALLOWED",
    )


async def test_other_methods_are_405_naming_the_ones_allowed(client: httpx.AsyncClient) -> None:
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(method, "/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 405, method
        assert response.headers["allow"] == "GET, POST"
        assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_that_is_not_json_is_415_and_runs_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, content_type: str | None
) -> None:
    body = orjson.dumps({"query": CREATE, "variables": {"input": order_input()}})
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 415
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in error["message"]
    assert await log_length(redis, keys) == 0


@pytest.mark.parametrize(
    "fields,field",
    [
        ('customerName: "Ada Lovelace", customerEmail: "ada@example.com", extra: 1, items: []',
         "extra"),
        ('customerName: "Ada Lovelace", items: []', "customerEmail"),
        ('customerName: "Ada Lovelace", customerEmail: "ada@example.com", '
         'items: [{productId: "p", productName: "n", quantity: null, price: "1"}]',
         "input.items.0.quantity"),
    ],
)  # fmt: skip
async def test_bad_values_written_in_the_document_are_bad_user_input_without_echo(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, fields: str, field: str | None
) -> None:
    body = await gql(client, f"mutation {{ createOrder(input: {{{fields}}}) {{ __typename }} }}")
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"].get("field") == field
    assert "found:" not in error["message"] and "None" not in error["message"]
    assert await log_length(redis, keys) == 0


async def test_an_unknown_enum_value_in_the_document_is_bad_user_input(
    client: httpx.AsyncClient,
) -> None:
    body = await gql(client, 'mutation { updateOrderStatus(orderId: "x", status: LOST) '
                     "{ __typename } }")  # fmt: skip
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "LOST" in error["message"]


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (
            'mutation { createOrder(input: {customerName: "Ada Lovelace", customerEmail: '
            '"ada@example.com", items: [{productId: "p", productName: "n", quantity: 1, '
            'price: "1.00"}, {productId: "q", productName: "m", quantity: 1.5, '
            'price: "1.00"}]}) { __typename } }',
            "input.items.1.quantity",
        ),
        ("{ orders(filter: {status: FOO}) { totalCount } }", "filter.status"),
        ('{ orders(filter: {minAmount: "abc"}) { totalCount } }', "filter.minAmount"),
        ('{ orders(filter: {fromDate: "yesterday"}) { totalCount } }', "filter.fromDate"),
        ("{ orders(filter: {toDate: 5}) { totalCount } }", "filter.toDate"),
        ('{ orders(first: "many") { totalCount } }', "first"),
    ],
)
async def test_a_bad_value_written_in_the_document_names_its_field(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace, document: str, field: str
) -> None:
    body = await gql(client, document)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert error["locations"]
    assert await log_length(redis, keys) == 0
