"""Parking entries as dead letters: counting failed attempts, parking after
the last one, and parking the later entries of an order that is blocked."""

from __future__ import annotations

import logging
from typing import Any

from ..eventstore.connect import AnyRedis
from .deadletters import FAILED, describe, letter_fields
from .entries import Entry, text
from .keys import ProjectorKeys

log = logging.getLogger("orders_gql.projector")


class Parking:
    def __init__(self, redis: AnyRedis, keys: ProjectorKeys, max_attempts: int) -> None:
        self.redis = redis
        self.keys = keys
        self.max_attempts = max_attempts

    async def blocked(self, entries: list[Entry]) -> dict[str, str]:
        """Order id -> position it waits behind, for the orders of `entries`."""
        blocked: dict[str, str] = {}
        for p in self.keys.partitions:
            orders = sorted({describe(e.raw or b"")[0] for e in entries if e.partition == p})
            if orders:
                values = await self.redis.hmget(self.keys.blocked(p), orders)
                blocked.update({o: text(v) for o, v in zip(orders, values, strict=True) if v})
        return blocked

    async def failed(self, e: Entry, exc: Exception) -> bool:
        """Count a failed attempt; park the entry (True) after the last one."""
        attempts = int(await self.redis.hincrby(self.keys.attempts(e.partition), e.position, 1))
        error = f"{type(exc).__name__}: {exc}"
        if attempts < self.max_attempts:
            log.warning("entry %s failed (attempt %d): %s", e.position, attempts, error)
            return False
        log.error("parking %s after %d attempts: %s", e.position, attempts, error)
        await self.park(e, FAILED, error, attempts)
        return True

    async def park(self, e: Entry, reason: str, error: str, attempts: int) -> None:
        """Dead-letter, block the order and acknowledge, all in one MULTI."""
        order_id = describe(e.raw or b"")[0]
        pipe = self.redis.pipeline(transaction=True)
        fields: Any = letter_fields(e.partition, e.position, e.raw or b"", reason, error, attempts)
        pipe.xadd(self.keys.dead(e.partition), fields)
        pipe.hsetnx(self.keys.blocked(e.partition), order_id, e.position)
        pipe.hset(self.keys.parked(e.partition), e.position, order_id)
        pipe.xack(self.keys.log(e.partition), self.keys.group, e.position)
        pipe.hdel(self.keys.attempts(e.partition), e.position)
        await pipe.execute()
