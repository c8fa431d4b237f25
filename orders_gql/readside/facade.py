"""What the API needs from the read side: the active read models, after
waiting for a position when asked (read your writes), and dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from ..eventstore.connect import AnyRedis
from ..eventstore.positions import InvalidPosition, parse_position
from .deadletters import DeadLetters
from .generations import ReadModels
from .keys import ProjectorKeys
from .progress import EventParked, parked, wait_until_passed
from .store import ReadStore


class BadPosition(ValueError):
    """consistentWith is not a log position."""


@dataclass
class ReadSide:
    store: ReadStore
    redis: AnyRedis
    keys: ProjectorKeys
    dead_letters: DeadLetters
    consistency_timeout: float = 5.0
    #: maxTimeMS of a list's page and count (0: none).
    query_time_limit_ms: int = 10_000

    async def models(self, consistent_with: str | None = None) -> ReadModels | None:
        """The active read models (None before the first projection), once the
        projector passed `consistent_with` if given; raises NotYetProjected, or
        EventParked when the event there waits as a dead letter."""
        if consistent_with is not None:
            try:
                position = parse_position(consistent_with, self.keys.keys.partitions)
            except InvalidPosition as exc:
                raise BadPosition(f"must be a position returned by a mutation ({exc})") from None
            await wait_until_passed(
                self.redis,
                self.keys,
                position,
                self.consistency_timeout,
                ready=self.store.is_ready,  # a wiped database is not up to date
            )
            if (dead := await parked(self.redis, self.keys, position)) is not None:
                raise EventParked(dead)
        return await self.store.active(fresh=consistent_with is not None)
