"""Closing the read side's MongoDB client while its monitor is still connecting
leaves no socket behind (pymongo abandons it, see orders_gql.readside.mongo)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import time
import warnings
from collections.abc import Iterator

import pymongo
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from orders_gql.embedded import EmbeddedMongo
from orders_gql.readside.mongo import mongo_client
from orders_gql.readside.store import ReadSideUnavailable, ReadStore


@contextlib.contextmanager
def unanswered_port() -> Iterator[int]:
    """A port whose connects stay under way: a listener whose accept queue is
    full, so the kernel drops further SYNs."""
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(socket.socket())
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        for _ in range(3):
            filler = stack.enter_context(socket.socket())
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(listener.getsockname())
        yield listener.getsockname()[1]


async def test_closing_while_the_monitor_connects_leaves_no_socket() -> None:
    with unanswered_port() as port:
        client = mongo_client(f"mongodb://127.0.0.1:{port}/?directConnection=true", 5000)
        # The ping gives up long before the monitor's connect (5 s).
        with pymongo.timeout(0.2), pytest.raises(ServerSelectionTimeoutError):
            await client.admin.command("ping")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            await client.close()
            del client  # its closed monitor task still holds the connect's frame
            gc.collect()
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


class StallingProxy:
    """A TCP proxy to MongoDB that can hold the server's answers for a while,
    as a server busy with one long query answers the rest (heartbeats included)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def __aexit__(self, *_: object) -> None:
        assert self.server is not None
        self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        for src, dst, held in ((reader, up_writer, False), (up_reader, writer, True)):
            task = asyncio.create_task(self._pipe(src, dst, held))
            self.tasks.add(task)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, held: bool) -> None:
        try:
            while data := await src.read(65536):
                if held:
                    await self.flowing.wait()
                dst.write(data)
                await dst.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            dst.close()


async def test_a_server_slow_to_answer_keeps_its_running_queries(
    mongo_server: EmbeddedMongo, mongo_db: str
) -> None:
    """The server answers nothing for 4 s while a query runs: the query is
    answered then, not cancelled with the connection because a heartbeat came
    late (heartbeats every 0.5 s here; a 2 s connect timeout gives them 2.5 s)."""
    proxy = StallingProxy("127.0.0.1", mongo_server.port)
    async with proxy as port:
        client = mongo_client(
            f"mongodb://127.0.0.1:{port}/?directConnection=true&heartbeatFrequencyMS=500", 2000
        )
        try:
            collection = client[mongo_db]["views"]
            await collection.insert_one({"_id": "o1", "status": "PENDING"})
            await asyncio.sleep(1)  # the monitor's streaming heartbeats are under way
            stall = 6.0
            started = time.monotonic()
            proxy.flowing.clear()
            asyncio.get_running_loop().call_later(stall, proxy.flowing.set)
            found = await collection.find_one({"_id": "o1"})
            assert found == {"_id": "o1", "status": "PENDING"}
            assert time.monotonic() - started >= stall - 0.5  # it did wait for the server
        finally:
            await client.close()


async def test_a_ping_gives_up_after_the_timeout_when_a_connected_server_hangs(
    mongo_server: EmbeddedMongo, mongo_db: str
) -> None:
    """/readyz pings: against a server that stopped answering on a connection
    already open, the ping waited about 20 s (pymongo's heartbeat giving up),
    not ORDERS_MONGODB_TIMEOUT_MS; a probe timed out instead of seeing 503."""
    proxy = StallingProxy("127.0.0.1", mongo_server.port)
    async with proxy as port:
        client = mongo_client(f"mongodb://127.0.0.1:{port}/?directConnection=true", 1000)
        try:
            store = ReadStore(client, mongo_db)
            await store.ping()  # connected, answered
            proxy.flowing.clear()
            started = time.monotonic()
            with pytest.raises(ReadSideUnavailable):
                await store.ping()
            assert time.monotonic() - started < 2.5
            proxy.flowing.set()
            async with asyncio.timeout(30):  # and it recovers when the server answers
                while True:
                    with contextlib.suppress(ReadSideUnavailable):
                        await store.ping()
                        break
                    await asyncio.sleep(0.1)
        finally:
            proxy.flowing.set()
            await client.close()
