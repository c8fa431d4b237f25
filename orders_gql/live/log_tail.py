"""Tailing the partition logs: one blocking XREAD for all of them on a single
server; on a cluster, one per partition, each kept open until it returns."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..eventstore.codec import decode_event
from ..eventstore.connect import REDIS_ERRORS, is_cluster
from ..eventstore.per_partition import StandingReads, block_args, on_slot_of, read_each
from ..eventstore.redis_store import EventStoreUnavailable, RedisEventStore, StoredEvent

log = logging.getLogger("orders_gql.live")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class LogTail:
    """A cursor over the logs of every partition of a store, moved by `read`."""

    def __init__(
        self, store: RedisEventStore, *, block_ms: int | None = 2000, count: int = 500
    ) -> None:
        self.store = store
        self.block_ms = block_ms
        self.count = count
        self._logs = store.keys.logs()
        self._partition = {name: p for p, name in enumerate(self._logs)}
        self.cursors: dict[int, str] | None = None
        self._standing: StandingReads[Any] = StandingReads(self._read_one)

    async def seek_end(self) -> None:
        """Put the cursor at the current end of each log."""
        self.cursors = await self.ends()

    async def ends(self) -> dict[int, str]:
        """The current end of each log."""
        return {p: await self.store.last_position(p) for p in range(len(self._logs))}

    async def close(self) -> None:
        """Stop the blocking reads still open (on a cluster)."""
        await self._standing.close()

    async def disconnect(self) -> None:
        """Close the store's Redis connections, in use or not (for stopping)."""
        pool = getattr(self.store.redis, "connection_pool", None)
        if pool is not None:
            await pool.disconnect(inuse_connections=True)

    async def read(self, wanted: Callable[[], bool] | None = None) -> list[StoredEvent]:
        """Events after the cursor, in log order per partition, and move past them.
        Waits up to block_ms (if set) for the first; [] when none came.

        `wanted` is asked once the entries have come: when it says no, the
        cursor moves past them without decoding them, and [] is returned."""
        assert self.cursors is not None, "seek_end first"
        try:
            if is_cluster(self.store.redis) and self.block_ms is not None:
                replies = await self._standing.next(self.cursors, self.block_ms)
            elif is_cluster(self.store.redis):
                replies = await read_each(self.cursors, self._read_one, None)
            else:
                replies = await self._read_all()
        except REDIS_ERRORS as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        found: list[StoredEvent] = []
        if wanted is not None and not wanted():
            for partition, entries in replies.items():
                if entries:
                    self.cursors[partition] = _text(entries[-1][0])
            return found
        for partition, entries in replies.items():
            for entry_id, fields in entries:
                position = _text(entry_id)
                self.cursors[partition] = position
                try:
                    found.append(StoredEvent(decode_event(fields[b"e"]), position))
                except (KeyError, ValueError, TypeError):
                    log.exception("skipping log entry %s (partition %d)", position, partition)
        return found

    async def _read_all(self) -> dict[int, list[Any]]:
        assert self.cursors is not None
        streams: dict[Any, Any] = {self._logs[p]: pos for p, pos in self.cursors.items()}
        reply: Any = await self.store.redis.xread(streams, count=self.count, block=self.block_ms)
        return {self._partition[_text(name)]: entries for name, entries in reply or []}

    async def _read_one(self, partition: int, block_ms: int | None) -> list[Any]:
        assert self.cursors is not None
        log_key = self._logs[partition]
        reply: Any = await on_slot_of(
            self.store.redis, log_key, "XREAD", "COUNT", self.count, *block_args(block_ms),
            "STREAMS", log_key, self.cursors[partition],
        )  # fmt: skip
        return list(reply[0][1]) if reply else []
