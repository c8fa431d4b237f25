"""What the API needs from the read side: the active read models, after
waiting for a position when asked (read your writes), and dead letters."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from .deadletters import DeadLetters
from .generations import ReadModels
from .keys import ProjectorKeys
from .positions import is_position
from .progress import wait_until_passed
from .store import ReadStore


class BadPosition(ValueError):
    """consistentWith is not a log position."""


@dataclass
class ReadSide:
    store: ReadStore
    redis: Redis
    keys: ProjectorKeys
    dead_letters: DeadLetters
    consistency_timeout: float = 5.0

    async def models(self, consistent_with: str | None = None) -> ReadModels | None:
        """The active read models (None before the first projection), once the
        projector passed `consistent_with` if given; raises NotYetProjected."""
        if consistent_with is not None:
            if not is_position(consistent_with):
                raise BadPosition("must be a position returned by a mutation")
            await wait_until_passed(
                self.redis, self.keys, consistent_with, self.consistency_timeout
            )
        return await self.store.active(fresh=consistent_with is not None)
