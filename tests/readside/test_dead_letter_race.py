"""A retry racing the projector: what the projector parks behind an order
while its letters are being applied is applied by the same retry, and once the
order is unblocked the projector applies its entries instead of parking them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis

from orders_gql.domain.events import OrderStatusChanged
from orders_gql.domain.status import OrderStatus
from orders_gql.eventstore.codec import UPCASTERS
from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside import deadletters
from orders_gql.readside.deadletters import BLOCKED, FAILED, DeadLetters
from orders_gql.readside.entries import Entry
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.parking import Parking
from orders_gql.readside.store import ReadStore
from orders_gql.service import OrderService

from ..poison import append_old_schema_event, upcast_v0
from . import workload
from .helpers import active, drain


def _next(order_id: str, version: int, frm: OrderStatus, to: OrderStatus) -> OrderStatusChanged:
    return OrderStatusChanged(
        event_id=f"e-{version}", order_id=order_id, version=version,
        occurred_at=datetime.now(UTC), metadata={}, from_status=frm, to_status=to,
    )  # fmt: skip


async def test_a_retry_applies_what_was_parked_behind_meanwhile_and_unblocks(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    redis: Redis,
    keys: KeySpace,
    pkeys: ProjectorKeys,
    make_projector: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    last = await workload.run(service, workload.script(2))
    order_id = "o-race"
    await workload.run(service, [workload.one_mug(order_id, "Race Customer", "race@example.com")])
    poison = await append_old_schema_event(redis, keys, order_id)
    projector = make_projector("p1")
    await drain(projector, last)
    await drain(projector, store.position(order_id, poison))
    assert await redis.hexists(pkeys.blocked(0), order_id)
    parking = Parking(redis, pkeys, max_attempts=3)

    # while the retry applies version 2, the projector parks version 3 behind it
    real_apply = deadletters.apply_filled
    raced: list[str] = []

    async def apply_while_the_projector_parks(*args: Any, **kwargs: Any) -> Any:
        if not raced:
            appended = await store.append(
                order_id, 2, [_next(order_id, 3, OrderStatus.CONFIRMED, OrderStatus.PROCESSING)]
            )
            position = appended.positions[-1]
            raced.append(position)
            [(_, fields)] = await redis.xrange(keys.log(), position, position)
            entry = Entry(0, position, fields[b"e"])
            assert await parking.park(entry, BLOCKED, "waits", 0, only_if_blocked=True)
        return await real_apply(*args, **kwargs)

    monkeypatch.setattr(deadletters, "apply_filled", apply_while_the_projector_parks)
    monkeypatch.setitem(UPCASTERS, ("OrderStatusChanged", 0), upcast_v0)
    letters = DeadLetters(redis, pkeys, read_store, store)

    report = await letters.retry()

    assert (report.applied, report.still_dead) == (2, 0)
    assert await letters.list() == []
    assert not await redis.hexists(pkeys.blocked(0), order_id)
    views = (await active(read_store)).views.get_pymongo_collection()
    assert (await views.find_one({"_id": order_id}))["version"] == 3

    # unblocked: the projector's late look at "blocked" parks nothing
    appended = await store.append(
        order_id, 3, [_next(order_id, 4, OrderStatus.PROCESSING, OrderStatus.SHIPPED)]
    )
    position = appended.positions[-1]
    [(_, fields)] = await redis.xrange(keys.log(), position, position)
    assert not await parking.park(
        Entry(0, position, fields[b"e"]), BLOCKED, "waits", 0, only_if_blocked=True
    )
    assert await letters.list() == []


async def test_entries_delivered_again_after_they_were_parked_are_not_parked_twice(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    redis: Redis,
    keys: KeySpace,
    pkeys: ProjectorKeys,
    make_projector: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A poison event parked, a later one of its order parked behind it; then
    # the group goes back to the log's start (read models rebuilt from scratch)
    # and both are delivered again. Parked a second time, the poison's copy
    # waited behind the poison itself, and each letter came twice.
    order_id = "o-again"
    await workload.run(service, [workload.one_mug(order_id, "Again Customer", "again@example.com")])
    poison = await append_old_schema_event(redis, keys, order_id)
    appended = await store.append(
        order_id, 2, [_next(order_id, 3, OrderStatus.CONFIRMED, OrderStatus.PROCESSING)]
    )
    projector = make_projector("p1")
    await drain(projector, appended.positions[-1])
    letters = DeadLetters(redis, pkeys, read_store, store)
    first = [(x.position, x.reason) for x in await letters.list()]
    assert first == [(poison, FAILED), (appended.positions[-1], BLOCKED)]

    await redis.xgroup_setid(keys.log(), pkeys.group, "0")
    await drain(make_projector("p2"), appended.positions[-1])

    assert [(x.position, x.reason) for x in await letters.list()] == first
    assert await redis.hget(pkeys.blocked(0), order_id) == poison.encode()
    monkeypatch.setitem(UPCASTERS, ("OrderStatusChanged", 0), upcast_v0)
    report = await letters.retry()
    assert (report.applied, report.still_dead) == (2, 0)
    views = (await active(read_store)).views.get_pymongo_collection()
    assert (await views.find_one({"_id": order_id}))["version"] == 3


async def test_a_parked_position_is_one_partitions(redis: Redis, key_prefix: str) -> None:
    # Two partitions' logs can hold the same entry id: an entry of the other
    # partition at a parked position is not the dead letter (it was skipped).
    pkeys = ProjectorKeys(KeySpace(prefix=f"{key_prefix}-two", partitions=2))
    parking = Parking(redis, pkeys, max_attempts=1)
    raw = b'{"orderId": "o-1", "version": 1, "type": "OrderCreated"}'
    await redis.xgroup_create(pkeys.log(0), pkeys.group, "0", mkstream=True)
    await redis.xadd(pkeys.log(0), {"e": raw}, id="5-0")
    assert await parking.park(Entry(0, "5-0", raw), FAILED, "poison", 1)
    same_id_elsewhere = [Entry(0, "5-0", raw), Entry(1, "5-0", raw)]
    assert await parking.parked(same_id_elsewhere) == {(0, "5-0")}
