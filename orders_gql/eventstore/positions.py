"""Positions as clients see them: how far a writer or a reader got in the log.

With one partition a position is the log entry id itself ("1732600000000-0").
With several, each partition's log has its own entry ids (on a cluster, from
the clock of the master that holds it), so a position is an opaque token that
names the entry reached in some or all partitions:

- a mutation's position names its order's partition only: consistentWith waits
  for that partition, and a subscription resuming from it starts the other
  partitions at the same millisecond (exact when their clocks agree);
- a subscription event's position names every partition: resuming from it is
  exact, with no gap and no duplicate.

A plain entry id is still accepted with several partitions; it stands for that
id in every partition (what it meant before there were tokens).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass

START = "0-0"
_ENTRY_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_VERSION = "1"
_MAX_SEQ = 2**64 - 1


class InvalidPosition(ValueError):
    """The text is not a position of this API's log."""


EntryKey = tuple[int, int]


def entry_key(entry_id: str) -> EntryKey:
    """A sortable key of a log entry id; raises InvalidPosition when it is not one."""
    found = _ENTRY_ID.match(entry_id)
    if found is None:
        raise InvalidPosition(f"{entry_id!r} is not a position")
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True)
class Position:
    """The last entry id reached per partition; None where the position does not say."""

    ids: tuple[str | None, ...]

    @classmethod
    def of_entry(cls, partitions: int, partition: int, entry_id: str) -> Position:
        return cls(tuple(entry_id if p == partition else None for p in range(partitions)))

    @classmethod
    def of(cls, partitions: int, reached: Mapping[int, str]) -> Position:
        """Every partition: those not in `reached` are at the start."""
        return cls(tuple(reached.get(p, START) for p in range(partitions)))

    @property
    def partitions(self) -> int:
        return len(self.ids)

    def named(self) -> dict[int, str]:
        """The partitions this position says something about, and their entry ids."""
        return {p: e for p, e in enumerate(self.ids) if e is not None}

    def start(self, partition: int) -> str:
        """Where a reader resuming from here starts in `partition` (exclusive)."""
        entry_id = self.ids[partition]
        if entry_id is not None:
            return entry_id
        latest = max(entry_key(e)[0] for e in self.named().values())
        return f"{latest - 1}-{_MAX_SEQ}" if latest > 0 else START

    def encode(self) -> str:
        if self.partitions == 1 and self.ids[0] is not None:
            return self.ids[0]
        payload = f"{_VERSION}:" + "|".join(e or "" for e in self.ids)
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def parse_position(text: str, partitions: int) -> Position:
    """A position given by a client; raises InvalidPosition."""
    if _ENTRY_ID.match(text):
        return Position((text,) * partitions)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidPosition(f"{text!r} is not a position") from None
    version, _, body = raw.partition(":")
    ids = tuple(e or None for e in body.split("|"))
    if version != _VERSION or not any(ids):
        raise InvalidPosition(f"{text!r} is not a position")
    if len(ids) != partitions:
        raise InvalidPosition(
            f"the position was made for {len(ids)} partitions; the log now has {partitions}"
        )
    for entry_id in ids:
        if entry_id is not None:
            entry_key(entry_id)
    return Position(ids)
