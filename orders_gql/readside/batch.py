"""What flows through the read store: deliveries, outcomes, and why a batch
was not applied."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from pymongo.errors import PyMongoError

from ..domain.events import DomainEvent
from .projection import CustomerChange

#: Reads the log entries of a partition in (after, upto], as deliveries.
Fetch = Callable[[int, str, str], Awaitable[list["Delivery"]]]


class ReadSideUnavailable(Exception):
    """MongoDB could not be reached or failed."""


@contextlib.contextmanager
def mongo_errors_as_unavailable() -> Iterator[None]:
    """MongoDB's errors (pymongo's) raised inside, as ReadSideUnavailable."""
    try:
        yield
    except PyMongoError as exc:
        raise ReadSideUnavailable(str(exc)) from exc


class Gap(Exception):
    """Events are missing before the delivered ones; nothing was written."""

    def __init__(self, order_ids: set[str]) -> None:
        super().__init__(f"version gap in orders {sorted(order_ids)}")
        self.order_ids = order_ids


class Sealed(Exception):
    """The generation was replaced while the batch was being applied."""


class Paused(Exception):
    """Live projection waits while a rebuild switches generations."""


class Conflict(Exception):
    """A guarded write did not match: someone else changed the order first."""


@dataclass(frozen=True)
class Delivery:
    """One event to apply, with its log position and partition."""

    event: DomainEvent
    position: str
    partition: int = 0


@dataclass
class Outcome:
    generation: str
    applied: int = 0
    skipped: int = 0
    orders: set[str] = field(default_factory=set)
    #: With defer_customers: what the batch moves in each customer's document
    #: (by email), left unwritten for the caller.
    customers: dict[str, CustomerChange] = field(default_factory=dict)
