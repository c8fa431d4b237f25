"""Log positions: Redis stream entry ids ("<milliseconds>-<sequence>"), ordered."""

from __future__ import annotations

import re

START = "0-0"
_POSITION = re.compile(r"^(\d{1,20})-(\d{1,20})$")

Key = tuple[int, int]


class InvalidPosition(ValueError):
    """The text is not a log position."""


def position_key(position: str) -> Key:
    """A sortable key of a position; raises InvalidPosition when it is not one."""
    found = _POSITION.match(position)
    if found is None:
        raise InvalidPosition(f"{position!r} is not a position like 1732600000000-0")
    return int(found.group(1)), int(found.group(2))


def later(a: str, b: str) -> str:
    """The later of two positions."""
    return a if position_key(a) >= position_key(b) else b
