"""Request limits: each refusal is a typed error and nothing is written."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest
from graphql import get_introspection_query
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace
from orders_gql.settings import Settings

from ..conftest import http_client
from .graphql_client import CREATE, gql, order_input


async def test_body_over_the_limit_is_413_and_writes_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    huge = order_input(customerName="x" * (1_048_576 + 10))
    response = await client.post("/graphql", json={"query": CREATE, "variables": {"input": huge}})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert await redis.xlen(keys.log()) == 0


async def test_body_that_is_not_json_is_400_and_writes_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "mutation {', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "JSON" in error["message"]
    assert await redis.xlen(keys.log()) == 0


async def test_chunked_body_over_the_limit_is_413(settings: Settings) -> None:
    small = dataclasses.replace(settings, max_body_bytes=1_000)

    async def chunks():  # no content-length: the limit applies while reading
        for _ in range(10):
            yield b" " * 200

    async with http_client(small) as client:
        response = await client.post(
            "/graphql", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413


async def test_graphiql_introspection_query_works(client: httpx.AsyncClient) -> None:
    query = get_introspection_query(
        descriptions=True,
        specified_by_url=True,
        directive_is_repeatable=True,
        schema_description=True,
        input_value_deprecation=True,
    )
    body = await gql(client, query)
    assert "errors" not in body
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Order", "OrderStatus", "CreateOrderInput"} <= names


CYCLIC = """
{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }
"""


async def test_cyclic_introspection_is_refused(client: httpx.AsyncClient) -> None:
    body = await gql(client, CYCLIC)
    assert body["data"] is None
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert "INTROSPECTION_TOO_DEEP" in codes


async def test_cycle_hidden_in_fragments_is_refused(client: httpx.AsyncClient) -> None:
    query = """
    query { __schema { types { ...A } } }
    fragment A on __Type { fields { type { ...B } } }
    fragment B on __Type { fields { name } }
    """
    body = await gql(client, query)
    assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_TOO_DEEP"


async def test_too_deep_query_is_refused(settings: Settings) -> None:
    shallow = dataclasses.replace(settings, max_depth=1)
    async with http_client(shallow) as client:
        body = await gql(client, '{ orderHistory(orderId: "x") { type } }')
        assert "errors" not in body
        body = await gql(client, '{ order(orderId: "x") { items { productId } } }')
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"


async def test_too_many_aliases_is_refused_and_writes_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    fields = " ".join(f"a{i}: createOrder(input: $input) {{ __typename }}" for i in range(31))
    body = await gql(
        client, f"mutation($input: CreateOrderInput!) {{ {fields} }}", {"input": order_input()}
    )
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    assert await redis.xlen(keys.log()) == 0


async def test_too_many_tokens_is_refused(client: httpx.AsyncClient) -> None:
    query = "{ " + " ".join("__typename" for _ in range(6_000)) + " }"
    body = await gql(client, query)
    assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_TOKENS"


async def test_batched_requests_are_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 2)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_introspection_and_graphiql_can_be_switched_off(settings: Settings) -> None:
    closed = dataclasses.replace(settings, introspection=False, graphiql=False)
    async with http_client(closed) as client:
        body = await gql(client, "{ __schema { queryType { name } } }")
        assert body["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
        page = await client.get("/graphql", headers={"accept": "text/html"})
        assert page.status_code == 404
        assert "errors" not in await gql(client, "{ __typename }")


async def test_a_subscription_over_plain_http_is_a_400_pointing_to_the_websocket(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/graphql", json={"query": "subscription { orderEvents { type orderId } }"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "subscription" in error["message"].lower()


def _doubling_fragments(links: int, on: str, leaf: str) -> str:
    """Fragments that each spread the one before twice: `links` links select
    2**links copies of `leaf` once written out, in a document of a few KB."""
    chain = [f"fragment F0 on {on} {{ {leaf} }}"]
    chain += [f"fragment F{i} on {on} {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, links + 1)]
    return "\n".join(chain)


async def test_fragments_that_double_are_refused_and_write_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    # 2**40 createOrder fields once written out: the walk of every path (the
    # depth and alias limits) never finished, and took the server with it.
    leaf = "createOrder(input: $input) { __typename }"
    query = "mutation($input: CreateOrderInput!) { ...F40 }\n" + _doubling_fragments(
        40, "Mutation", leaf
    )
    body = await asyncio.wait_for(gql(client, query, {"input": order_input()}), 30)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "TOO_MANY_FIELDS"
    assert str(2 * 2**40) in error["message"]  # createOrder and its __typename
    assert await redis.xlen(keys.log()) == 0
    assert (await gql(client, "{ __typename }"))["data"] == {"__typename": "Query"}


async def test_the_field_limit_counts_fragments_written_out(settings: Settings) -> None:
    small = dataclasses.replace(settings, max_fields=8)
    async with http_client(small) as client:
        at_limit = "{ ...F3 }\n" + _doubling_fragments(3, "Query", "__typename")
        assert (await gql(client, at_limit))["data"] == {"__typename": "Query"}
        over = "{ ...F3 a: __typename }\n" + _doubling_fragments(3, "Query", "__typename")
        body = await gql(client, over)
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_FIELDS"
        assert "9 fields" in body["errors"][0]["message"]
        # a fragment spread inside itself is validation's to report, not a hang
        cyclic = "{ ...A } fragment A on Query { __typename ...A }"
        body = await gql(client, cyclic)
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "cycle" in body["errors"][0]["message"].lower() or "itself" in str(body)


async def test_several_operations_need_an_operation_name_and_write_nothing(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    document = (
        "mutation M($input: CreateOrderInput!) { createOrder(input: $input) { __typename } }\n"
        "query Q { __typename }"
    )
    variables = {"input": order_input()}
    body = await gql(client, document, variables)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert error["extensions"]["field"] == "operationName"
    assert "operation name" in error["message"]
    assert await redis.xlen(keys.log()) == 0

    async def run(name: str) -> dict[str, object]:
        response = await client.post(
            "/graphql",
            json={"query": document, "variables": variables, "operationName": name},
        )
        data: dict[str, object] = response.json()
        return data

    assert (await run("Q"))["data"] == {"__typename": "Query"}
    assert await redis.xlen(keys.log()) == 0
    assert (await run("M"))["data"] == {"createOrder": {"__typename": "OrderPayload"}}
    assert await redis.xlen(keys.log()) == 1
    assert "Unknown operation" in str((await run("Nope"))["errors"])


@pytest.mark.parametrize("body", [b"null", b"42", b"true", b'"{ __typename }"'])
async def test_a_body_that_is_json_but_not_an_object_is_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "JSON object" in error["message"]
    assert response.headers["x-correlation-id"] == error["extensions"]["correlationId"]


async def test_an_operation_name_that_is_not_a_string_is_400(
    client: httpx.AsyncClient, redis: Redis, keys: KeySpace
) -> None:
    response = await client.post(
        "/graphql",
        json={"query": CREATE, "variables": {"input": order_input()}, "operationName": 5},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert "operationName" in response.json()["errors"][0]["message"]
    assert await redis.xlen(keys.log()) == 0
