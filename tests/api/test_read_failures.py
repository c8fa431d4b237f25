"""When the read side cannot answer: a projector that does not catch up in
time, and a MongoDB that is down."""

from __future__ import annotations

from dataclasses import replace

from orders_gql.embedded import free_port
from orders_gql.settings import Settings
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
