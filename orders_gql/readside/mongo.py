"""The MongoDB client of the read side, and a guard against a socket pymongo leaks.

pymongo's async connect (`pymongo.pool_shared._async_create_connection`, 4.9
up to at least 4.20.1) closes the socket it connects on `TimeoutError` and
`OSError` only. A task cancelled while the connect is under way abandons the
socket, and the garbage collector closes it later, with a ResourceWarning, in
whatever code runs then (PYTHON-5867). `AsyncMongoClient.close()` does exactly
that: it cancels its server monitor, which, while MongoDB is down, reconnects
every half second (and at once when an operation wakes it, as the projector's
failing batches do), so an app shut down while MongoDB is down left a socket
behind about one time in three.

The guard closes the abandoned socket: it is the `sock` local of the connect's
frame, which the traceback of the cancellation still holds. Once pymongo closes
the socket itself, closing it again does nothing.
"""

from __future__ import annotations

import functools
import inspect
import socket
from types import CodeType, TracebackType
from typing import Any

from pymongo import AsyncMongoClient, pool_shared
from pymongo.asynchronous.database import AsyncDatabase

_GUARD = "_orders_gql_closes_abandoned_socket"


#: How long a connect, and the driver's heartbeat, may take (pymongo's default).
#: pymongo drops a server whose heartbeat outlasts it, interrupting the
#: queries it is running: with the short `timeout_ms` here, SecantusDB (one
#: Python process, late with heartbeats while it scans) had every query of
#: over 12 s cancelled (searchOrders at 100,000 orders).
CONNECT_TIMEOUT_MS = 20_000


def mongo_client(url: str, timeout_ms: int) -> AsyncMongoClient[Any]:
    """The read side's client: a call waits `timeout_ms` for a usable server
    (then SERVICE_UNAVAILABLE); a server slow to answer keeps its queries."""
    guard_connect_cancellation()
    return AsyncMongoClient(
        url,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=max(timeout_ms, CONNECT_TIMEOUT_MS),
    )


async def reinserting_is_cheaper(db: AsyncDatabase[Any]) -> bool:
    """Whether this server rewrites a document faster when it is deleted and
    inserted again (in one transaction) than when it is replaced.

    True on SecantusDB: its update path plans the query and reads the
    collection's index definitions again for every document, where a delete by
    `$in` and an insert do that once per command. An order view with the view
    indexes, 500 per transaction: a replacement costs it 716-742 us of CPU, a
    delete (in chunks of 50 ids) and insert 502-510 us, an insert alone 288 us.
    False on mongod, which replaces a document updating only the index keys
    that change, and writes one oplog entry for it instead of two."""
    info = await db.command("buildInfo")
    return "secantusVersion" in info


def guard_connect_cancellation() -> None:
    """Make pymongo's async connect close its socket when cancelled (once per process)."""
    connect = pool_shared._async_create_connection
    if getattr(connect, _GUARD, False):
        return
    code = inspect.unwrap(connect).__code__  # pymongo's, under any functools.wraps wrapper

    @functools.wraps(connect)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return await connect(*args, **kwargs)
        except BaseException as exc:  # CancelledError, KeyboardInterrupt, GeneratorExit
            _close_socket_of(code, exc.__traceback__)
            raise

    setattr(guarded, _GUARD, True)
    pool_shared._async_create_connection = guarded


def _close_socket_of(code: CodeType, tb: TracebackType | None) -> None:
    while tb is not None:
        if tb.tb_frame.f_code is code:
            sock = tb.tb_frame.f_locals.get("sock")
            if isinstance(sock, socket.socket):
                sock.close()
            return
        tb = tb.tb_next
