"""Log entries as the projector receives them from the consumer group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Entry:
    partition: int
    position: str
    raw: bytes | None  # None: trimmed from the log since delivery


def entries_of(partition: int, items: Any) -> list[Entry]:
    """Entries from the (id, fields) pairs of XREADGROUP / XAUTOCLAIM."""
    return [
        Entry(partition, text(entry_id), fields.get(b"e") if fields else None)
        for entry_id, fields in items
    ]


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
