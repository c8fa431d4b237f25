"""When the read side cannot answer: a projector that does not catch up in
time, and a MongoDB that is down."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from orders_gql.embedded import free_port
from orders_gql.readside.positions import key as position_key
from orders_gql.settings import Settings, SettingsError
from tests.conftest import http_client

from .gql import create, gql


async def test_consistent_with_times_out_with_a_clear_code(settings: Settings) -> None:
    slow = replace(settings, projector=False, consistency_timeout_ms=100)
    async with http_client(slow) as client:
        _, pos = await create(client)
        body = await gql(
            client, "query($p: String){ orders(consistentWith: $p) { totalCount } }", p=pos
        )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "CONSISTENCY_TIMEOUT"
    assert error["extensions"]["field"] == "consistentWith"
    assert pos in error["message"]


async def test_mongodb_down_is_service_unavailable_and_not_ready(settings: Settings) -> None:
    down = replace(
        settings,
        mongodb_url=f"mongodb://127.0.0.1:{free_port()}/?directConnection=true",
        mongodb_timeout_ms=200,
    )
    async with http_client(down) as client:
        for query in ("{ orders { totalCount } }", "{ orders { edges { cursor } } }",
                      "{ ordersByStatus(status: PENDING) { pageInfo { hasNextPage } } }",
                      "{ orderSummary { totalOrders } }",
                      '{ order(orderId: "o1") { orderId } }'):  # fmt: skip
            body = await gql(client, query)
            assert body["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", body
            message = body["errors"][0]["message"]
            assert message == "the read models: unavailable, retry later"  # a read writes nothing
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"] == {"redis": "ok", "mongodb": "down"}
        # the write side keeps working without the read side
        order_id, _ = await create(client)
        assert order_id


async def test_ready_when_both_servers_answer(settings: Settings) -> None:
    async with http_client(settings) as client:
        ready = await client.get("/readyz")
    assert ready.json() == {"ready": True, "checks": {"redis": "ok", "mongodb": "ok"}}


async def test_a_list_query_over_its_time_limit_is_stopped_with_a_clear_code(
    settings: Settings,
) -> None:
    """A search scans every order, a broad filter counts them all: MongoDB
    stops either at ORDERS_QUERY_TIME_LIMIT_MS, and the query says which
    argument to narrow. Lifted, the same queries answer: nothing was lost."""
    search = '{ searchOrders(q: "nobody") { totalCount edges { cursor } } }'
    listed = '{ orders(filter: { fromDate: "2000-01-01T00:00:00Z" }) { totalCount } }'
    async with http_client(settings) as client:
        positions = []
        for chunk in range(8):  # a scan long enough to outlast one millisecond
            made = await asyncio.gather(*(create(client, name=f"C{chunk}-{n}") for n in range(50)))
            positions += [position for _, position in made]
        seen = await gql(client, "query($p: String){ orders(consistentWith: $p) { totalCount } }",
                         p=max(positions, key=position_key))  # fmt: skip
        assert seen["data"]["orders"]["totalCount"] == 400
    async with http_client(replace(settings, query_time_limit_ms=1)) as client:
        for query, field, hint in (
            (search, "q", "a search reads every order"),
            (listed, "filter", "narrow it down"),
        ):
            body = await gql(client, query)
            codes = {(e["extensions"]["code"], e["extensions"]["field"]) for e in body["errors"]}
            assert codes == {("QUERY_TIME_LIMIT", field)}, body
            assert "ORDERS_QUERY_TIME_LIMIT_MS" in body["errors"][0]["message"]
            assert hint in body["errors"][0]["message"]
            assert body["data"] is None
    async with http_client(settings) as client:
        body = await gql(client, search)
        assert body["data"]["searchOrders"] == {"totalCount": 0, "edges": []}
        body = await gql(client, listed)
        assert body["data"]["orders"]["totalCount"] == 400


def test_a_negative_query_time_limit_refuses_to_start() -> None:
    with pytest.raises(SettingsError, match="ORDERS_QUERY_TIME_LIMIT_MS"):
        Settings.from_env({"ORDERS_QUERY_TIME_LIMIT_MS": "-1"})
    assert Settings.from_env({"ORDERS_QUERY_TIME_LIMIT_MS": "0"}).query_time_limit_ms == 0
