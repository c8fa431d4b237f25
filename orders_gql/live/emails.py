"""orderId -> customer email, for the customerEmail filter: learned from
OrderCreated events as they pass, else loaded once from the event store.
An order's email never changes, so an entry stays right; the hub passes over
the events appended while no subscription is open, and those orders are loaded."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from ..domain.events import DomainEvent, OrderCreated
from ..domain.model import Order


class CustomerEmails:
    """A bounded, least-recently-used cache for this process. Concurrent misses
    of one order share one load, so Redis work does not grow with subscribers."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[Order]],
        capacity: int = 10_000,
        concurrent_loads: int = 8,
    ) -> None:
        self._load = load
        self.capacity = capacity
        self._loads = asyncio.Semaphore(concurrent_loads)
        self._emails: OrderedDict[str, str] = OrderedDict()
        self._loading: dict[str, asyncio.Future[str | None]] = {}

    def __len__(self) -> int:
        return len(self._emails)

    def learn(self, event: DomainEvent) -> None:
        """Remember the email of an order being created."""
        if isinstance(event, OrderCreated):
            self._remember(event.order_id, event.customer_email)

    async def email_of(self, order_id: str) -> str | None:
        """The order's customer email, or None when there is no such order."""
        email = self._emails.get(order_id)
        if email is not None:
            self._emails.move_to_end(order_id)
            return email
        pending = self._loading.get(order_id)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(order_id))
            self._loading[order_id] = pending
            pending.add_done_callback(lambda done: self._loaded(order_id, done))
        return await asyncio.shield(pending)

    def _loaded(self, order_id: str, done: asyncio.Future[str | None]) -> None:
        self._loading.pop(order_id, None)
        if not done.cancelled():
            done.exception()  # retrieved here too, in case every waiter went away

    async def _fetch(self, order_id: str) -> str | None:
        async with self._loads:
            state = await self._load(order_id)
        if not state.exists:
            return None
        self._remember(order_id, state.customer_email)
        return state.customer_email.lower()

    def _remember(self, order_id: str, email: str) -> None:
        # lower: events written before emails were kept in lower case
        self._emails[order_id] = email.lower()
        self._emails.move_to_end(order_id)
        while len(self._emails) > self.capacity:
            self._emails.popitem(last=False)
