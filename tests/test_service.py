"""The command service: idempotency, retries, snapshots, as a caller sees them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from redis.asyncio import Redis

from orders_gql.domain.commands import (
    CancelOrder,
    CreateOrder,
    ItemInput,
    Metadata,
    UpdateOrderStatus,
)
from orders_gql.domain.errors import OrderNotFound, ValidationError
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.codec import decode_snapshot
from orders_gql.eventstore.keys import KeySpace
from orders_gql.service import OrderService, new_order_id

ITEM = ItemInput("sku", "Lamp", 1, Decimal("30"))


def meta(n: int) -> Metadata:
    return Metadata(command_id=f"c{n}", correlation_id="corr", issued_by="staff@example.com")


def create(order_id: str = "o1") -> CreateOrder:
    return CreateOrder(order_id, "Alan Turing", "alan@example.com", (ITEM,))


async def test_snapshot_written_every_n_events(
    service: OrderService, redis: Redis, keys: KeySpace
) -> None:
    await service.execute(create(), metadata=meta(0))
    for n, status in enumerate(
        [OrderStatus.CONFIRMED, OrderStatus.PROCESSING, OrderStatus.SHIPPED]
    ):
        await service.execute(UpdateOrderStatus("o1", status), metadata=meta(n + 1))
    assert not await redis.exists(keys.snapshot("o1"))  # version 4 < 5
    await service.execute(UpdateOrderStatus("o1", OrderStatus.DELIVERED), metadata=meta(9))
    snapshot = decode_snapshot(await redis.get(keys.snapshot("o1")))
    assert snapshot.version == 5
    assert snapshot.status is OrderStatus.DELIVERED
    assert await service.load("o1") == snapshot


async def test_same_key_different_request_is_refused(
    service: OrderService, redis: Redis, keys: KeySpace
) -> None:
    await service.execute(create(), metadata=meta(0))
    await service.execute(CancelOrder("o1", "too slow"), metadata=meta(1), idempotency_key="k1")
    with pytest.raises(ValidationError) as refused:
        await service.execute(
            CancelOrder("o1", "other reason"), metadata=meta(2), idempotency_key="k1"
        )
    assert refused.value.field == "idempotencyKey"
    assert await redis.xlen(keys.order("o1")) == 2


async def test_retry_after_later_changes_returns_first_result(service: OrderService) -> None:
    await service.execute(create(), metadata=meta(0))
    first = await service.execute(
        UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=meta(1), idempotency_key="confirm"
    )
    await service.execute(UpdateOrderStatus("o1", OrderStatus.PROCESSING), metadata=meta(2))
    again = await service.execute(
        UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=meta(3), idempotency_key="confirm"
    )
    assert again.replayed and again.order == first.order and again.position == first.position
    assert (await service.get("o1")).status is OrderStatus.PROCESSING


async def test_create_with_key_derives_a_stable_order_id() -> None:
    assert new_order_id("abc") == new_order_id("abc") != new_order_id("abd")
    assert new_order_id() != new_order_id()


async def test_events_carry_the_callers_metadata(service: OrderService) -> None:
    await service.execute(create(), metadata=meta(0))
    (stored,) = await service.store.read_stream("o1")
    assert stored.event.metadata == {
        "commandId": "c0",
        "correlationId": "corr",
        "issuedBy": "staff@example.com",
    }


async def test_get_as_of_version_and_unknown_orders(service: OrderService) -> None:
    await service.execute(create(), metadata=meta(0))
    await service.execute(UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=meta(1))
    assert (await service.get("o1", as_of_version=1)).status is OrderStatus.PENDING
    with pytest.raises(OrderNotFound):
        await service.get("nope")
    with pytest.raises(ValidationError):
        await service.get("bad id with spaces")
