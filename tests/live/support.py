"""A real uvicorn server in the test's event loop, and the commands the tests
append with (through the service, as the mutations do)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

from orders_gql.domain.commands import (
    CancelOrder,
    CreateOrder,
    ItemInput,
    Metadata,
    UpdateOrderStatus,
)
from orders_gql.domain.status import OrderStatus
from orders_gql.embedded import free_port
from orders_gql.service import CommandResult, OrderService
from orders_gql.serving import Server, server
from orders_gql.settings import Settings

_commands = itertools.count()


class Running:
    """A server running in this event loop."""

    def __init__(self, server: Server, port: int) -> None:
        self.server = server
        self.url = f"ws://127.0.0.1:{port}/graphql"
        self.http_url = f"http://127.0.0.1:{port}/graphql"
        self.hub = server.hub


@contextlib.asynccontextmanager
async def running(settings: Settings, *, freeze_startup: bool = False) -> AsyncIterator[Running]:
    """Many servers run one after another in the test process: by default
    none freezes its objects (see serving.Server.startup)."""
    port = free_port()
    srv = server(
        replace(settings, log_level="warning"), "127.0.0.1", port, freeze_startup=freeze_startup
    )
    task = asyncio.create_task(srv.serve())
    async with asyncio.timeout(15):
        while not srv.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    try:
        yield Running(srv, port)
    finally:
        srv.should_exit = True
        await task


def _meta() -> Metadata:
    return Metadata(command_id=f"test-{next(_commands)}", correlation_id="test")


async def create(
    service: OrderService, order_id: str, email: str = "ada@example.com", items: int = 1
) -> CommandResult:
    """A new order; `items` > 1 makes a big event (over 100 bytes an item)."""
    name = "Product" if items == 1 else "A product with a long name to make the event big"
    lines = tuple(ItemInput(f"p{n}", f"{name} {n}", 1, Decimal("2.50")) for n in range(items))
    command = CreateOrder(order_id, "Ada Lovelace", email, lines)
    return await service.execute(command, metadata=_meta())


async def move(service: OrderService, order_id: str, status: OrderStatus) -> CommandResult:
    return await service.execute(UpdateOrderStatus(order_id, status), metadata=_meta())


async def cancel(
    service: OrderService, order_id: str, reason: str = "changed mind"
) -> CommandResult:
    return await service.execute(CancelOrder(order_id, reason), metadata=_meta())
