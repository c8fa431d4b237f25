"""Single-order reads that arrive together are answered by one MongoDB query
(readside.pointreads); each read still gets its own order, or None, or the
read side's error, and a cancelled read leaves the others be."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient, monitoring

from orders_gql.readside import queries as rq
from orders_gql.readside.batch import ReadSideUnavailable
from orders_gql.readside.generations import ReadModels
from orders_gql.readside.pointreads import PointReads
from orders_gql.readside.store import ReadStore


class Finds(monitoring.CommandListener):
    """The find commands a client sent, with the ids each asked for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            wanted = event.command["filter"]["_id"]
            self.asked.append(sorted(wanted["$in"]) if isinstance(wanted, dict) else [wanted])

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(
    client_with: Callable[[monitoring.CommandListener], AsyncMongoClient[Any]], mongo_db: str
) -> tuple[ReadModels, Finds]:
    """Eight views (one deleted), read through a client whose finds are recorded."""
    finds = Finds()
    models = await ReadStore(client_with(finds), mongo_db).create_generation()
    views = models.views.get_pymongo_collection()
    await views.insert_many(
        [{"_id": f"o{n}", "customer_email": f"c{n}@example.com", "deleted": n == 3}
         for n in range(8)]
    )  # fmt: skip
    finds.asked.clear()
    return models, finds


async def test_reads_that_arrive_together_are_one_query(
    watched: tuple[ReadModels, Finds],
) -> None:
    models, finds = watched
    wanted = ["o1", "o5", "missing", "o3", "o5", "o0"]
    got = await asyncio.gather(*(rq.get_order(models, oid) for oid in wanted))
    # each read its own answer: unknown and deleted orders read as None
    assert [g and g["_id"] for g in got] == ["o1", "o5", None, None, "o5", "o0"]
    assert finds.asked == [["missing", "o0", "o1", "o3", "o5"]]  # one query, each id once


async def test_a_read_alone_is_a_find_by_id(watched: tuple[ReadModels, Finds]) -> None:
    models, finds = watched
    assert (await rq.get_order(models, "o2") or {})["customer_email"] == "c2@example.com"
    assert await rq.get_order(models, "o9") is None
    assert finds.asked == [["o2"], ["o9"]]  # reads that do not overlap are not held back


async def test_more_reads_than_one_query_takes_go_in_several(
    watched: tuple[ReadModels, Finds],
) -> None:
    models, finds = watched
    reads = PointReads(models.views.get_pymongo_collection, most=3)
    got = await asyncio.gather(*(reads.get(f"o{n}") for n in range(8)))
    assert [g and g["_id"] for g in got] == [f"o{n}" for n in range(8)]
    # the three queries run side by side, so they may start in any order
    assert sorted(finds.asked) == [["o0", "o1", "o2"], ["o3", "o4", "o5"], ["o6", "o7"]]


async def test_a_cancelled_read_leaves_the_others(watched: tuple[ReadModels, Finds]) -> None:
    models, finds = watched
    first = asyncio.ensure_future(rq.get_order(models, "o4"))
    second = asyncio.ensure_future(rq.get_order(models, "o4"))
    third = asyncio.ensure_future(rq.get_order(models, "o6"))
    await asyncio.sleep(0)  # all three wait in one gathering
    first.cancel()
    assert [(v or {}).get("_id") for v in await asyncio.gather(second, third)] == ["o4", "o6"]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert finds.asked == [["o4", "o6"]]


async def test_every_read_gets_the_error_when_mongodb_fails() -> None:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        "mongodb://127.0.0.1:9/?directConnection=true", serverSelectionTimeoutMS=200
    )
    reads = PointReads(lambda: client["db"]["views"])
    try:
        got = await asyncio.gather(*(reads.get(f"o{n}") for n in range(3)), return_exceptions=True)
    finally:
        await client.close()
    assert [type(g) for g in got] == [ReadSideUnavailable] * 3
    assert len({id(g) for g in got}) == 3  # each its own exception (tracebacks do not mix)


async def test_a_defect_reaches_every_read_as_an_error() -> None:
    def broken() -> Any:
        raise KeyError("no collection")

    reads = PointReads(broken)
    got = await asyncio.gather(reads.get("o1"), reads.get("o2"), return_exceptions=True)
    assert [type(g) for g in got] == [RuntimeError, RuntimeError]
    assert all(isinstance(g.__cause__, KeyError) for g in got if isinstance(g, BaseException))
