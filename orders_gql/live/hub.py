"""The hub: one task per process tails the event log and hands each event to
the subscribers of this process. Redis work does not depend on their number;
while nobody subscribes, it only looks where the logs end now and then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from ..domain.events import DomainEvent
from ..eventstore.positions import entry_key
from ..eventstore.redis_store import EventStoreUnavailable, StoredEvent
from .log_tail import LogTail
from .subscription import EventFilter, Subscription

log = logging.getLogger("orders_gql.live")


class LiveHub:
    """Fans the log out to subscriptions. `start` and `stop` belong in the app's lifespan."""

    def __init__(
        self,
        tail: LogTail,
        *,
        buffer_size: int = 256,
        on_event: Callable[[DomainEvent], None] | None = None,
        idle_seek_s: float = 0.25,
        on_subscribers: Callable[[int], None] | None = None,
    ) -> None:
        """`on_event` sees the events read while some subscription is open. With
        none, the reader does not read the log's entries: every `idle_seek_s` it
        moves its cursors to where the logs end (so the first subscriber's
        reader starts at most that far back), and it wakes when one comes."""
        self.tail = tail
        self.buffer_size = buffer_size
        # A read hands its entries to every subscription at once: at most half
        # a buffer, so a burst does not fill the buffers of clients that keep
        # up (they drain while the next read is on its way).
        tail.count = max(1, min(tail.count, buffer_size // 2))
        self._on_event = on_event
        self._by_order: dict[str, set[Subscription]] = {}
        self._any_order: set[Subscription] = set()
        self._ready = asyncio.Event()
        self.idle_seek_s = idle_seek_s
        #: Told the number of subscriptions whenever it changes (a metric).
        self._on_subscribers = on_subscribers
        self._joined = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        """True while the reader task runs."""
        return self._task is not None and not self._task.done()

    @property
    def subscriber_count(self) -> int:
        return len(self._any_order) + sum(len(s) for s in self._by_order.values())

    async def start(self) -> None:
        """Start the reader at the end of the log (it retries while Redis is down)."""
        self._closing = False
        self._task = asyncio.create_task(self._run(), name="orders-gql live hub")

    async def ready(self) -> None:
        """Wait until the reader knows where the log ends: from then on, every
        event appended reaches the subscriptions made."""
        await self._ready.wait()

    def has_read_past(self, reached: Callable[[int], str]) -> bool:
        """Whether the reader has handed out an entry after `reached(partition)`
        in some partition: a subscription made now missed those."""
        cursors = self.tail.cursors or {}
        return any(entry_key(at) > entry_key(reached(p)) for p, at in cursors.items())

    def subscribe(self, wants: EventFilter) -> Subscription:
        """A new subscription to the events appended from now on."""
        sub = Subscription(wants, self.buffer_size, self._forget)
        if self._closing:
            sub.end()
        elif wants.order_id is not None:
            self._by_order.setdefault(wants.order_id, set()).add(sub)
        else:
            self._any_order.add(sub)
        self._joined.set()
        self._counted()
        return sub

    async def complete_all(self, grace: float = 5.0) -> None:
        """End every subscription (each gets what is buffered, then completes)
        and wait, up to `grace` seconds, for their subscribers to leave."""
        self._closing = True
        for sub in self._all():
            sub.end()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                while self.subscriber_count:
                    await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Complete the subscriptions, then stop the reader."""
        await self.complete_all()
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:  # seen after a Redis restart: redis-py hangs closing the old socket
            log.warning("live hub reader ignores cancellation; closing its connections")
            await self.tail.disconnect()
            await asyncio.wait({task}, timeout=2.0)
        with contextlib.suppress(asyncio.CancelledError):
            if task.done():
                task.result()
        await self.tail.close()

    def _has_subscribers(self) -> bool:
        return bool(self._any_order or self._by_order)

    async def _idle(self) -> None:
        """Wait for a subscriber; until one comes, move the cursors to the logs'
        ends every `idle_seek_s` instead of reading each entry appended (at
        full rate that was an XREAD of a few entries per mutation). Ends looked
        up while a subscriber joined are dropped: its `has_read_past` check saw
        the cursors as they were, and the reader goes on from there."""
        self._joined.clear()
        await self.tail.close()  # open blocking reads (a cluster's) hold the old cursors
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.idle_seek_s):
                await self._joined.wait()
        if self._has_subscribers():
            return
        ends = await self.tail.ends()
        if not self._has_subscribers():
            self.tail.cursors = ends

    def _all(self) -> list[Subscription]:
        return [*self._any_order, *(s for subs in self._by_order.values() for s in subs)]

    def _forget(self, sub: Subscription) -> None:
        order_id = sub.wants.order_id
        if order_id is None:
            self._any_order.discard(sub)
        elif (subs := self._by_order.get(order_id)) is not None:
            subs.discard(sub)
            if not subs:
                del self._by_order[order_id]
        self._counted()

    def _counted(self) -> None:
        if self._on_subscribers is not None:
            self._on_subscribers(self.subscriber_count)

    def _dispatch(self, stored: StoredEvent) -> None:
        event = stored.event
        if self._on_event is not None:
            self._on_event(event)
        targets = [*self._any_order, *self._by_order.get(event.order_id, ())]
        for sub in targets:
            if sub.wants.admits(event) and not sub.offer(stored):
                log.warning("a subscriber fell %d events behind; it is dropped", sub.capacity)
                self._forget(sub)

    async def _run(self) -> None:
        backoff = 0.05
        while True:
            try:
                if self.tail.cursors is None:
                    await self.tail.seek_end()
                self._ready.set()
                if not self._has_subscribers():
                    await self._idle()
                    backoff = 0.05
                    continue
                batch = await self.tail.read(wanted=self._has_subscribers)
            except Exception as exc:
                # Any error: redis-py on a cluster, during a failover, has
                # raised an AttributeError (a connection another read closed),
                # and a reader that stops stalls every subscription.
                if isinstance(exc, EventStoreUnavailable):
                    log.warning("live hub cannot read the log (%s); retry in %.2fs", exc, backoff)
                else:
                    log.exception("live hub read failed; retrying in %.2fs", backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.05
            for stored in batch:
                try:
                    self._dispatch(stored)
                except Exception:  # one bad event must not stop the reader
                    log.exception("live hub could not hand over the event at %s", stored.position)
