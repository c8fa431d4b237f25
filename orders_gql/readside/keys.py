"""Redis keys of the projector, beside each partition's log (same hash tag)."""

from __future__ import annotations

from dataclasses import dataclass

from ..eventstore.keys import KeySpace


@dataclass(frozen=True)
class ProjectorKeys:
    keys: KeySpace
    group: str = "projector"

    def _base(self, partition: int) -> str:
        return self.keys.log(partition).rsplit(":", 1)[0] + ":projector"

    def log(self, partition: int) -> str:
        return self.keys.log(partition)

    def dead(self, partition: int) -> str:
        """Stream of parked (dead-letter) entries."""
        return self._base(partition) + ":dead"

    def blocked(self, partition: int) -> str:
        """Hash order id -> position of the entry its later events wait behind."""
        return self._base(partition) + ":blocked"

    def parked(self, partition: int) -> str:
        """Hash position -> order id of each parked entry (for consistentWith)."""
        return self._base(partition) + ":parked"

    def attempts(self, partition: int) -> str:
        """Hash position -> failed attempts so far."""
        return self._base(partition) + ":attempts"

    def sessions(self) -> str:
        """Hash consumer -> its MongoDB session id (BSON), to abort a dead one's transaction."""
        return self._base(0) + ":sessions"

    @property
    def partitions(self) -> range:
        return range(self.keys.partitions)
