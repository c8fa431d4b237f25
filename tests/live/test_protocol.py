"""What a client sees when it gets the protocol or the operation wrong."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orders_gql.service import OrderService

from .support import Running, create
from .wsclient import EVENTS, LEGACY_WS, PATIENCE, TRANSPORT_WS, UPDATED, graphql_ws


async def closed_with(url: str, protocol: str, *messages: dict[str, Any]) -> tuple[int, str]:
    async with connect(url, subprotocols=[protocol], open_timeout=PATIENCE) as ws:  # type: ignore[list-item]
        for message in messages:
            await ws.send(json.dumps(message))
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(PATIENCE):
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_an_unknown_subprotocol_is_refused(live: Running) -> None:
    assert await closed_with(live.url, "graphql-sse") == (4406, "Subprotocol not acceptable")


async def test_subscribing_before_connection_init_is_unauthorized(live: Running) -> None:
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}
    assert await closed_with(live.url, TRANSPORT_WS, subscribe) == (4401, "Unauthorized")


async def test_a_document_that_does_not_parse_closes_the_connection(live: Running) -> None:
    init = {"type": "connection_init"}
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "subscription {"}}
    code, reason = await closed_with(live.url, TRANSPORT_WS, init, subscribe)
    assert code == 4400 and "Syntax Error" in reason


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_an_unknown_argument_is_an_error_message(live: Running, protocol: str) -> None:
    async with graphql_ws(live.url, protocol) as ws:
        await ws.subscribe("1", "subscription { orderEvents(colour: RED) { type } }")
        msg = await ws.message("1")
        assert msg["type"] == "error"
        errors = msg["payload"] if isinstance(msg["payload"], list) else [msg["payload"]]
        assert "Unknown argument 'colour'" in errors[0]["message"]
        # typed as over HTTP: a code, the field, the correlation id
        assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert errors[0]["extensions"]["field"] == "colour"
        assert errors[0]["extensions"]["correlationId"]


async def test_an_unknown_field_is_an_error_message(live: Running) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", "subscription { orderEvents { colour } }")
        msg = await ws.message("1")
        assert msg["type"] == "error"
        assert "Cannot query field 'colour'" in msg["payload"][0]["message"]
        assert msg["payload"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"types": ["OrderShipped"]}, "types"),
        ({"types": []}, "types"),  # every box unticked: nothing would ever come
        ({"after": "yesterday"}, "after"),
        ({"orderId": "no spaces allowed"}, "orderId"),
        ({"customerEmail": "not-an-email"}, "customerEmail"),
    ],
)
async def test_bad_argument_values_end_the_subscription_with_a_coded_error(
    live: Running, variables: dict[str, Any], field: str
) -> None:
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", EVENTS, **variables)
        msg = await ws.message("1")
        assert msg["type"] == "next"
        [error] = msg["payload"]["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["field"] == field
        assert error["extensions"]["correlationId"]
        assert (await ws.message("1"))["type"] == "complete"
        assert live.hub.subscriber_count == 0


async def test_order_updated_of_an_unknown_order_is_not_found(
    live: Running, service: OrderService
) -> None:
    await create(service, "exists")
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", UPDATED, orderId="missing")
        [error] = (await ws.message("1"))["payload"]["errors"]
        assert error["extensions"]["code"] == "ORDER_NOT_FOUND"
        assert (await ws.message("1"))["type"] == "complete"
        await ws.subscribe("2", UPDATED, orderId="exists")
        assert (await ws.data("2"))["orderUpdated"]["orderId"] == "exists"


async def test_messages_are_not_compressed_even_when_the_client_offers_it(live: Running) -> None:
    async with connect(
        live.url, subprotocols=[TRANSPORT_WS], compression="deflate", open_timeout=PATIENCE
    ) as ws:  # type: ignore[list-item]
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers


@pytest.mark.parametrize("frame", [[1, 2], None, 123, "x"])
async def test_a_message_that_is_json_but_not_an_object_closes_with_4400(
    live: Running, frame: object
) -> None:
    code, _ = await closed_with(live.url, TRANSPORT_WS, {"type": "connection_init"}, frame)  # type: ignore[arg-type]
    assert code == 4400


async def test_several_operations_without_an_operation_name_are_an_error_message(
    live: Running,
) -> None:
    two = "subscription A { orderEvents { type } } subscription B { orderEvents { orderId } }"
    async with graphql_ws(live.url) as ws:
        await ws.subscribe("1", two)
        msg = await ws.message("1")
        assert msg["type"] == "error"
        [error] = msg["payload"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert error["extensions"]["field"] == "operationName"
        assert live.hub.subscriber_count == 0
