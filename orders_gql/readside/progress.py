"""Read-your-writes: has the projector passed a position? Passed means no
entry at or before it is still undelivered or pending in the consumer group,
in each partition the position names: each was committed to the read models,
or parked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import ResponseError

from ..eventstore.connect import AnyRedis
from ..eventstore.positions import Position
from .keys import ProjectorKeys
from .positions import later


class NotYetProjected(Exception):
    """The projector did not pass the position within the timeout."""

    def __init__(self, position: str, timeout: float) -> None:
        super().__init__(
            f"the read models did not reach position {position} within {timeout:g}s; "
            "retry later or without consistentWith"
        )


async def has_passed(redis: AnyRedis, keys: ProjectorKeys, at: Position) -> bool:
    for p, position in at.named().items():
        log = keys.log(p)
        try:
            groups: Any = await redis.xinfo_groups(log)
        except ResponseError:  # no log yet: nothing was written
            continue
        group = next((g for g in groups if _s(g["name"]) == keys.group), None)
        if group is None:
            return False
        delivered = _s(group["last-delivered-id"])
        if later(position, delivered):
            waiting = await redis.xrange(log, f"({delivered}", position, count=1)
            if waiting:
                return False
        if int(group["pending"]):
            summary: Any = await redis.xpending(log, keys.group)
            if summary["min"] is not None and not later(_s(summary["min"]), position):
                return False
    return True


class EventParked(Exception):
    """The event at the position was parked as a dead letter: the read models
    passed it without it."""

    def __init__(self, position: str) -> None:
        super().__init__(
            f"the event at {position} could not be projected and waits as a dead letter; "
            "the read models do not include it yet (operators: deadLetters)"
        )
        self.position = position


async def parked(redis: AnyRedis, keys: ProjectorKeys, at: Position) -> str | None:
    """The entry id of `at` that is parked as a dead letter, if one is."""
    for p, position in at.named().items():
        if await redis.hexists(keys.parked(p), position):
            return position
    return None


async def wait_until_passed(
    redis: AnyRedis,
    keys: ProjectorKeys,
    position: Position,
    timeout: float,
    ready: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """Return once the projector passed `position` (and `ready()` holds);
    raise NotYetProjected after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    # ready() first: a projector rebuilding wiped read models resets its group
    # to the log's start and only then marks them ready, so a group read after
    # ready() holds is the reset one. (The other order could read the group's
    # old progress, then see ready, and answer from empty read models.)
    while not ((ready is None or await ready()) and await has_passed(redis, keys, position)):
        if time.monotonic() >= deadline:
            raise NotYetProjected(position.encode(), timeout)
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.05)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
