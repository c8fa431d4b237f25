"""One subscriber's side of the hub: what it wants and a bounded buffer."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..domain.events import DomainEvent
from ..eventstore.redis_store import StoredEvent


@dataclass(frozen=True)
class EventFilter:
    """What a subscriber wants; None means any. The email needs the order's
    creation event, so the hub checks only the order id and the type."""

    order_id: str | None = None
    types: frozenset[str] | None = None
    customer_email: str | None = None

    def admits(self, event: DomainEvent) -> bool:
        """True unless the order id or the type rules the event out."""
        if self.order_id is not None and event.order_id != self.order_id:
            return False
        return self.types is None or event.type in self.types


class Overflowed(Exception):
    """More events were waiting for the subscriber than its buffer holds."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"more than {capacity} events were waiting")
        self.capacity = capacity


class Subscription:
    """Events handed over by the hub, waiting for the subscriber to take them.

    On overflow the buffer is dropped and the next `get` raises Overflowed;
    when the hub ends the subscription, `get` returns None once the buffer is empty.
    """

    def __init__(
        self, wants: EventFilter, capacity: int, on_close: Callable[[Subscription], None]
    ) -> None:
        self.wants = wants
        self.capacity = capacity
        self._on_close = on_close
        self._buffer: deque[StoredEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None  # set while `get` waits
        self._ended = False
        self._overflowed = False
        self._closed = False

    def offer(self, stored: StoredEvent) -> bool:
        """Called by the hub; False when the buffer overflowed (and is now dropped)."""
        if len(self._buffer) >= self.capacity:
            self._buffer.clear()
            self._overflowed = True
            self._wake()
            return False
        self._buffer.append(stored)
        self._wake()
        return True

    def end(self) -> None:
        """Called by the hub when it stops: what is buffered is still delivered."""
        self._ended = True
        self._wake()

    async def get(self) -> StoredEvent | None:
        """The next event, waiting for it; None when the hub ended the subscription."""
        while True:
            if self._overflowed:
                raise Overflowed(self.capacity)
            if self._buffer:
                return self._buffer.popleft()
            if self._ended:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        # A bare future, not an asyncio.Event: one waiter, and this runs for
        # every subscriber on every event.
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        """The subscriber leaves; the hub forgets it. Safe to call twice."""
        if not self._closed:
            self._closed = True
            self._buffer.clear()
            self._on_close(self)
