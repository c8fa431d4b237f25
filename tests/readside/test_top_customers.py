"""topCustomers reads only the customers above a remembered spending floor;
the answer must be the one a full sort gives, also after spending falls."""

from __future__ import annotations

from typing import Any

from orders_gql.readside import queries as rq
from orders_gql.readside.store import ReadStore


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
    assert models.generation in rq._top_floor

    # when the top customers' spending falls below it, and one low customer rises
    top_ids = [c.id for c in await rq.top_customers(models, rq.TOP_WINDOW)]
    for cid in top_ids[:-5]:
        await customers.update_one({"_id": cid}, {"$set": {"total_spent_cents": 5}})
    await customers.update_one({"_id": "c0000@example.com"}, {"$set": {"total_spent_cents": 10**9}})

    # then every limit still answers what a full sort answers
    for limit in (10, 1, rq.TOP_WINDOW):
        found = [c.id for c in await rq.top_customers(models, limit)]
        assert found == await _full_sort(models, limit)


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
