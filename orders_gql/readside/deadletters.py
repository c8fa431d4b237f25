"""Dead letters: entries whose handler kept failing, parked in a stream per
partition with the error; later events of the same order are parked behind
them (reason BLOCKED) so nothing is applied out of order. Retrying applies an
order's letters in position order and stops at the first that fails again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ..eventstore.codec import decode_event
from ..eventstore.connect import AnyRedis
from ..eventstore.redis_store import RedisEventStore
from ..eventstore.scripts import LuaScript
from .failures import is_infrastructure
from .filling import apply_filled
from .keys import ProjectorKeys
from .positions import key as position_key
from .store import Delivery, ReadStore

FAILED = "FAILED"
BLOCKED = "BLOCKED"
#: How often a retry applies what the projector parked behind an order's
#: letters while they were being applied, before leaving the order blocked.
UNBLOCK_ROUNDS = 10


@dataclass(frozen=True)
class DeadLetter:
    id: str
    partition: int
    position: str
    order_id: str
    version: int
    event_type: str
    reason: str
    error: str
    attempts: int
    parked_at: datetime
    raw: bytes


@dataclass(frozen=True)
class RetryReport:
    applied: int
    still_dead: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def describe(raw: bytes) -> tuple[str, int, str]:
    """Best effort (order id, version, type) of a raw event, even an undecodable one."""
    try:
        doc = orjson.loads(raw)
        return str(doc.get("orderId", "?")), int(doc.get("version", 0)), str(doc.get("type", "?"))
    except (orjson.JSONDecodeError, TypeError, ValueError, AttributeError):
        return "?", 0, "?"


def letter_fields(
    partition: int, position: str, raw: bytes, reason: str, error: str, attempts: int
) -> dict[str, Any]:
    order_id, version, kind = describe(raw)
    return {
        "partition": partition,
        "position": position,
        "orderId": order_id,
        "version": version,
        "type": kind,
        "reason": reason,
        "error": error[:2000],
        "attempts": attempts,
        "parkedAt": datetime.now(UTC).isoformat(),
        "e": raw,
    }


class DeadLetters:
    def __init__(
        self, redis: AnyRedis, keys: ProjectorKeys, store: ReadStore, events: RedisEventStore
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.store = store
        self.events = events
        self._unblock = LuaScript(redis, "unblock.lua", __package__ or "")

    async def list(self, order_id: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """Parked entries, oldest position first."""
        letters: list[DeadLetter] = []
        for p in self.keys.partitions:
            entries: Any = await self.redis.xrange(self.keys.dead(p))
            for entry_id, fields in entries:
                f = {_text(k): v for k, v in fields.items()}
                letter = DeadLetter(
                    id=_text(entry_id),
                    partition=p,
                    position=_text(f["position"]),
                    order_id=_text(f["orderId"]),
                    version=int(f["version"]),
                    event_type=_text(f["type"]),
                    reason=_text(f["reason"]),
                    error=_text(f["error"]),
                    attempts=int(f["attempts"]),
                    parked_at=datetime.fromisoformat(_text(f["parkedAt"])),
                    raw=bytes(f["e"]),
                )
                if order_id is None or letter.order_id == order_id:
                    letters.append(letter)
        letters.sort(key=lambda x: position_key(x.position))
        return letters[:limit]

    async def retry(self, order_id: str | None = None) -> RetryReport:
        """Apply parked entries again, per order in position order; an order
        whose letters all applied is unblocked (after those the projector
        parked behind them meanwhile: they are applied too)."""
        letters = await self.list(order_id, limit=1_000_000)
        by_order: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_order.setdefault(letter.order_id, []).append(letter)
        report = RetryReport(applied=0, still_dead=0)
        for oid, queue in by_order.items():
            partition = queue[0].partition
            for _ in range(UNBLOCK_ROUNDS):
                applied, still = await self._apply(queue)
                report = RetryReport(report.applied + applied, report.still_dead + still)
                if still or await self._unblock(
                    [self.keys.blocked(partition), self.keys.parked(partition)], [oid]
                ):
                    break
                queue = await self.list(oid, limit=1_000_000)  # parked meanwhile
        return report

    async def _apply(self, queue: Sequence[DeadLetter]) -> tuple[int, int]:
        """Apply one order's letters in order; (applied, still dead)."""
        for n, letter in enumerate(queue):
            try:
                event = decode_event(letter.raw)
                await apply_filled(
                    self.store, self.events, [Delivery(event, letter.position, letter.partition)]
                )
            except Exception as exc:
                if is_infrastructure(exc):
                    raise
                await self._repark(letter, exc)
                return n, len(queue) - n
            pipe = self.redis.pipeline(transaction=True)
            pipe.xdel(self.keys.dead(letter.partition), letter.id)
            pipe.hdel(self.keys.parked(letter.partition), letter.position)
            await pipe.execute()
        return len(queue), 0

    async def _repark(self, letter: DeadLetter, exc: Exception) -> None:
        fields: Any = letter_fields(
            letter.partition,
            letter.position,
            letter.raw,
            FAILED,
            f"{type(exc).__name__}: {exc}",
            letter.attempts + 1,
        )
        pipe = self.redis.pipeline(transaction=True)
        pipe.xadd(self.keys.dead(letter.partition), fields)
        pipe.xdel(self.keys.dead(letter.partition), letter.id)
        await pipe.execute()
