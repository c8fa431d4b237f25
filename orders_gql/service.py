"""Command handling: load (snapshot + tail) -> decide -> append, with
optimistic concurrency, bounded retries and idempotency keys.

Orders this process wrote recently are decided from their state kept in
memory (the last one its own append produced), without loading them: the
append checks the version atomically, so a state another process has moved
past is never written from; it conflicts, and the order is loaded. A refusal
decided from a kept state is checked against a fresh load before it is
answered."""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import orjson

from .domain.commands import Command, CreateOrder, Metadata
from .domain.errors import ConcurrencyConflict, DomainError, OrderNotFound, ValidationError
from .domain.events import DomainEvent, to_millis
from .domain.ids import name_uuid, random_uuid
from .domain.model import Order, decide, fold
from .eventstore.redis_store import DuplicateCommand, IdempotencyRecord, RedisEventStore
from .metrics import CONFLICT_RETRIES

_ORDER_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")
_NAMESPACE = uuid.UUID("2d6bd3a8-58a4-4f0e-a3c2-6f0f3b7b1d55")


@dataclass(frozen=True)
class CommandResult:
    """What a command produced: the order as the write side now holds it and
    the log position of its last event (pass it to queries to read your write)."""

    order: Order
    position: str
    events: list[DomainEvent]
    replayed: bool = False


def check_order_id(order_id: str, field: str = "orderId") -> str:
    if not _ORDER_ID.match(order_id):
        raise ValidationError(field, "must be 1-64 characters of letters, digits, '-' or '_'")
    return order_id


def check_idempotency_key(key: str | None) -> str | None:
    if key is not None and not _IDEMPOTENCY_KEY.match(key):
        raise ValidationError(
            "idempotencyKey", "must be 1-128 printable ASCII characters without spaces"
        )
    return key


def new_order_id(idempotency_key: str | None = None) -> str:
    """A fresh order id; a retried createOrder with the same key gets the same id."""
    if idempotency_key is None:
        return random_uuid()
    return name_uuid(_NAMESPACE, f"createOrder:{idempotency_key}")


