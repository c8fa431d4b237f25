"""One reader per process: several processes, a slow subscriber, startup, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata, UpdateOrderStatus
from orders_gql.domain.events import DomainEvent
from orders_gql.domain.model import Order, decide, evolve
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import free_port
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService
from orders_gql.settings import Settings

from .support import Running, create, running
from .wsclient import EVENTS, PATIENCE, UPDATED, graphql_ws

CREATE = """
mutation { createOrder(input: {customerName: "Ada", customerEmail: "ada@example.com",
  items: [{productId: "p", productName: "Pen", quantity: 2, price: "1.25"}]}) {
  ... on OrderPayload { order { orderId } position } } }"""


@contextlib.contextmanager
def server_process(settings: Settings) -> Iterator[str]:
    """`python -m orders_gql.serving` in a process of its own; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "ORDERS_REDIS_URL": str(settings.redis_url),
        "ORDERS_KEY_PREFIX": settings.key_prefix,
        "ORDERS_LOG_LEVEL": "warning",
        "ORDERS_AUTH": "off",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "orders_gql.serving", "--port", str(port)], env=env
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=PATIENCE)


async def until_ready(base: str) -> None:
    async with asyncio.timeout(PATIENCE), httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"http://{base}/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)


async def test_an_event_appended_through_one_process_reaches_subscribers_of_another(
    live: Running, settings: Settings, store: RedisEventStore
) -> None:
    with server_process(settings) as other:
        await until_ready(other)
        start = await store.last_position()
        async with (
            graphql_ws(f"ws://{other}/graphql") as there,
            graphql_ws(live.url) as here,
            httpx.AsyncClient() as http,
        ):
            await there.subscribe("1", EVENTS, after=start)
            await here.subscribe("1", EVENTS, after=start)
            reply = await http.post(live.http_url, json={"query": CREATE})
            made = reply.json()["data"]["createOrder"]
            for ws in (there, here):
                event = (await ws.data("1"))["orderEvents"]
                assert (event["orderId"], event["position"]) == (
                    made["order"]["orderId"],
                    made["position"],
                )


@contextlib.asynccontextmanager
async def slow_client(url: str) -> AsyncIterator[object]:
    """A client that reads nothing after the handshake: small TCP buffers, no
    compression, one message held at most; the server's writes soon block."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    port = int(url.split(":")[2].split("/")[0])
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    async with graphql_ws(url, sock=sock, max_queue=1, compression=None) as ws:
        yield ws


async def test_a_slow_subscriber_is_ended_with_an_error_and_others_are_unaffected(
    settings: Settings, service: OrderService, store: RedisEventStore
) -> None:
    start = await store.last_position()
    slow_settings = replace(settings, subscription_buffer=4)
    async with (
        running(slow_settings) as live,
        slow_client(live.url) as slow,
        graphql_ws(live.url) as fast,
    ):
        await slow.subscribe("s", EVENTS, after=start)  # type: ignore[attr-defined]
        await fast.subscribe("f", EVENTS, after=start)
        positions = []
        for n in range(120):  # at the pace of the fast client, whose buffer never fills
            positions.append((await create(service, f"o{n}", items=100)).position)
            assert (await fast.data("f"))["orderEvents"]["position"] == positions[-1]

        got: list[str] = []
        while (msg := await slow.message("s"))["type"] == "next" and "errors" not in msg["payload"]:
            got.append(msg["payload"]["data"]["orderEvents"]["position"])
        [error] = msg["payload"]["errors"]
        assert error["extensions"]["code"] == "SUBSCRIBER_TOO_SLOW"
        assert error["extensions"]["resumeAfter"] == got[-1]
        assert len(got) < len(positions) and got == positions[: len(got)]
        assert (await slow.message("s"))["type"] == "complete"

        await slow.subscribe("again", EVENTS, after=got[-1])
        rest = await slow.until("again", positions[-1])
        assert got + [e["position"] for e in rest] == positions


async def test_shutdown_completes_open_subscriptions_and_stops_the_reader(
    settings: Settings, service: OrderService, store: RedisEventStore
) -> None:
    await create(service, "o1")
    start = await store.last_position()
    async with running(settings) as live, graphql_ws(live.url) as ws:
        await ws.subscribe("order", UPDATED, orderId="o1")
        await ws.subscribe("events", EVENTS, after=start)
        await ws.data("order")
        latest = await create(service, "o2")
        await ws.until("events", latest.position)

        live.server.should_exit = True
        assert (await ws.message("order"))["type"] == "complete"
        assert (await ws.message("events"))["type"] == "complete"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.message(None)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert live.hub.subscriber_count == 0
    assert not live.hub.running
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


async def test_a_started_server_keeps_what_startup_made_out_of_full_collections(
    settings: Settings,
) -> None:
    assert gc.get_freeze_count() == 0
    try:
        async with running(settings, freeze_startup=True):
            assert gc.get_freeze_count() > 0  # the modules, the schema, the app
    finally:
        gc.unfreeze()  # other servers run in this process after this one


def _order_walked_through_its_flow(order_id: str) -> list[DomainEvent]:
    """Its five events, decided one after the other (appended in one call)."""
    now = datetime.now(UTC)
    meta = Metadata("burst", "burst")
    item = ItemInput("p", "Pen", 1, Decimal("1.00"))
    commands = [CreateOrder(order_id, "Ada Lovelace", "ada@example.com", (item,))]
    commands += [UpdateOrderStatus(order_id, s) for s in FLOW]
    state, events = Order(order_id), []
    for command in commands:
        for event in decide(state, command, now=now, metadata=meta):
            state = evolve(state, event)
            events.append(event)
    return events


FLOW = [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


async def test_a_burst_larger_than_the_buffer_reaches_clients_that_keep_up(
    settings: Settings, store: RedisEventStore
) -> None:
    # The reader hands out at most half a buffer at a time: a burst read in one
    # go (up to 500 entries) filled every subscriber's buffer (256) at once, and
    # all of them, fast ones included, were ended as too slow.
    small = replace(settings, subscription_buffer=2)
    async with running(small) as live, graphql_ws(live.url) as ws:
        await ws.subscribe("f", EVENTS)
        async with asyncio.timeout(PATIENCE):
            while live.hub.subscriber_count < 1:
                await asyncio.sleep(0.01)
        burst = _order_walked_through_its_flow("burst")
        await store.append("burst", 0, burst)  # five entries, appended at once
        got = [(await ws.data("f"))["orderEvents"] for _ in burst]
    assert [(e["orderId"], e["version"]) for e in got] == [("burst", v) for v in range(1, 6)]
