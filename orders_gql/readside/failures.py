"""Telling a poison event from an outage: an outage is retried without
counting attempts; any other failure of a handler counts towards parking."""

from __future__ import annotations

from pymongo.errors import PyMongoError

from ..eventstore.connect import REDIS_ERRORS
from ..eventstore.redis_store import EventStoreUnavailable
from .store import ReadSideUnavailable

INFRASTRUCTURE: tuple[type[Exception], ...] = (
    ReadSideUnavailable,
    EventStoreUnavailable,
    *REDIS_ERRORS,
    PyMongoError,
    OSError,
)


def is_infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE)
