"""The feeds a subscriber reads: events (replayed from a position, then live,
with no gap and no duplicate at the seam) and the successive states of an order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

from ..domain.model import Order, evolve
from ..eventstore.positions import START, EntryKey, Position, entry_key
from ..eventstore.redis_store import RedisEventStore, StoredEvent
from ..service import OrderService
from .emails import CustomerEmails
from .hub import LiveHub
from .subscription import EventFilter, Overflowed, Subscription

_PAGE = 500


class SubscriberTooSlow(Exception):
    """The subscriber's buffer overflowed; it may resubscribe after `resume_after`."""

    def __init__(self, capacity: int, resume_after: str | None) -> None:
        super().__init__(f"more than {capacity} events were waiting for this subscriber")
        self.capacity = capacity
        self.resume_after = resume_after


class _Seen:
    """The last entry delivered, per partition: what is not later is a duplicate.
    `position` tells a client where to resume: every partition's last entry."""

    def __init__(self, store: RedisEventStore, after: Position | None) -> None:
        self._partition_of = store.keys.partition_of
        self._partitions = store.keys.partitions
        self._last: dict[int, tuple[EntryKey, str] | None] = dict.fromkeys(range(self._partitions))
        if after is not None:
            for partition in self._last:
                start = after.start(partition)
                self._last[partition] = (entry_key(start), start)
        self._given = after.encode() if after is not None else None
        self._moved = False

    @property
    def position(self) -> str | None:
        """Where a client resumes: `after` as given until an event is delivered."""
        if not self._moved:
            return self._given
        reached = {p: last[1] for p, last in self._last.items() if last is not None}
        return Position.of(self._partitions, reached).encode()

    async def skip_to_now(self, store: RedisEventStore) -> None:
        """Live only: what each log holds already is not new, even if the
        process's reader has not handed it out yet."""
        for partition in self._last:
            last = await store.last_position(partition)
            if last != START:
                self._last[partition] = (entry_key(last), last)

    def after(self, partition: int) -> str:
        last = self._last[partition]
        return last[1] if last is not None else START

    def is_new(self, stored: StoredEvent) -> bool:
        partition = self._partition_of(stored.event.order_id)
        key = entry_key(stored.position)
        last = self._last[partition]
        if last is not None and key <= last[0]:
            return False
        self._last[partition] = (key, stored.position)
        self._moved = True
        return True

    def delivered(self, stored: StoredEvent) -> StoredEvent:
        """The event as a subscriber gets it: its position covers every partition."""
        if self._partitions == 1:
            return stored
        return replace(stored, position=self.position or stored.position)


class LiveFeeds:
    """What the subscriptions of the API read; built once per process in app.py.

    Reads of the store for one subscriber (catching up, an order's first state)
    run at most `concurrent_reads` at a time, so that a crowd of clients
    resubscribing at once (after a restart) queues instead of draining the
    Redis connection pool."""

    def __init__(
        self,
        hub: LiveHub,
        service: OrderService,
        emails: CustomerEmails,
        *,
        concurrent_reads: int = 16,
    ) -> None:
        self.hub = hub
        self.service = service
        self.store = service.store
        self.emails = emails
        self._reads = asyncio.Semaphore(concurrent_reads)

    async def events(
        self, wants: EventFilter, after: Position | None
    ) -> AsyncIterator[StoredEvent]:
        """Events matching `wants`: those after `after` from the store first, then
        live ones. Raises SubscriberTooSlow when its buffer overflows."""
        seen = _Seen(self.store, after)
        if after is None:
            await seen.skip_to_now(self.store)
        if after is not None:  # catch up before subscribing, so the buffer stays small
            async for stored in self._replay(wants, seen):
                if seen.is_new(stored) and await self._matches(wants, stored):
                    yield seen.delivered(stored)
        await self.hub.ready()
        sub = self.hub.subscribe(wants)
        try:
            # What came between the replay (or reading where the logs ended) and
            # subscribing, if the hub handed it out before this subscription
            # existed (a mutation sent right after subscribing, say).
            if after is not None or self.hub.has_read_past(seen.after):
                async for stored in self._replay(wants, seen):
                    if seen.is_new(stored) and await self._matches(wants, stored):
                        yield seen.delivered(stored)
            while (live := await self._next(sub, seen)) is not None:
                if seen.is_new(live) and await self._matches(wants, live):
                    yield seen.delivered(live)
        finally:
            sub.close()

    async def order(self, order_id: str) -> AsyncIterator[Order]:
        """The order as it stands, then its state after each change; ends after
        it is deleted. Raises OrderNotFound when it does not exist."""
        await self.hub.ready()
        sub = self.hub.subscribe(EventFilter(order_id=order_id))
        try:
            state = await self._get(order_id)
            yield state
            while not state.deleted and (change := await self._next(sub, None)) is not None:
                event = change.event
                if event.version <= state.version:
                    continue  # already in the state loaded
                if event.version == state.version + 1:
                    state = evolve(state, event)
                else:
                    state = await self._get(order_id)
                yield state
        finally:
            sub.close()

    async def _get(self, order_id: str) -> Order:
        async with self._reads:
            return await self.service.get(order_id)

    @staticmethod
    async def _next(sub: Subscription, seen: _Seen | None) -> StoredEvent | None:
        """The next live event; the resume position is worked out only on overflow."""
        try:
            return await sub.get()
        except Overflowed as exc:
            raise SubscriberTooSlow(exc.capacity, seen.position if seen else None) from exc

    async def _replay(self, wants: EventFilter, seen: _Seen) -> AsyncIterator[StoredEvent]:
        if wants.order_id is not None:  # the order's own stream knows the log positions
            async with self._reads:
                stream = await self.store.read_stream(wants.order_id)
            for stored in stream:
                yield stored
            return
        for partition in range(self.store.keys.partitions):
            position = seen.after(partition)
            while True:
                async with self._reads:
                    page = await self.store.read_log(position, count=_PAGE, partition=partition)
                for stored in page:
                    self.emails.learn(stored.event)
                    yield stored
                if len(page) < _PAGE:
                    break
                position = page[-1].position

    async def _matches(self, wants: EventFilter, stored: StoredEvent) -> bool:
        if not wants.admits(stored.event):
            return False
        if wants.customer_email is None:
            return True
        return await self.emails.email_of(stored.event.order_id) == wants.customer_email
