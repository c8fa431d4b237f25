"""The clients the event store builds send a command once: redis-py 8 retries a
command on a connection error by default (three times, with backoff), which
would send an append again after a reply was lost, and report a dead server
seconds late. A cluster node's own client (a replicated write's script and
WAIT run on it) also carries the cluster client's credentials."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio.cluster import ClusterNode
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from orders_gql.embedded import EmbeddedRedis
from orders_gql.eventstore.connect import HiredisPacking, connect, node_client

PASSWORD = "s3cret-for-the-test"


class ProtectedRedis(EmbeddedRedis):
    def command(self) -> list[str]:
        return [*super().command(), "--requirepass", PASSWORD]


@pytest.fixture
def protected(tmp_path: Path) -> Iterator[ProtectedRedis]:
    server = ProtectedRedis(tmp_path / "protected")
    with server:  # started, stopped at the end
        yield server


@pytest.fixture
async def losing(redis_server: EmbeddedRedis) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A proxy to the server that passes a SET on and closes the client's
    connection instead of passing the answer back: the write lands, its reply
    is lost. It keeps each SET it passed on."""
    sets: list[bytes] = []

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", redis_server.port)
        try:
            while chunk := await reader.read(65536):
                up_writer.write(chunk)
                await up_writer.drain()
                answer = await up_reader.read(65536)
                if b"\r\nSET\r\n" in chunk:
                    sets.append(chunk)
                    await asyncio.sleep(0.05)  # the server has done it
                    break
                writer.write(answer)
                await writer.drain()
        finally:
            writer.close()
            up_writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], sets


async def test_a_node_client_carries_the_cluster_clients_credentials(
    protected: ProtectedRedis,
) -> None:
    node = ClusterNode("127.0.0.1", protected.port, password=PASSWORD, socket_timeout=5)
    client = node_client(node)
    try:
        assert await client.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, "k", "v")
        assert await client.get("k") == b"v"
        assert isinstance(await client.connection_pool.get_connection(), HiredisPacking)
    finally:
        await client.aclose()
    anonymous = node_client(ClusterNode("127.0.0.1", protected.port))  # the refusal it avoids
    try:
        with pytest.raises((AuthenticationError, ResponseError), match=r"NOAUTH|[Aa]uth"):
            await anonymous.get("k")
    finally:
        await anonymous.aclose()


@pytest.mark.parametrize("kind", ["node_client", "connect"])
async def test_a_write_whose_reply_is_lost_is_sent_once(
    losing: tuple[int, list[bytes]], kind: str, redis_server: EmbeddedRedis, key_prefix: str
) -> None:
    port, sets = losing
    client = (
        node_client(ClusterNode("127.0.0.1", port, socket_timeout=5))
        if kind == "node_client"
        else connect(f"redis://127.0.0.1:{port}/0")
    )
    key = f"{key_prefix}:lost-reply"
    try:
        with pytest.raises(RedisConnectionError):
            await client.execute_command("SET", key, "v")
    finally:
        await client.aclose()
    assert len(sets) == 1, sets  # the caller decides whether to retry, not redis-py
    direct = connect(redis_server.url)
    try:
        assert await direct.get(key) == b"v"  # it did land
    finally:
        await direct.aclose()
