"""Subscriptions under access control: credentials in connection_init, a
customer sees only their own orders, bad credentials close the connection."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from orders_gql.service import OrderService
from orders_gql.settings import Settings

from ..api.test_auth import SECRET, token
from .support import Running, create, running
from .wsclient import EVENTS, TRANSPORT_WS, UPDATED, graphql_ws


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors of an `error` message, or of a `next` message carrying errors."""
    payload = message["payload"]
    return list(payload if message["type"] == "error" else payload["errors"])


def bearer(role: str, email: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, email)}"}


@pytest.fixture
async def secured(settings: Settings) -> AsyncIterator[Running]:
    async with running(dataclasses.replace(settings, auth="", jwt_secret=SECRET)) as r:
        yield r


async def test_a_customer_receives_only_their_own_events(
    secured: Running, service: OrderService
) -> None:
    async with graphql_ws(secured.url, init=bearer("customer", "ada@example.com")) as ada:
        start = await service.store.last_position()
        await ada.subscribe("mine", EVENTS, after=start)
        await create(service, "bobs", email="bob@example.com")
        last = await create(service, "adas", email="ada@example.com")
        events = await ada.until("mine", last.position)
        assert [e["orderId"] for e in events] == ["adas"]


async def test_a_customer_cannot_subscribe_to_another_customer(
    secured: Running, service: OrderService
) -> None:
    await create(service, "bobs2", email="bob@example.com")
    async with graphql_ws(secured.url, init=bearer("customer", "ada@example.com")) as ada:
        await ada.subscribe("theirs", EVENTS, customerEmail="bob@example.com")
        refused = errors_of(await ada.message("theirs"))
        assert refused[0]["extensions"]["code"] == "FORBIDDEN"
        await ada.subscribe("state", UPDATED, orderId="bobs2")
        hidden = errors_of(await ada.message("state"))
        assert hidden[0]["extensions"]["code"] == "ORDER_NOT_FOUND"


async def test_staff_sees_every_order(secured: Running, service: OrderService) -> None:
    async with graphql_ws(secured.url, init=bearer("staff")) as staff:
        await staff.subscribe("all", EVENTS, after=await service.store.last_position())
        first = await create(service, "o-a", email="a@example.com")
        last = await create(service, "o-b", email="b@example.com")
        events = await staff.until("all", last.position)
        assert {e["orderId"] for e in events} >= {"o-a", "o-b"}
        assert first.position in [e["position"] for e in events]


async def test_forged_credentials_close_the_connection(secured: Running) -> None:
    forged = {"Authorization": f"Bearer {token('staff')}x"}
    async with connect(secured.url, subprotocols=[TRANSPORT_WS]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": forged}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_without_credentials_a_subscription_is_unauthenticated(secured: Running) -> None:
    async with graphql_ws(secured.url) as anonymous:
        await anonymous.subscribe("x", EVENTS)
        refused = errors_of(await anonymous.message("x"))
        assert refused[0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_operations_started_after_the_token_expired_are_refused(secured: Running) -> None:
    short = {"Authorization": f"Bearer {token('admin', ttl=2)}"}
    async with graphql_ws(secured.url, init=short) as ws:
        await ws.subscribe("before", EVENTS)  # accepted while the token holds
        await asyncio.sleep(2.2)
        await ws.subscribe("after", EVENTS)
        refused = errors_of(await ws.message("after"))
        assert refused[0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "expired" in refused[0]["message"]
