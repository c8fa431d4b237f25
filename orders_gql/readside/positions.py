"""Log positions are Redis stream ids, "<milliseconds>-<sequence>"."""

from __future__ import annotations

import re

_POSITION = re.compile(r"^\d{1,20}-\d{1,20}$")


def is_position(text: str) -> bool:
    return bool(_POSITION.match(text))


def key(position: str) -> tuple[int, int]:
    ms, _, seq = position.partition("-")
    return int(ms), int(seq or 0)


def later(a: str, b: str) -> bool:
    """True when position `a` comes after position `b`."""
    return key(a) > key(b)
