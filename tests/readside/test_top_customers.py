"""topCustomers reads only the customers above a remembered spending floor;
the answer must be the one a full sort gives, also after spending falls."""

from __future__ import annotations

import asyncio
from typing import Any

from orders_gql.embedded import EmbeddedMongo
from orders_gql.eventstore.redis_store import RedisEventStore
from orders_gql.readside import queries as rq
from orders_gql.readside.batch import Conflict
from orders_gql.readside.batchwrite import CHANGE_SLICES, change_slice
from orders_gql.readside.mongo import mongo_client
from orders_gql.readside.store import Delivery, ReadStore
from orders_gql.service import OrderService

from . import workload
from .helpers import active, documents


def _customer(n: int, spent: int) -> dict[str, Any]:
    return {
        "_id": f"c{n:04d}@example.com",
        "customer_name": f"Customer {n}",
        "name_key": "",
        "order_count": 1,
        "total_spent_cents": spent,
    }


async def _full_sort(models: Any, limit: int) -> list[str]:
    docs = (
        await models.customers.get_pymongo_collection().find({"order_count": {"$gt": 0}}).to_list()
    )
    docs.sort(key=lambda d: (-d["total_spent_cents"], -d["order_count"], d["_id"]))
    return [d["_id"] for d in docs[:limit]]


async def test_top_customers_match_a_full_sort_as_spending_moves(read_store: ReadStore) -> None:
    models = await read_store.create_generation()
    customers = models.customers.get_pymongo_collection()
    count = rq.TOP_WINDOW + 50
    await customers.insert_many([_customer(n, 1000 + n * 10) for n in range(count)])

    # given a floor remembered from a first query
    first = await rq.top_customers(models, 10)
    assert [c.id for c in first] == await _full_sort(models, 10)
    assert (models.generation, rq.top_window(10)) in rq._top_floor

    # when the top customers' spending falls below it, and one low customer rises
    top_ids = [c.id for c in await rq.top_customers(models, rq.TOP_WINDOW)]
    for cid in top_ids[:-5]:
        await customers.update_one({"_id": cid}, {"$set": {"total_spent_cents": 5}})
    await customers.update_one({"_id": "c0000@example.com"}, {"$set": {"total_spent_cents": 10**9}})

    # then every limit, of every window, still answers what a full sort answers
    for limit in (10, 1, 11, 25, 26, rq.TOP_WINDOW, rq.TOP_WINDOW + 1):
        found = [c.id for c in await rq.top_customers(models, limit)]
        assert found == await _full_sort(models, limit)


def test_a_query_reads_the_smallest_window_that_holds_its_limit() -> None:
    windows = {limit: rq.top_window(limit) for limit in (1, 10, 11, 25, 26, 100, 101, 250)}
    assert windows == {1: 10, 10: 10, 11: 25, 25: 25, 26: 100, 100: 100, 101: 200, 250: 300}


async def test_each_window_keeps_a_floor_of_its_own(read_store: ReadStore) -> None:
    models = await read_store.create_generation()
    customers = models.customers.get_pymongo_collection()
    await customers.insert_many([_customer(n, 1000 + n * 10) for n in range(rq.TOP_WINDOW + 50)])

    for limit in (10, 25, rq.TOP_WINDOW):
        assert [c.id for c in await rq.top_customers(models, limit)] == await _full_sort(
            models, limit
        )

    # the floor of each window is the spending of its last customer: a query
    # for the top 10 reads the ten customers above its floor, not a hundred
    spent = sorted((1000 + n * 10 for n in range(rq.TOP_WINDOW + 50)), reverse=True)
    floors = {w: rq._top_floor[(models.generation, w)] for w in rq.TOP_WINDOWS}
    assert floors == {w: spent[w - 1] for w in rq.TOP_WINDOWS}


async def test_few_customers_include_those_who_spent_nothing(read_store: ReadStore) -> None:
    # customers whose orders were all cancelled rank last; those whose orders
    # were all deleted (no orders left) are not customers any more
    models = await read_store.create_generation()
    docs = [_customer(n, 500 * n) for n in range(1, 6)]
    docs += [{**_customer(n, 0), "order_count": 2} for n in range(6, 9)]
    docs += [{**_customer(n, 0), "order_count": 0} for n in range(9, 11)]
    await models.customers.get_pymongo_collection().insert_many(docs)

    found = [c.id for c in await rq.top_customers(models, 10)]

    assert found == await _full_sort(models, 10)
    assert len(found) == 8


async def _unfolded_count(models: Any) -> int:
    return int(await models.customer_changes.get_pymongo_collection().count_documents({}))


async def _slices_left(models: Any) -> set[int]:
    """The slices of the customers with unfolded changes, checked against the
    customers each change document holds."""
    found = await models.customer_changes.get_pymongo_collection().find().to_list()
    for doc in found:
        assert {change_slice(c[0]) for c in doc["changes"]} == {doc["slice"]}
    return {doc["slice"] for doc in found}


