"""The projector against real Redis and SecantusDB: exactly-once effects from
at-least-once delivery, shared work, reclaimed pending entries."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from orders_gql.eventstore.keys import KeySpace
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside import switching
from orders_gql.readside.batch import Conflict
from orders_gql.readside.batchwrite import CHANGE_SLICES, StoredViews, write_batch
from orders_gql.readside.deadletters import FAILED, DeadLetters
from orders_gql.readside.documents import OrderViewFields
from orders_gql.readside.keys import ProjectorKeys
from orders_gql.readside.projector import Projector, ProjectorConfig
from orders_gql.readside.rebuild import CUSTOMERS_WINDOW, rebuild
from orders_gql.readside.store import Delivery, ReadStore
from orders_gql.service import OrderService

from . import workload
from .helpers import (
    active,
    all_orders,
    documents,
    drain,
    expected_statistics,
    statistics_of,
    wait_passed,
)


async def test_read_models_match_the_events(
    service: OrderService, store: RedisEventStore, read_store: ReadStore, make_projector: Any
) -> None:
    last = await workload.run(service, workload.script(40))
    projector = make_projector("p1")
    await drain(projector, last)
    docs = await documents(await active(read_store))
    orders = await all_orders(store)
    views = {d["_id"]: d for d in docs["views"]}
    assert set(views) == set(orders)
    for oid, order in orders.items():
        assert (views[oid]["version"], views[oid]["status"], views[oid]["deleted"]) == (
            order.version, order.status.value, order.deleted
        )  # fmt: skip
    assert statistics_of(docs) == expected_statistics(orders)


async def test_duplicates_and_redeliveries_change_nothing(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    redis: Redis,
    pkeys: ProjectorKeys,
    make_projector: Any,
) -> None:
    last = await workload.run(service, workload.script(25))
    projector = make_projector("p1")
    await drain(projector, last)
    models = await active(read_store)
    before = await documents(models)
    checkpoint = await read_store.checkpoint(models.generation)
    assert checkpoint is not None

    # the whole log again, as duplicates in one batch and in reverse order
    stored = await store.read_log(count=10_000)
    deliveries = [Delivery(s.event, s.position) for s in stored]
    await read_store.apply(deliveries + deliveries)
    await read_store.apply(list(reversed(deliveries)))
    # and every entry redelivered through the consumer group
    await redis.xgroup_setid(pkeys.log(0), pkeys.group, "0")
    await projector.step()
    await drain(projector, last)

    assert await documents(models) == before
    again = await read_store.checkpoint(models.generation)
    assert again is not None and again.applied == checkpoint.applied == len(stored)


@pytest.mark.parametrize("reinsert", [True, False], ids=["reinserting", "replacing"])
async def test_writers_racing_on_the_same_orders_count_each_event_once(
    service: OrderService, store: RedisEventStore, mongo: AsyncMongoClient[Any], mongo_db: str,
    reinsert: bool,
) -> None:  # fmt: skip
    # Views are rewritten by _id alone: the transaction's snapshot (a write to
    # a document changed since it aborts and retries) is what keeps two writers
    # of the same events from counting them twice, whether they replace a view
    # or delete and insert it again.
    read_store = ReadStore(mongo, mongo_db, reinsert=reinsert)
    await workload.run(service, workload.script(30))
    await read_store.ensure_active()
    stored = await store.read_log(count=10_000)
    deliveries = [Delivery(s.event, s.position) for s in stored]
    halves = [deliveries[: len(deliveries) // 2], deliveries]
    await asyncio.gather(*(read_store.apply(batch) for batch in halves * 3))
    docs = await documents(await active(read_store))
    assert statistics_of(docs) == expected_statistics(await all_orders(store))
    assert {d["_id"]: d["version"] for d in docs["views"]} == {
        oid: order.version for oid, order in (await all_orders(store)).items()
    }


async def test_two_projectors_share_the_log_and_apply_each_event_once(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    make_projector: Any,
) -> None:
    first, second = make_projector("a", batch_size=7), make_projector("b", batch_size=5)
    await first.start()
    last = await workload.run(service, workload.script(30))
    await asyncio.gather(drain(first, last), drain(second, last))
    models = await active(read_store)
    checkpoint = await read_store.checkpoint(models.generation)
    total = len(await store.read_log(count=10_000))
    assert checkpoint is not None and checkpoint.applied == total
    assert statistics_of(await documents(models)) == expected_statistics(await all_orders(store))


async def test_entries_left_pending_by_a_dead_consumer_are_claimed(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    redis: Redis,
    pkeys: ProjectorKeys,
    make_projector: Any,
) -> None:
    survivor = make_projector("survivor", claim_idle_ms=50)
    await survivor.start()
    last = await workload.run(service, workload.script(10))
    # a consumer takes every entry and dies before acknowledging any
    taken: Any = await redis.xreadgroup(pkeys.group, "dead", {pkeys.log(0): ">"}, count=1000)
    assert len(taken[0][1]) > 0
    await drain(survivor, last)
    summary: Any = await redis.xpending(pkeys.log(0), pkeys.group)
    assert summary["pending"] == 0
    docs = await documents(await active(read_store))
    assert statistics_of(docs) == expected_statistics(await all_orders(store))


# The customers' documents are written per window of customers gathered over
# the batches: once at the end (the default window), after nearly every batch
# (1), and in between, where a customer written earlier is read and moved again.
@pytest.mark.parametrize("window", [CUSTOMERS_WINDOW, 1, 4], ids=["at-the-end", "1", "4"])
async def test_rebuild_produces_the_same_documents(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    pkeys: ProjectorKeys,
    make_projector: Any,
    window: int,
) -> None:
    last = await workload.run(service, workload.script(30, names=3))
    await drain(make_projector("p1", batch_size=11), last)
    live = await documents(await active(read_store))
    assert len(live["customers"]) > 4  # more customers than the windows
    assert any(c["customer_name"].endswith(" 2") for c in live["customers"])
    result = await rebuild(
        read_store, store, pkeys, batch_size=13, switch=False, customers_window=window
    )
    fresh = await documents(await read_store.binder.generation(result.generation))
    assert fresh == live
    assert result.events == result.applied == len(await store.read_log(count=10_000))


async def test_partitioned_logs_are_projected_and_rebuilt_alike(
    redis: Redis, key_prefix: str, read_store: ReadStore
) -> None:
    keys = KeySpace(prefix=key_prefix, partitions=3)
    store = RedisEventStore(redis, keys)
    service = OrderService(store)
    pkeys = ProjectorKeys(keys)
    projector = Projector(redis, read_store, store, pkeys, ProjectorConfig(block_ms=20), "p1")
    await workload.run(service, workload.script(30, seed=4))
    lasts = [await store.last_position(p) for p in range(3)]
    assert all(pos != "0-0" for pos in lasts)  # every partition has events
    for pos in lasts:
        await drain(projector, pos)
    live = await documents(await active(read_store))
    orders = {}
    for p in range(3):
        orders |= await all_orders(RedisEventStore(redis, keys), partition=p)
    assert statistics_of(live) == expected_statistics(orders)
    result = await rebuild(read_store, store, pkeys, switch=False)
    assert await documents(await read_store.binder.generation(result.generation)) == live


@pytest.mark.parametrize("reinsert", [True, False], ids=["reinserting", "replacing"])
async def test_a_view_that_appeared_or_vanished_since_the_read_is_a_conflict(
    service: OrderService, store: RedisEventStore, read_store: ReadStore, reinsert: bool
) -> None:
    await workload.run(service, workload.script(3))
    await read_store.ensure_active()
    await read_store.apply([Delivery(s.event, s.position) for s in await store.read_log()])
    models = replace(await active(read_store), reinsert=reinsert)
    views = models.views.get_pymongo_collection()
    raw = await views.find_one({})
    view = OrderViewFields.model_validate(raw)
    before = await documents(models)
    gone = view.model_copy(update={"id": "no-such-order"})
    stale = StoredViews({gone.id: gone}, {gone.id: {**raw, "_id": gone.id}})

    async with read_store.client.start_session() as session:
        with pytest.raises(Conflict, match="appeared"):  # read as new, but there
            await write_batch(session, models, StoredViews(), {view.id: view})
        with pytest.raises(Conflict, match="vanished"):  # read as there, but gone
            await write_batch(session, models, stale, {gone.id: gone})

    assert (await documents(models))["views"] == before["views"]


async def test_reinserting_and_replacing_leave_the_same_read_models(
    service: OrderService, store: RedisEventStore, mongo: AsyncMongoClient[Any], mongo_db: str
) -> None:
    # The default asks the server: SecantusDB rewrites a document faster by a
    # delete and an insert (mongod by a replacement, see reinserting_is_cheaper).
    default = ReadStore(mongo, mongo_db)
    replacing = ReadStore(mongo, mongo_db + "r", reinsert=False)
    await workload.run(service, workload.script(40, seed=7))
    deliveries = [Delivery(s.event, s.position) for s in await store.read_log(count=10_000)]
    for read_store in (default, replacing):
        await read_store.ensure_active()
        for start in range(0, len(deliveries), 9):  # new orders and changes in each batch
            await read_store.apply(deliveries[start : start + 9])
    assert default.binder.reinsert is True and replacing.binder.reinsert is False
    docs = await documents(await active(default))
    assert docs == await documents(await active(replacing))
    assert statistics_of(docs) == expected_statistics(await all_orders(store))
    await mongo.drop_database(mongo_db + "r")


async def test_a_write_that_keeps_conflicting_is_parked_and_other_orders_flow(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    redis: Redis,
    pkeys: ProjectorKeys,
    make_projector: Any,
) -> None:
    # An operator's unique index refuses one order's view for good. That was
    # retried as a racing writer until "the read models stayed busy", and the
    # projector waited for its servers forever: no order moved, nothing was
    # parked, and the log never named the duplicate key.
    seeded = await workload.run(
        service, [workload.one_mug("o-seed", "Seed Example", "seed@example.com")]
    )
    projector = make_projector("p1")
    await drain(projector, seeded)
    views = (await active(read_store)).views.get_pymongo_collection()
    await views.create_index(
        "customer_email",
        unique=True,
        partialFilterExpression={"customer_email": "taken@example.com"},
        name="operators_unique",
    )
    await views.insert_one({"_id": "squatter", "customer_email": "taken@example.com"})
    read_store.conflict_patience = 0.3
    last = await workload.run(
        service,
        [
            workload.one_mug("o-refused", "Refused Example", "taken@example.com"),
            workload.one_mug("o-fine", "Fine Example", "fine@example.com"),
        ],
        tag="x",
    )

    await drain(projector, last, timeout=60)

    assert await views.find_one({"_id": "o-fine"}) is not None
    [letter] = await DeadLetters(redis, pkeys, read_store, store).list()
    assert (letter.order_id, letter.reason) == ("o-refused", FAILED)
    assert "PersistentConflict" in letter.error and "duplicate key" in letter.error


async def test_a_replay_counts_what_its_switch_applied(
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    pkeys: ProjectorKeys,
    make_projector: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Events the live projector applied after the replay's last batch are
    # applied by the switch; the summary said "replayed N (N - those applied)".
    projector = make_projector("p1")
    await drain(projector, await workload.run(service, workload.script(10)))
    real_pause = switching.pause_projection
    late: list[str] = []

    async def events_come_late(*args: Any) -> None:
        if not late:
            late.append(await workload.run(service, workload.script(6, prefix="late"), tag="l"))
            await drain(projector, late[0])  # into the generation being replaced
        await real_pause(*args)

    monkeypatch.setattr(switching, "pause_projection", events_come_late)
    result = await rebuild(read_store, store, pkeys, batch_size=100, drop_after=-1)

    total = len(await store.read_log(count=10_000))
    assert late and result.replaced is not None
    assert (result.events, result.applied, result.skipped) == (total, total, [])


async def test_a_running_projector_folds_the_customers_changes(
    redis: Redis,
    service: OrderService,
    store: RedisEventStore,
    read_store: ReadStore,
    pkeys: ProjectorKeys,
    make_projector: Any,
) -> None:
    stop = asyncio.Event()
    running = asyncio.create_task(make_projector("p1", batch_size=5).run(stop))
    try:
        last = await workload.run(service, workload.script(25, names=2))
        await wait_passed(redis, pkeys, last)
        models = await active(read_store)
        changes = models.customer_changes.get_pymongo_collection()
        async with asyncio.timeout(30):  # folded beside the batches, soon after them
            while await changes.count_documents({}):
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await running
    stored = await models.customers.get_pymongo_collection().find().sort("_id", 1).to_list()
    docs = await documents(models)
    assert stored == docs["customers"]
    assert statistics_of(docs) == expected_statistics(await all_orders(store))


async def test_a_busy_projector_folds_one_slice_of_the_customers_at_a_time(
    service: OrderService, store: RedisEventStore, read_store: ReadStore, make_projector: Any
) -> None:
    """While the log stays busy, each fold takes one slice of the customers,
    in turn, after every `fold_every` batches; once it is drained, one slice
    per step, new entries first."""
    await workload.run(service, workload.script(200, seed=5))
    projector = make_projector("p1", batch_size=10, fold_every=2)

    async def slices_left() -> set[int]:
        models = await active(read_store)
        found = await models.customer_changes.get_pymongo_collection().find().to_list()
        return {doc["slice"] for doc in found}

    folded_some = False
    for turn in range(4):
        assert await projector.step() == 10  # a batch, no fold
        before = await slices_left()
        assert await projector.step() == 10  # a batch, then slice `turn` folded
        after = await slices_left()
        assert turn not in after
        assert before - {turn} <= after  # the other slices wait
        folded_some = folded_some or turn in before
    assert folded_some
    while await projector.step():
        pass
    # drained: a slice per step, the log read again between them
    assert await projector.step() == 0
    await workload.run(service, workload.script(3, seed=6, prefix="late"))
    assert await projector.step() > 0
    while await projector.step():
        pass
    left = await slices_left()
    assert len(left) > 1
    for _ in range(CHANGE_SLICES):
        assert await projector.step() == 0
        now = await slices_left()
        assert now <= left and len(left - now) <= 1  # one slice at most
        left = now
    assert left == set()
    models = await active(read_store)
    stored = await models.customers.get_pymongo_collection().find().sort("_id", 1).to_list()
    docs = await documents(models)
    assert stored == docs["customers"]
    assert statistics_of(docs) == expected_statistics(await all_orders(store))


async def test_a_log_empty_for_a_moment_is_not_drained(
    service: OrderService, read_store: ReadStore, make_projector: Any
) -> None:
    """Under steady load the log is empty for moments between batches: a
    slice is folded as drained only once it stayed empty for fold_idle_ms,
    and entries that come sooner are projected first."""
    await workload.run(service, workload.script(40, seed=5))
    projector = make_projector(
        "p1", batch_size=500, fold_every=100, block_ms=5000, fold_idle_ms=5000
    )
    assert await projector.step() > 0  # everything, and no fold yet

    async def changes() -> int:
        models = await active(read_store)
        return int(await models.customer_changes.get_pymongo_collection().count_documents({}))

    before = await changes()
    assert before > 0

    async def later() -> None:
        await asyncio.sleep(0.3)
        await workload.run(service, workload.script(2, seed=9, prefix="late"))

    arriving = asyncio.create_task(later())
    assert await projector.step() > 0  # waited for them instead of folding
    await arriving
    assert await changes() > before  # theirs added, none folded


async def test_changes_left_unfolded_by_a_stopped_projector_are_folded_by_the_next(
    read_store: ReadStore, make_projector: Any
) -> None:
    models = await read_store.ensure_active()
    changes = models.customer_changes.get_pymongo_collection()
    await changes.insert_one(
        {"_id": "left-over", "changes": [["ann@example.com", 1, 250, "2026-01-01|o1", "Ann"]]}
    )
    projector = make_projector("p1")
    for _ in range(CHANGE_SLICES):  # nothing new in the log: a slice per step
        assert await changes.count_documents({}) == 1  # in no slice: folded after them
        assert await projector.step() == 0
    assert await changes.count_documents({}) == 0
    (ann,) = await models.customers.get_pymongo_collection().find().to_list()
    assert (ann["_id"], ann["customer_name"], ann["order_count"], ann["total_spent_cents"]) == (
        "ann@example.com", "Ann", 1, 250,
    )  # fmt: skip
