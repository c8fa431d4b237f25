"""UUIDs as their canonical strings, made without `uuid.UUID` objects.

`str(uuid.uuid4())` builds a UUID object (its constructor checks and packs
its arguments in Python) only to format it: 2.1 us here, 0.9 us for the same
string from the bytes. A createOrder makes three (its order id, its command
id, its event's id) and every request one (its correlation id)."""

from __future__ import annotations

import hashlib
import os
import uuid


def _canonical(raw: bytes, version: int) -> str:
    """RFC 4122's string of 16 bytes with this version and the RFC variant."""
    b = bytearray(raw)
    b[6] = (b[6] & 0x0F) | (version << 4)
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_uuid() -> str:
    """As `str(uuid.uuid4())`."""
    return _canonical(os.urandom(16), 4)


def name_uuid(namespace: uuid.UUID, name: str) -> str:
    """As `str(uuid.uuid5(namespace, name))`: the same name, the same id."""
    digest = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()
    return _canonical(digest[:16], 5)
