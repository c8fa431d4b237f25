"""A deterministic mix of commands: creates, status changes, cancels, deletes."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from orders_gql.domain.commands import (
    CancelOrder,
    Command,
    CreateOrder,
    DeleteOrder,
    ItemInput,
    Metadata,
    UpdateOrderStatus,
)
from orders_gql.domain.status import OrderStatus
from orders_gql.service import OrderService

FLOW = [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED]


def one_mug(order_id: str, name: str, email: str) -> CreateOrder:
    """An order of one mug at 2.00, for tests about one order's events."""
    return CreateOrder(order_id, name, email, (ItemInput("p1", "Mug", 1, Decimal("2.00")),))


def script(orders: int, seed: int = 7, prefix: str = "o", names: int = 1) -> list[Command]:
    """Commands for `orders` orders, interleaved; about 3 events per order.
    A customer's orders carry `names` different spellings of its name."""
    rng = random.Random(seed)
    plans: list[list[Command]] = []
    for n in range(orders):
        oid = f"{prefix}{n}"
        items = tuple(
            ItemInput(
                f"p{k}",
                rng.choice(["Mug", "Pen", "Lamp (LED)", "Desk"]),
                rng.randint(1, 3),
                Decimal(rng.randint(100, 9999)) / 100,
            )
            for k in range(rng.randint(1, 3))
        )
        email = f"customer{rng.randint(0, orders // 4)}@example.com"
        name = f"Customer {email[:10]}" + (f" {n % names}" if names > 1 else "")
        plan: list[Command] = [CreateOrder(oid, name, email, items)]
        steps = rng.randint(0, 4)
        plan += [UpdateOrderStatus(oid, s) for s in FLOW[:steps]]
        end = rng.random()
        if steps < 3 and end < 0.25:
            plan.append(CancelOrder(oid, "changed mind"))
            if rng.random() < 0.5:
                plan.append(DeleteOrder(oid))
        elif steps == 0 and end < 0.4:
            plan.append(DeleteOrder(oid, "duplicate"))
        plans.append(plan)
    commands: list[Command] = []
    while plans:
        plan = rng.choice(plans)
        commands.append(plan.pop(0))
        if not plan:
            plans.remove(plan)
    return commands


async def run(
    service: OrderService, commands: list[Command], tag: str = "w", pause: float = 0.0
) -> str:
    """Execute in order, pausing between commands; returns the last position."""
    position = "0-0"
    for n, cmd in enumerate(commands):
        meta = Metadata(command_id=f"{tag}-{n}", correlation_id=tag)
        position = (await service.execute(cmd, metadata=meta)).position
        if pause:
            await asyncio.sleep(pause)
    return position
