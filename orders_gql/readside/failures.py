"""Telling a poison event from an outage: an outage is retried without
counting attempts; any other failure of a handler counts towards parking."""

from __future__ import annotations

from pymongo.errors import PyMongoError
from redis.exceptions import RedisError

from ..eventstore.redis_store import EventStoreUnavailable
from .store import ReadSideUnavailable

INFRASTRUCTURE = (ReadSideUnavailable, EventStoreUnavailable, RedisError, PyMongoError, OSError)


def is_infrastructure(exc: BaseException) -> bool:
    return isinstance(exc, INFRASTRUCTURE)
