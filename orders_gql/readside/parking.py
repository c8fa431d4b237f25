"""Parking entries as dead letters: counting failed attempts, parking after
the last one, and parking the later entries of an order that is blocked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..eventstore.connect import AnyRedis
from ..eventstore.scripts import LuaScript
from .deadletters import FAILED, describe, letter_fields
from .entries import Entry, text
from .keys import ProjectorKeys

log = logging.getLogger("orders_gql.projector")


class Parking:
    def __init__(self, redis: AnyRedis, keys: ProjectorKeys, max_attempts: int) -> None:
        self.redis = redis
        self.keys = keys
        self.max_attempts = max_attempts
        self._park = LuaScript(redis, "park.lua", __package__ or "")

    async def blocked(self, entries: list[Entry], order_ids: list[str]) -> dict[str, str]:
        """Order id -> position it waits behind, for the orders of `entries`
        (`order_ids`: theirs, in the same order)."""
        mine = [(e.partition, o) for e, o in zip(entries, order_ids, strict=True)]
        found = await self._held(self.keys.blocked, mine)
        return {order_id: position for (_, order_id), position in found.items()}

    async def parked(self, entries: list[Entry]) -> set[tuple[int, str]]:
        """(partition, position) of the `entries` that are dead letters now."""
        return set(await self._held(self.keys.parked, [(e.partition, e.position) for e in entries]))

    async def _held(
        self, hash_of: Callable[[int], str], items: list[tuple[int, str]]
    ) -> dict[tuple[int, str], str]:
        """(partition, field) -> value, for the `items` that their partition's
        hash `hash_of(partition)` holds: one HMGET per partition."""
        found: dict[tuple[int, str], str] = {}
        for p in self.keys.partitions:
            fields = sorted({field for q, field in items if q == p})
            if fields:
                values = await self.redis.hmget(hash_of(p), fields)
                found.update(((p, f), text(v)) for f, v in zip(fields, values, strict=True) if v)
        return found

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

    async def park(
        self, e: Entry, reason: str, error: str, attempts: int, *, only_if_blocked: bool = False
    ) -> bool:
        """Dead-letter the entry, block its order behind it, acknowledge it: in
        one script. `only_if_blocked`: only while the order is still blocked
        (False when a retry unblocked it meanwhile: apply the entry instead)."""
        p = e.partition
        order_id = describe(e.raw or b"")[0]
        fields: Any = letter_fields(p, e.position, e.raw or b"", reason, error, attempts)
        keys = [
            self.keys.dead(p),
            self.keys.blocked(p),
            self.keys.parked(p),
            self.keys.log(p),
            self.keys.attempts(p),
        ]
        flat = [part for pair in fields.items() for part in pair]
        args = [self.keys.group, e.position, order_id, "1" if only_if_blocked else "0", *flat]
        return bool(await self._park(keys, args))
