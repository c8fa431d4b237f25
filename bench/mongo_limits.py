"""The MongoDB limits the read side is held against: bulk upserts of
documents the size of an order view, and a bare `find_one` by id."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import random
import time
from typing import Any

from pymongo import AsyncMongoClient, ReplaceOne

from orders_gql.readside.documents import OrderView


class BulkUpserts:
    """Unordered bulk upserts of copies of `sample` (new ids), `batch` per bulk
    write, into a collection with the order views' indexes: what the
    projector's own writes are bounded by. Run in chunks (`run`), so that a
    scenario can alternate them with what it holds against them."""

    def __init__(self, url: str, db: str, sample: dict[str, Any], batch: int = 500) -> None:
        self.client: AsyncMongoClient[Any] = AsyncMongoClient(url)
        self.coll = self.client[db]["upsert_limit"]
        self.sample = sample
        self.batch = batch
        self.written = 0
        self.seconds = 0.0

    async def __aenter__(self) -> BulkUpserts:
        await self.coll.drop()
        await self.coll.create_indexes(list(OrderView.Settings.indexes))
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.coll.drop()
        await self.client.close()

    async def run(self, count: int) -> None:
        """`count` more documents; their time is added to `seconds`."""
        started = time.perf_counter()
        end = self.written + count
        for start in range(self.written, end, self.batch):
            ops = [
                ReplaceOne({"_id": f"L{n}"}, {**self.sample, "_id": f"L{n}"}, upsert=True)
                for n in range(start, min(end, start + self.batch))
            ]
            await self.coll.bulk_write(ops, ordered=False)
        self.seconds += time.perf_counter() - started
        self.written = end

    @property
    def rate(self) -> float:
        return self.written / self.seconds


def _find_one_worker(args: tuple[str, str, str, list[str], float, int]) -> tuple[int, float]:
    url, db, collection, ids, seconds, concurrency = args
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    async def main() -> tuple[int, float]:
        client: AsyncMongoClient[Any] = AsyncMongoClient(url, maxPoolSize=concurrency)
        coll = client[db][collection]
        rng = random.Random(1)
        done = 0
        await coll.find_one({"_id": ids[0]})  # connected (a find_one({}) can scan)
        deadline = time.monotonic() + seconds

        async def one() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await coll.find_one({"_id": rng.choice(ids)})
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        await client.close()
        return done, elapsed

    return asyncio.run(main())


def find_one_rate(
    url: str, db: str, collection: str, ids: list[str], seconds: float, concurrency: int = 32
) -> float:
    """find_one by random id from `concurrency` tasks in a process of its own."""
    with mp.get_context("spawn").Pool(1) as pool:
        ((done, elapsed),) = pool.map(
            _find_one_worker, [(url, db, collection, ids, seconds, concurrency)]
        )
    if not done:
        raise RuntimeError(f"no find_one on {db}.{collection} answered within {seconds:g} s")
    return done / elapsed