async def test_unfolded_changes_rank_as_if_folded(
    read_store: ReadStore, service: OrderService, store: RedisEventStore
) -> None:
    """Live projection records each batch's customers' changes and folds them
    later; until then topCustomers adds them to the customers' documents, so
    its answer is the same before, during and after the folding."""
    await workload.run(service, workload.script(60, seed=11, names=2))
    await read_store.ensure_active()
    log = [Delivery(s.event, s.position) for s in await store.read_log(count=10_000)]
    for start in range(0, len(log), 7):  # batches of 7: many change documents
        await read_store.apply(log[start : start + 7])
    models = await active(read_store)
    pending = await _unfolded_count(models)
    assert pending > 10
    expected = (await documents(models))["customers"]  # the documents with their changes

    def ranked(limit: int) -> list[tuple[str, str, int, int]]:
        live = [c for c in expected if c["order_count"] > 0]
        live.sort(key=lambda c: (-c["total_spent_cents"], -c["order_count"], c["_id"]))
        return [(c["_id"], c["customer_name"], c["order_count"], c["total_spent_cents"])
                for c in live[:limit]]  # fmt: skip

    async def answered(limit: int) -> list[tuple[str, str, int, int]]:
        found = await rq.top_customers(models, limit)
        return [(c.id, c.customer_name, c.order_count, c.total_spent_cents) for c in found]

    for limit in (1, 5, 100):
        assert await answered(limit) == ranked(limit)  # nothing folded
    assert await read_store.fold_customers(limit=3) == 3  # some folded
    for limit in (1, 5, 100):
        assert await answered(limit) == ranked(limit)
    present = await _slices_left(models)
    assert len(present) >= 3
    folded: set[int] = set()
    for part in sorted(present)[:3]:  # one slice of the customers at a time
        assert await read_store.fold_customers(slice_=part) > 0
        folded.add(part)
        assert await _slices_left(models) == present - folded  # the others wait
        for limit in (1, 5, 100):
            assert await answered(limit) == ranked(limit)
    while await read_store.fold_customers():
        pass
    assert await _unfolded_count(models) == 0
    stored = await models.customers.get_pymongo_collection().find().sort("_id", 1).to_list()
    assert stored == expected  # folded into the documents exactly
    for limit in (1, 5, 100):
        assert await answered(limit) == ranked(limit)


async def test_top_customers_agree_while_their_changes_are_folded(
    read_store: ReadStore, service: OrderService, store: RedisEventStore
) -> None:
    """A fold moves changes into the documents in one commit: topCustomers
    read on either side of it would count them twice or not at all."""
    await workload.run(service, workload.script(60, seed=13))
    await read_store.ensure_active()
    log = [Delivery(s.event, s.position) for s in await store.read_log(count=10_000)]
    for start in range(0, len(log), 2):  # many small change documents
        await read_store.apply(log[start : start + 2])
    models = await active(read_store)
    customers = [c for c in (await documents(models))["customers"] if c["order_count"] > 0]
    customers.sort(key=lambda c: (-c["total_spent_cents"], -c["order_count"], c["_id"]))
    expected = [(c["_id"], c["order_count"], c["total_spent_cents"]) for c in customers]

    async def fold_one_at_a_time() -> None:
        for part in range(CHANGE_SLICES):
            while await read_store.fold_customers(limit=1, slice_=part):
                await asyncio.sleep(0)

    folding = asyncio.create_task(fold_one_at_a_time())
    answers = []
    while not folding.done():
        found = await rq.top_customers(models, 100)
        answers.append([(c.id, c.order_count, c.total_spent_cents) for c in found])
    await folding
    assert await _unfolded_count(models) == 0
    assert len(answers) > 5
    assert [n for n, answer in enumerate(answers) if answer != expected] == []


async def test_folders_racing_fold_each_change_once(
    read_store: ReadStore,
    service: OrderService,
    store: RedisEventStore,
    mongo_server: EmbeddedMongo,
    mongo_db: str,
) -> None:
    await workload.run(service, workload.script(40, seed=3))
    await read_store.ensure_active()
    log = [Delivery(s.event, s.position) for s in await store.read_log(count=10_000)]
    for start in range(0, len(log), 5):
        await read_store.apply(log[start : start + 5])
    models = await active(read_store)
    expected = (await documents(models))["customers"]
    other = ReadStore(mongo_client(mongo_server.url, 5000), mongo_db)  # another projector's

    async def folder(reads: ReadStore) -> None:
        while True:
            try:
                if not await reads.fold_customers(limit=2):
                    return
            except Conflict:
                continue  # the other took some of these: again

    try:
        await asyncio.gather(folder(read_store), folder(other), folder(read_store))
    finally:
        await other.client.close()
    assert await _unfolded_count(models) == 0
    stored = await models.customers.get_pymongo_collection().find().sort("_id", 1).to_list()
    assert stored == expected


async def test_customers_whose_unfolded_changes_move_them_down_make_room(
    read_store: ReadStore,
) -> None:
    models = await read_store.create_generation()
    await models.customers.get_pymongo_collection().insert_many(
        [_customer(n, spent) for n, spent in enumerate([500, 400, 300, 200, 100], start=1)]
    )
    # the two top customers' orders were cancelled (revenue out), a newcomer ordered
    await models.customer_changes.get_pymongo_collection().insert_one(
        {
            "_id": "batch-1",
            "changes": [
                ["c0001@example.com", 0, -450, "", ""],
                ["c0002@example.com", 0, -350, "", ""],
                ["c0009@example.com", 1, 250, "2026-01-01|o9", "Newcomer"],
            ],
        }
    )
    found = [(c.id, c.total_spent_cents) for c in await rq.top_customers(models, 3)]
    assert found == [
        ("c0003@example.com", 300),
        ("c0009@example.com", 250),
        ("c0004@example.com", 200),
    ]
