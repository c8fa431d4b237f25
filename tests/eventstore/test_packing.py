"""The server's Redis connections pack commands with hiredis: the same bytes
as redis-py's own packer for every argument, the same errors for arguments
it refuses, and redis-py's packer wherever hiredis would differ."""

from __future__ import annotations

import enum
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import DataError

from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.connect import HiredisPacking, connect


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


def packed(connection: AbstractConnection, *args: Any) -> bytes | str:
    """What the connection sends for a command, or the error it raises."""
    try:
        return b"".join(bytes(chunk) for chunk in connection.pack_command(*args))
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def ours(**kwargs: Any) -> AbstractConnection:
    redis: Any = connect("redis://127.0.0.1:1", **kwargs)
    connection = redis.connection_pool.make_connection()
    assert isinstance(connection, HiredisPacking)
    return connection


arguments = st.one_of(
    st.text(),
    st.binary(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary().map(bytearray),
    st.binary().map(lambda b: memoryview(b)),
    st.sampled_from([Colour.RED, Name("named"), None, True, False, [1], {"a": 1}]),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=2),
)


@settings(max_examples=400, deadline=None)
@given(
    first=st.sampled_from(["SET", b"EVALSHA", "CONFIG GET", b"CLIENT SETNAME", "x", b"x y z"]),
    rest=st.lists(arguments, max_size=8),
)
def test_every_command_packs_as_redis_py_packs_it(first: str | bytes, rest: list[Any]) -> None:
    theirs = Connection()
    assert packed(ours(), first, *rest) == packed(theirs, first, *rest)


def test_an_argument_hiredis_refuses_gets_redis_pys_answer() -> None:
    connection = ours()
    sent = packed(connection, "SET", "k", bytearray(b"v"))
    assert sent == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    with pytest.raises(DataError, match="NoneType"):
        connection.pack_command("SET", "k", None)  # type: ignore[arg-type]


def test_an_encoding_other_than_utf8_keeps_redis_pys_packer() -> None:
    connection = ours()
    latin = Connection(encoding="latin-1")
    connection.encoder = latin.encoder
    assert packed(connection, "SET", "k", "é") == packed(latin, "SET", "k", "é")
    assert b"\xe9\r\n" in bytes(connection.pack_command("SET", "k", "é")[0])


def test_each_kind_of_url_gets_a_packing_connection() -> None:
    for url, kind in [
        ("redis://127.0.0.1:1", Connection),
        ("rediss://127.0.0.1:1", SSLConnection),
        ("unix:///tmp/nowhere.sock", UnixDomainSocketConnection),
    ]:
        client: Any = connect(url)
        connection_class = client.connection_pool.connection_class
        assert issubclass(connection_class, HiredisPacking)
        assert issubclass(connection_class, kind)


async def test_values_round_trip_through_a_real_server(redis_server: EmbeddedRedis) -> None:
    redis: Any = connect(redis_server.url)
    key = f"packing-{uuid.uuid4().hex}"
    try:
        values = ["é ✓ 💡", b"\x00\xff", 12345678901234567890, 0.1, bytearray(b"ba"), Colour.RED]
        for n, value in enumerate(values):
            await redis.hset(key, str(n), value)
        stored = await redis.hgetall(key)
        assert stored == {
            b"0": "é ✓ 💡".encode(),
            b"1": b"\x00\xff",
            b"2": b"12345678901234567890",
            b"3": b"0.1",
            b"4": b"ba",
            b"5": b"<Colour.RED: 1>",  # as redis-py has always packed an IntEnum
        }
        assert await redis.config_get("appendonly")  # a command of two words
        with pytest.raises(DataError):
            await redis.hset(key, "bad", None)
        assert b"bad" not in await redis.hgetall(key)
    finally:
        await redis.delete(key)
        await redis.aclose()
