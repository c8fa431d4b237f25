"""Tailing the partition logs with one blocking XREAD for all of them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

from ..eventstore.codec import decode_event
from ..eventstore.redis_store import EventStoreUnavailable, RedisEventStore, StoredEvent

log = logging.getLogger("orders_gql.live")


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class LogTail:
    """A cursor over the logs of every partition of a store, moved by `read`."""

    def __init__(self, store: RedisEventStore, *, block_ms: int = 2000, count: int = 500) -> None:
        self.store = store
        self.block_ms = block_ms
        self.count = count
        self._logs = store.keys.logs()
        self._partition = {name: p for p, name in enumerate(self._logs)}
        self.cursors: dict[int, str] | None = None

    async def seek_end(self) -> None:
        """Put the cursor at the current end of each log."""
        self.cursors = {p: await self.store.last_position(p) for p in range(len(self._logs))}

    async def disconnect(self) -> None:
        """Close the store's Redis connections, in use or not (for stopping)."""
        pool = getattr(self.store.redis, "connection_pool", None)
        if pool is not None:
            await pool.disconnect(inuse_connections=True)

    async def read(self, wanted: Callable[[], bool] = lambda: True) -> list[StoredEvent]:
        """Events after the cursor, in log order per partition, and move past them.
        Waits up to block_ms for the first; [] when none came. When `wanted()`
        is false once they came, they are skipped undecoded (nobody listens)."""
        assert self.cursors is not None, "seek_end first"
        streams: dict[Any, Any] = {self._logs[p]: pos for p, pos in self.cursors.items()}
        try:
            reply: Any = await self.store.redis.xread(
                streams, count=self.count, block=self.block_ms
            )
        except RedisError as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        found: list[StoredEvent] = []
        decode = wanted()
        for name, entries in reply or []:
            partition = self._partition[_text(name)]
            if not decode:
                if entries:
                    self.cursors[partition] = _text(entries[-1][0])
                continue
            for entry_id, fields in entries:
                position = _text(entry_id)
                self.cursors[partition] = position
                try:
                    found.append(StoredEvent(decode_event(fields[b"e"]), position))
                except (KeyError, ValueError, TypeError):
                    log.exception("skipping log entry %s (partition %d)", position, partition)
        return found
