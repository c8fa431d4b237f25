"""Seeding without HTTP: commands go through OrderService into the Redis event
store, and the projector's own code projects them, so a run stays bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orders_gql.app import Components, build_components
from orders_gql.domain.commands import CreateOrder, ItemInput, Metadata, UpdateOrderStatus
from orders_gql.domain.status import OrderStatus
from orders_gql.readside.projector import Projector
from orders_gql.service import OrderService
from orders_gql.settings import Settings

FLOW = [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]
PRODUCTS = ["Notebook", "Pen", "Desk lamp", "Coffee mug", "Backpack", "Stapler"]


@contextlib.asynccontextmanager
async def components(settings: Settings) -> AsyncIterator[Components]:
    parts = build_components(settings)
    try:
        yield parts
    finally:
        await parts.aclose()


def spread_clock(months: int = 24) -> Callable[[], datetime]:
    """A clock that walks through `months` months, so statistics have many buckets."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ticks = iter(range(10**12))
    return lambda: start + timedelta(minutes=(next(ticks) * 7919) % (months * 30 * 24 * 60))


def create_command(n: int, customers: int, order_id: str) -> CreateOrder:
    c = n % customers
    items = tuple(
        ItemInput(f"sku-{(n + k) % 50}", PRODUCTS[(n + k) % len(PRODUCTS)], 1 + (n + k) % 3,
                  Decimal(100 + (n * 37 + k) % 9900) / 100)
        for k in range(1 + n % 3)
    )  # fmt: skip
    return CreateOrder(order_id, f"Customer {c}", f"c{c}@example.com", items)


def _meta() -> Metadata:
    return Metadata(str(uuid.uuid4()), "bench-seed")


async def seed_orders(
    service: OrderService,
    numbers: range,
    *,
    customers: int,
    steps: int = 0,
    prefix: str = "o",
    concurrency: int = 32,
) -> list[str]:
    """Create an order per number and walk each `steps` steps along its flow;
    workers interleave the orders in the log as live traffic would."""
    ids = [f"{prefix}{n:07d}" for n in numbers]
    queue = iter(zip(numbers, ids, strict=True))

    async def worker() -> None:
        for n, oid in queue:
            await service.execute(create_command(n, customers, oid), metadata=_meta())
            for status in FLOW[:steps]:
                await service.execute(UpdateOrderStatus(oid, status), metadata=_meta())

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def advance(
    service: OrderService, ids: list[str], status: OrderStatus, concurrency: int = 32
) -> None:
    """Move every order one step, as traffic that comes back to orders later does."""
    queue = iter(ids)

    async def worker() -> None:
        for oid in queue:
            await service.execute(UpdateOrderStatus(oid, status), metadata=_meta())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def project_all(parts: Components) -> tuple[int, float]:
    """Run the projector until it finds nothing new; (events, seconds busy)."""
    return await project_some(parts.projector())


async def project_some(projector: Projector, at_least: float = float("inf")) -> tuple[int, float]:
    """Run `projector` until it projected `at_least` events or finds nothing
    new; (events, seconds busy)."""
    started = time.perf_counter()
    busy_until = started
    total = 0
    while total < at_least:
        count = await projector.step()
        if not count:  # drained after a full batch: fold the rest (not the read's wait)
            folding = time.perf_counter()
            await projector.fold_customers()
            busy_until += time.perf_counter() - folding
            break
        total += count
        if count < projector.config.batch_size:  # drained: the customers' folding counts too
            await projector.fold_customers()
        busy_until = time.perf_counter()
    return total, busy_until - started
