"""Taking over from dead consumers: their open MongoDB transaction is aborted
(its write locks would block every batch until the server reaps it), then the
entries they left pending are claimed, and they are removed from the group."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import bson

from ..eventstore.connect import AnyRedis
from .entries import Entry, entries_of, text
from .keys import ProjectorKeys
from .store import ReadStore

log = logging.getLogger("orders_gql.projector")


class Reclaimer:
    def __init__(
        self,
        redis: AnyRedis,
        keys: ProjectorKeys,
        store: ReadStore,
        consumer: str,
        claim_idle_ms: int,
        count: int,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.store = store
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self.count = count
        self._last_claim = self._last_reap = 0.0

    def _due(self, last: float) -> bool:
        return time.monotonic() - last >= self.claim_idle_ms / 4000

    async def register(self, session_id: Mapping[str, Any]) -> None:
        """Record this consumer's MongoDB session, so others can abort it."""
        await self.redis.hset(self.keys.sessions(), self.consumer, bson.encode(session_id))

    async def unregister(self) -> None:
        await self.redis.hdel(self.keys.sessions(), self.consumer)

    async def reap(self, force: bool = False) -> list[str]:
        """Abort the transactions of consumers whose entries sat idle past
        `claim_idle_ms` (crashed, or stuck). Returns their names."""
        if not (force or self._due(self._last_reap)):
            return []
        self._last_reap = time.monotonic()
        owners: set[str] = set()
        for p in self.keys.partitions:
            idle: Any = await self.redis.xpending_range(
                self.keys.log(p), self.keys.group, "-", "+", self.count, idle=self.claim_idle_ms
            )
            owners |= {text(e["consumer"]) for e in idle}
        dead = sorted(owners - {self.consumer})
        if dead:
            raw: Any = await self.redis.hmget(self.keys.sessions(), dead)
            await self.store.kill_sessions([bson.decode(r) for r in raw if r])
            log.info("aborted the transactions of idle consumers %s", dead)
        return dead

    async def claim(self) -> list[Entry]:
        """Entries idle past `claim_idle_ms` on other consumers, now ours."""
        if not self._due(self._last_claim):
            return []
        self._last_claim = time.monotonic()
        dead = await self.reap(force=True)
        entries: list[Entry] = []
        for p in self.keys.partitions:
            reply: Any = await self.redis.xautoclaim(
                self.keys.log(p),
                self.keys.group,
                self.consumer,
                min_idle_time=self.claim_idle_ms,
                count=self.count,
            )
            entries += entries_of(p, reply[1])
            for entry_id in reply[2] if len(reply) > 2 else []:  # deleted from the log
                await self.redis.xack(self.keys.log(p), self.keys.group, entry_id)
        if entries:
            log.info("claimed %d entries left pending by other consumers", len(entries))
        if dead:
            await self._forget(dead)
        return entries

    async def _forget(self, consumers: list[str]) -> None:
        """Remove dead consumers that have no pending entries left."""
        for p in self.keys.partitions:
            log_key = self.keys.log(p)
            info: Any = await self.redis.xinfo_consumers(log_key, self.keys.group)
            for c in info:
                if text(c["name"]) in consumers and int(c["pending"]) == 0:
                    await self.redis.xgroup_delconsumer(log_key, self.keys.group, c["name"])
        await self.redis.hdel(self.keys.sessions(), *consumers)
