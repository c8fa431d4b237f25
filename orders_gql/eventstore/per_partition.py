"""Reading several partition logs on a Redis Cluster, where one command may
only name keys of one slot: one command per partition, all at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

from redis.asyncio.cluster import RedisCluster

from .connect import AnyRedis

T = TypeVar("T")

Read = Callable[[int, int | None], Awaitable[list[T]]]


async def read_each(
    partitions: Iterable[int], read: Read[T], block_ms: int | None
) -> dict[int, list[T]]:
    """`read(partition, block_ms)` for every partition: first without blocking;
    when nothing came and `block_ms` is set, blocking reads of every partition
    at once, returning as soon as one has entries. The others are cancelled
    (redis-py closes their connections), so the caller must be able to read
    again what they may have taken: XREAD cursors did not move, and entries an
    XREADGROUP delivered wait in the consumer's pending list."""
    parts = list(partitions)
    found = dict(zip(parts, await asyncio.gather(*(read(p, None) for p in parts)), strict=True))
    if any(found.values()) or block_ms is None:
        return {p: e for p, e in found.items() if e}
    tasks: dict[asyncio.Future[list[T]], int] = {
        asyncio.ensure_future(read(p, block_ms)): p for p in parts
    }
    try:
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            got = {tasks[t]: t.result() for t in done}
            if any(got.values()):
                return {p: e for p, e in got.items() if e}
        return {}
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.gather(*tasks, return_exceptions=True)


class StandingReads(Generic[T]):
    """Blocking reads kept open per partition across calls, for a reader whose
    cursors move only with its own results (XREAD): a partition's read is not
    cancelled when another's returns, so no connection is dropped and opened
    again for each event while the logs are quiet. `close` cancels them."""

    def __init__(self, read: Read[T]) -> None:
        self._read = read
        self._open: dict[int, asyncio.Future[list[T]]] = {}

    async def next(self, partitions: Iterable[int], block_ms: int) -> dict[int, list[T]]:
        """What the reads that finished brought, waiting up to about block_ms."""
        for p in partitions:
            if p not in self._open:
                self._open[p] = asyncio.ensure_future(self._read(p, block_ms))
        await asyncio.wait(
            self._open.values(), timeout=block_ms / 1000 + 1, return_when=asyncio.FIRST_COMPLETED
        )
        finished = {p: task for p, task in self._open.items() if task.done()}
        for p in finished:
            del self._open[p]
        # Each failed read's error is taken (else asyncio logs it as never
        # retrieved); the first is raised.
        failed = [e for task in finished.values() if (e := task.exception()) is not None]
        if failed:
            raise failed[0]
        results = {p: task.result() for p, task in finished.items()}
        return {p: entries for p, entries in results.items() if entries}

    async def close(self) -> None:
        tasks, self._open = list(self._open.values()), {}
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def on_slot_of(redis: AnyRedis, key: str, *command: Any) -> Any:
    """A command whose keys share `key`'s slot. On a cluster it goes straight
    to that slot's master: redis-py would first ask a server for the keys of
    an XREAD or XREADGROUP (their keys move), a round trip per read."""
    if not isinstance(redis, RedisCluster):
        single: Any = redis
        return await single.execute_command(*command)
    await redis.initialize()  # the slot map (at once when it is known)
    return await redis.execute_command(*command, target_nodes=redis.get_node_from_key(key))


def block_args(block_ms: int | None) -> list[Any]:
    return [] if block_ms is None else ["BLOCK", block_ms]
