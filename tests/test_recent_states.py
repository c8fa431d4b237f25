"""A process decides its next command on an order it just wrote from the state
it kept, without loading it; when another process moved the order meanwhile,
the answer is the one the stored order gives (never a stale refusal, never an
event appended on a stale state)."""

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
from orders_gql.domain.errors import ConcurrencyConflict, InvalidStatusTransition
from orders_gql.domain.model import OrderStatus
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.service import OrderService, RecentStates

META = Metadata("c", "r")
ITEM = ItemInput("p1", "Pen", 1, Decimal("2.50"))


def service(redis: Redis, keys: KeySpace, kept: int = 100, **kw: int) -> OrderService:
    return OrderService(RedisEventStore(redis, keys), recent_states=kept, **kw)


async def scripts_run(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")
    )


async def create(svc: OrderService, order_id: str = "o1") -> None:
    await svc.execute(CreateOrder(order_id, "Ada", "ada@example.com", (ITEM,)), metadata=META)


async def confirmed_elsewhere(
    redis: Redis, keys: KeySpace, **kw: int
) -> tuple[OrderService, OrderService]:
    """`mine` created o1 and keeps it PENDING; `other` has confirmed it since."""
    mine, other = service(redis, keys, **kw), service(redis, keys)
    await create(mine)
    await status(other, OrderStatus.CONFIRMED)
    return mine, other


async def status(svc: OrderService, to: OrderStatus, **kw: int) -> int:
    result = await svc.execute(UpdateOrderStatus("o1", to), metadata=META, **kw)
    return result.order.version


@pytest.mark.parametrize(("kept", "round_trips"), [(100, 3), (0, 5)])
async def test_the_next_command_on_an_order_just_written_is_not_loaded(
    redis: Redis, keys: KeySpace, kept: int, round_trips: int
) -> None:
    svc = service(redis, keys, kept)
    warm = service(redis, keys, 0)  # loads the scripts into the server
    await create(warm, "w")
    await warm.execute(UpdateOrderStatus("w", OrderStatus.CONFIRMED), metadata=META)
    before = await scripts_run(redis)
    await create(svc)
    assert await status(svc, OrderStatus.CONFIRMED) == 2
    assert await status(svc, OrderStatus.PROCESSING) == 3
    # create: append; each update: (load +) append
    assert await scripts_run(redis) - before == round_trips
    assert (await svc.get("o1")).status is OrderStatus.PROCESSING


async def test_a_state_another_process_moved_is_refused_only_as_stored(
    redis: Redis, keys: KeySpace
) -> None:
    mine, other = await confirmed_elsewhere(redis, keys)
    # PENDING -> PROCESSING would be refused; the stored CONFIRMED allows it.
    assert await status(mine, OrderStatus.PROCESSING) == 3
    await status(other, OrderStatus.SHIPPED)
    # Kept PROCESSING accepts SHIPPED, but the order is SHIPPED already: the
    # append conflicts, the order is loaded, and the answer is the stored one.
    with pytest.raises(InvalidStatusTransition):
        await status(mine, OrderStatus.SHIPPED)
    stored = await mine.store.read_stream("o1")
    assert [s.event.version for s in stored] == [1, 2, 3, 4]


async def test_a_command_accepted_on_a_stale_state_is_decided_again_on_the_stored_one(
    redis: Redis, keys: KeySpace
) -> None:
    mine, _ = await confirmed_elsewhere(redis, keys)
    result = await mine.execute(CancelOrder("o1", "changed my mind"), metadata=META)
    assert result.order.version == 3
    assert result.order.status is OrderStatus.CANCELLED
    types = [s.event.type for s in await mine.store.read_stream("o1")]
    assert types == ["OrderCreated", "OrderStatusChanged", "OrderCancelled"]


async def test_expected_version_is_checked_against_the_stored_order(
    redis: Redis, keys: KeySpace
) -> None:
    mine, other = await confirmed_elsewhere(redis, keys)
    # mine kept version 1; the order is at 2, which the caller expects.
    assert await status(mine, OrderStatus.PROCESSING, expected_version=2) == 3
    with pytest.raises(ConcurrencyConflict):
        await status(other, OrderStatus.SHIPPED, expected_version=2)


async def test_a_stale_state_is_reloaded_even_without_conflict_retries(
    redis: Redis, keys: KeySpace
) -> None:
    mine, _ = await confirmed_elsewhere(redis, keys, max_retries=0)
    assert await status(mine, OrderStatus.PROCESSING) == 3


async def test_a_retried_command_is_answered_from_its_idempotency_record(
    redis: Redis, keys: KeySpace
) -> None:
    svc = service(redis, keys)
    await create(svc)
    first = await svc.execute(
        UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=META, idempotency_key="k1"
    )
    again = await svc.execute(
        UpdateOrderStatus("o1", OrderStatus.CONFIRMED), metadata=META, idempotency_key="k1"
    )
    assert again.replayed
    assert (again.order.version, again.position) == (first.order.version, first.position)
    assert len(await svc.store.read_stream("o1")) == 2


def test_the_least_recently_used_state_goes_first_and_no_older_state_replaces_a_newer() -> None:
    from orders_gql.domain.model import Order

    recent = RecentStates(2)
    a, b, c = Order("a", version=1), Order("b", version=1), Order("c", version=1)
    recent.put(a)
    recent.put(b)
    assert recent.get("a") is a  # a used last: b goes first
    recent.put(c)
    assert (recent.get("b"), len(recent)) == (None, 2)
    newer = Order("a", version=3)
    recent.put(newer)
    recent.put(Order("a", version=2))
    assert recent.get("a") is newer
    off = RecentStates(0)
    off.put(a)
    assert off.get("a") is None
