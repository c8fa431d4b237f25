"""The event store on Redis streams: atomic, version-checked appends through
one Lua script; loads of snapshot + tail in one round trip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..domain.errors import ConcurrencyConflict
from ..domain.events import DomainEvent
from ..domain.model import Order
from .codec import decode_event, decode_snapshot, encode_event, encode_snapshot
from .connect import REDIS_ERRORS, AnyRedis
from .keys import KeySpace
from .positions import Position
from .replication import NoNodeForSlot, ReplicatedWrites
from .scripts import LuaScript

_UNAVAILABLE: tuple[type[Exception], ...] = (*REDIS_ERRORS, NoNodeForSlot)


class EventStoreUnavailable(Exception):
    """Redis could not be reached or failed; nothing is known to be written."""


@dataclass(frozen=True)
class StoredEvent:
    event: DomainEvent
    position: str


@dataclass(frozen=True)
class IdempotencyRecord:
    version: int
    position: str
    fingerprint: str


@dataclass(frozen=True)
class LoadedStream:
    snapshot: Order | None
    events: list[StoredEvent]
    idempotency: IdempotencyRecord | None


@dataclass(frozen=True)
class Appended:
    version: int
    positions: list[str]


class NotReplicated(EventStoreUnavailable):
    """The events were appended on the master, but fewer replicas than required
    confirmed them in time: a failover now could lose them. A retry with the
    same idempotency key returns the result without appending again."""

    def __init__(self, wanted: int, confirmed: int, timeout_ms: int) -> None:
        super().__init__(
            f"{confirmed} of {wanted} replicas confirmed the append within {timeout_ms} ms"
        )
        self.wanted = wanted
        self.confirmed = confirmed


class DuplicateCommand(Exception):
    """The idempotency key was already used; the record tells what it produced."""

    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__("duplicate command")
        self.record = record


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _record(raw: bytes | str) -> IdempotencyRecord:
    doc = orjson.loads(raw)
    return IdempotencyRecord(version=int(doc["v"]), position=str(doc["p"]), fingerprint=doc["f"])


def _stored(entry: Any) -> StoredEvent:
    """An order-stream entry: a dict from XRANGE, a flat list from a Lua reply."""
    fields = entry[1]
    if not isinstance(fields, dict):
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    return StoredEvent(event=decode_event(fields[b"e"]), position=_text(fields[b"p"]))


class RedisEventStore:
    def __init__(
        self,
        redis: AnyRedis,
        keys: KeySpace | None = None,
        *,
        wait_replicas: int = 0,
        wait_timeout_ms: int = 1000,
    ) -> None:
        self.redis = redis
        self.keys = keys or KeySpace()
        #: With replicas > 0, an append is acknowledged only once that many
        #: replicas have it (Redis WAIT); else NotReplicated is raised.
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._replicated = ReplicatedWrites(redis, wait_replicas, wait_timeout_ms)
        self._append = LuaScript(redis, "append.lua")
        self._load = LuaScript(redis, "load.lua")
        self._touch = LuaScript(redis, "touch.lua")

    async def load(
        self, order_id: str, *, idempotency_key: str | None = None, use_snapshot: bool = True
    ) -> LoadedStream:
        """The latest snapshot (if any), the events after it, and the idempotency record."""
        keys = [
            self.keys.order(order_id),
            self.keys.snapshot(order_id),
            self.keys.idempotency(order_id, idempotency_key or ""),
        ]
        args = ["1" if use_snapshot else "0", "1" if idempotency_key else "0"]
        try:
            snap, record, entries = await self._load(keys, args)
        except REDIS_ERRORS as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        snapshot = decode_snapshot(snap) if snap else None
        return LoadedStream(
            snapshot=snapshot,
            events=[_stored(e) for e in entries],
            idempotency=_record(record) if record else None,
        )

    async def append(
        self,
        order_id: str,
        expected_version: int,
        events: list[DomainEvent],
        *,
        idempotency_key: str | None = None,
        fingerprint: str = "",
        idempotency_ttl: int = 0,
        snapshot: Order | None = None,
    ) -> Appended:
        """Append atomically if the order is at `expected_version`.

        Raises ConcurrencyConflict when it is not, DuplicateCommand when the
        idempotency key was used already; in both cases nothing is written.
        """
        keys = [self.keys.order(order_id), self.keys.log(self.keys.partition_of(order_id))]
        args: list[Any] = [
            f"{expected_version} {len(events)} {1 if idempotency_key else 0} "
            f"{0 if snapshot is None else 1} {idempotency_ttl} {fingerprint}",
            *(encode_event(e) for e in events),
        ]
        if idempotency_key:
            keys.append(self.keys.idempotency(order_id, idempotency_key))
        if snapshot is not None:
            keys.append(self.keys.snapshot(order_id))
            args.append(encode_snapshot(snapshot))
        try:
            if self.wait_replicas:
                reply, confirmed = await self._replicated.run(self._append.script, keys, args)
            else:
                reply, confirmed = await self._append(keys, args), 0
        except _UNAVAILABLE as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        status = _text(reply[0])
        if status == "conflict":
            raise ConcurrencyConflict(order_id, expected_version, int(reply[1]))
        # A duplicate is acknowledged only once its first attempt is replicated.
        if self.wait_replicas and int(confirmed) < self.wait_replicas:
            raise NotReplicated(self.wait_replicas, int(confirmed), self.wait_timeout_ms)
        if status == "duplicate":
            raise DuplicateCommand(_record(reply[1]))
        return Appended(version=int(reply[1]), positions=[_text(p) for p in reply[2:]])

    def position(self, order_id: str, entry_id: str) -> str:
        """The position to hand a client for an entry of this order's partition
        (the entry id itself when there is one partition)."""
        partition = self.keys.partition_of(order_id)
        return Position.of_entry(self.keys.partitions, partition, entry_id).encode()

    async def confirm(self, order_id: str, idempotency_key: str) -> None:
        """With wait_replicas: return once that many replicas hold what the
        command with this key wrote (a retry is acknowledged only then);
        raises NotReplicated."""
        if not self.wait_replicas:
            return
        keys = [self.keys.idempotency(order_id, idempotency_key)]
        try:
            _, confirmed = await self._replicated.run(self._touch.script, keys, [])
        except _UNAVAILABLE as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        if confirmed < self.wait_replicas:
            raise NotReplicated(self.wait_replicas, confirmed, self.wait_timeout_ms)

    async def aclose(self) -> None:
        """Close the per-node clients of WAIT (the main client is the caller's)."""
        await self._replicated.aclose()

    async def read_stream(
        self, order_id: str, *, to_version: int | None = None
    ) -> list[StoredEvent]:
        """Every event of one order, oldest first, up to `to_version` if given."""
        end = f"{to_version}-0" if to_version is not None else "+"
        try:
            entries: Any = await self.redis.xrange(self.keys.order(order_id), "-", end)
        except REDIS_ERRORS as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        return [_stored(e) for e in entries]

    async def read_log(
        self, after: str = "0-0", count: int = 1000, partition: int = 0
    ) -> list[StoredEvent]:
        """Events of the log after a position, in position order."""
        try:
            entries: Any = await self.redis.xrange(
                self.keys.log(partition), f"({after}" if after != "0-0" else "-", "+", count=count
            )
        except REDIS_ERRORS as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        return [
            StoredEvent(event=decode_event(fields[b"e"]), position=_text(entry_id))
            for entry_id, fields in entries
        ]

    async def last_position(self, partition: int = 0) -> str:
        try:
            last: Any = await self.redis.xrevrange(self.keys.log(partition), "+", "-", count=1)
        except REDIS_ERRORS as exc:
            raise EventStoreUnavailable(str(exc)) from exc
        return _text(last[0][0]) if last else "0-0"