def command_id_for(idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return random_uuid()
    return name_uuid(_NAMESPACE, f"command:{idempotency_key}")


def fingerprint(command: Command) -> str:
    raw = orjson.dumps({"type": type(command).__name__, **asdict(command)}, default=str)
    return hashlib.sha256(raw).hexdigest()[:32]


class RecentStates:
    """The latest state of up to `size` orders, least recently used dropped first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._states: OrderedDict[str, Order] = OrderedDict()

    def get(self, order_id: str) -> Order | None:
        state = self._states.get(order_id)
        if state is not None:
            self._states.move_to_end(order_id)
        return state

    def put(self, state: Order) -> None:
        if self.size <= 0:
            return
        known = self._states.get(state.order_id)
        if known is not None and known.version >= state.version:
            return  # appends of one order can finish out of order in the loop
        self._states[state.order_id] = state
        self._states.move_to_end(state.order_id)
        if len(self._states) > self.size:
            self._states.popitem(last=False)

    def drop(self, order_id: str) -> None:
        self._states.pop(order_id, None)

    def __len__(self) -> int:
        return len(self._states)


class OrderService:
    """The write side's application service."""

    def __init__(
        self,
        store: RedisEventStore,
        *,
        snapshot_every: int = 50,
        max_retries: int = 20,
        idempotency_ttl: int = 86_400,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        recent_states: int = 0,
    ) -> None:
        """recent_states: how many orders' states to keep for deciding without
        a load (0: load every time)."""
        self.store = store
        self.recent = RecentStates(recent_states)
        self.snapshot_every = snapshot_every
        self.max_retries = max_retries
        self.idempotency_ttl = idempotency_ttl
        self.clock = clock

    async def load(self, order_id: str, *, use_snapshot: bool = True) -> Order:
        loaded = await self.store.load(order_id, use_snapshot=use_snapshot)
        return fold(loaded.snapshot or Order(order_id), [s.event for s in loaded.events])

    async def get(self, order_id: str, *, as_of_version: int | None = None) -> Order:
        """The order as the write side holds it, or as it stood at a version."""
        check_order_id(order_id)
        if as_of_version is None:
            state = await self.load(order_id)
        else:
            if as_of_version < 1:
                raise ValidationError("asOfVersion", "must be 1 or more")
            stored = await self.store.read_stream(order_id, to_version=as_of_version)
            state = fold(Order(order_id), [s.event for s in stored])
        if not state.exists:
            raise OrderNotFound(order_id)
        if as_of_version is not None and state.version < as_of_version:
            raise ValidationError(
                "asOfVersion", f"the order has not reached it (it is at version {state.version})"
            )
        return state

    async def execute(
        self,
        command: Command,
        *,
        metadata: Metadata,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """Decide and append. Raises a DomainError when the command is refused."""
        order_id = check_order_id(command.order_id)
        check_idempotency_key(idempotency_key)
        if expected_version is not None and expected_version < 0:
            raise ValidationError("expectedVersion", "must be 0 or more")
        # Only an idempotency record keeps the fingerprint (to refuse a key reused
        # for a different request): without a key it is not computed.
        print_ = fingerprint(command) if idempotency_key is not None else ""
        kept = self.recent.get(order_id) if not isinstance(command, CreateOrder) else None
        attempt = 0  # conflicts retried so far
        while True:
            if kept is not None:
                state = kept
            elif attempt == 0 and isinstance(command, CreateOrder):
                # A new order has no events: skip the load, the append checks
                # both the version (0) and the idempotency key atomically.
                state = Order(order_id)
            else:
                loaded = await self.store.load(order_id, idempotency_key=idempotency_key)
                if loaded.idempotency is not None and idempotency_key is not None:
                    await self.store.confirm(order_id, idempotency_key)
                    return await self._replay(order_id, loaded.idempotency, print_)
                state = fold(loaded.snapshot or Order(order_id), [s.event for s in loaded.events])
            try:
                if (
                    expected_version is not None
                    and state.version != expected_version
                    and (state.exists or isinstance(command, CreateOrder))
                ):
                    raise ConcurrencyConflict(order_id, expected_version, state.version)
                events = decide(state, command, now=to_millis(self.clock()), metadata=metadata)
            except DomainError:
                if kept is None:
                    raise
                kept = None  # decided from a kept state: refuse only what the store holds
                self.recent.drop(order_id)
                continue
            new_state = fold(state, events)
            try:
                appended = await self.store.append(
                    order_id,
                    state.version,
                    events,
                    idempotency_key=idempotency_key,
                    fingerprint=print_,
                    idempotency_ttl=self.idempotency_ttl,
                    snapshot=self._snapshot(state, new_state),
                )
            except ConcurrencyConflict:
                self.recent.drop(order_id)
                if kept is not None:
                    kept = None  # another process moved it: load it
                    continue
                if expected_version is not None or attempt == self.max_retries:
                    raise
                attempt += 1
                CONFLICT_RETRIES.inc()
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))
                continue
            except DuplicateCommand as dup:
                return await self._replay(order_id, dup.record, print_)
            self.recent.put(new_state)
            position = self.store.position(order_id, appended.positions[-1])
            return CommandResult(order=new_state, position=position, events=events)

    def _snapshot(self, before: Order, after: Order) -> Order | None:
        every = self.snapshot_every
        if every <= 0 or after.version // every == before.version // every:
            return None
        return after

    async def _replay(self, order_id: str, record: IdempotencyRecord, print_: str) -> CommandResult:
        if record.fingerprint != print_:
            raise ValidationError(
                "idempotencyKey", "was already used for a different request on this order"
            )
        stored = await self.store.read_stream(order_id, to_version=record.version)
        state = fold(Order(order_id), [s.event for s in stored])
        position = self.store.position(order_id, record.position)
        return CommandResult(order=state, position=position, events=[], replayed=True)
