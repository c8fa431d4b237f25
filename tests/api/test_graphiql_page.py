"""GraphiQL's first document: what a visitor runs first must work on this schema."""

from __future__ import annotations

import json
import re

import httpx
from graphql import OperationType, parse, validate

from orders_gql.api.schema import schema

from .gql import ok


async def example_document(client: httpx.AsyncClient) -> str:
    page = await client.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    found = re.search(r"const EXAMPLE_QUERY = `(.*?)`;", page.text, re.S)
    assert found, "GraphiQL's page has no example document"
    variables = re.search(r"const EXAMPLE_VARIABLES = `(.*?)`;", page.text, re.S)
    assert variables and json.loads(variables.group(1)) == {"pos": None}  # what Orders takes
    return found.group(1)


async def test_graphiql_opens_on_operations_of_this_schema(client: httpx.AsyncClient) -> None:
    text = await example_document(client)
    document = parse(text)
    assert validate(schema._schema, document) == []
    operations = {d.name.value: d.operation for d in document.definitions}  # type: ignore[attr-defined]
    assert operations == {
        "CreateOrder": OperationType.MUTATION,
        "Orders": OperationType.QUERY,
        "OrderEvents": OperationType.SUBSCRIPTION,
    }


async def test_the_example_creates_an_order_and_reads_it_back(client: httpx.AsyncClient) -> None:
    """As the page's comments say: CreateOrder, then Orders with its position."""
    text = await example_document(client)
    response = await client.post("/graphql", json={"query": text, "operationName": "CreateOrder"})
    created = response.json()["data"]["createOrder"]
    assert created["__typename"] == "OrderPayload", created
    response = await client.post(
        "/graphql",
        json={"query": text, "operationName": "Orders", "variables": {"pos": created["position"]}},
    )
    body = response.json()
    assert "errors" not in body, body
    listed = [e["node"]["orderId"] for e in body["data"]["orders"]["edges"]]
    assert created["order"]["orderId"] in listed
    assert body["data"]["orderSummary"]["totalOrders"] == body["data"]["orders"]["totalCount"] == 1
    assert (await ok(client, "{ orderSummary { totalRevenue } }"))["orderSummary"][
        "totalRevenue"
    ] == "40.28"
