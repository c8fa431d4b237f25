"""Closing the read side's MongoDB client while its monitor is still connecting
leaves no socket behind (pymongo abandons it, see orders_gql.readside.mongo)."""

from __future__ import annotations

import contextlib
import gc
import socket
import warnings
from collections.abc import Iterator

import pymongo
import pytest
from pymongo.errors import ServerSelectionTimeoutError

from orders_gql.readside.mongo import mongo_client


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
