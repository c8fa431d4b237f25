"""Running a callback in a MongoDB transaction, retried on transient errors.

Like pymongo's `with_transaction`, but with a hook called on each conflict:
a crashed projector's open transaction keeps its write locks until the server
reaps it, and the hook lets the projector abort it (killSessions) instead of
retrying for up to two minutes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern

T = TypeVar("T")
_SNAPSHOT = ReadConcern("snapshot")
ConflictHook = Callable[[], Awaitable[None]]


def _label(exc: PyMongoError, label: str) -> bool:
    return bool(getattr(exc, "has_error_label", lambda _: False)(label))


async def _commit(session: AsyncClientSession) -> None:
    while True:
        try:
            await session.commit_transaction()
            return
        except PyMongoError as exc:
            if _label(exc, "UnknownTransactionCommitResult"):
                continue
            raise


async def run_transaction(
    client: AsyncMongoClient[Any],
    callback: Callable[[AsyncClientSession], Awaitable[T]],
    *,
    session: AsyncClientSession | None = None,
    on_conflict: ConflictHook | None = None,
    time_limit: float = 60.0,
    snapshot: bool = False,
) -> T:
    """Run `callback` in a transaction until it commits; exceptions of the
    callback abort and propagate, transient errors retry until `time_limit`.
    `snapshot`: read concern "snapshot" (reads that must agree with each
    other)."""
    own = session is None
    active = session or client.start_session()
    deadline = time.monotonic() + time_limit
    pause = 0.002
    try:
        while True:
            await active.start_transaction(read_concern=_SNAPSHOT if snapshot else None)
            try:
                result = await callback(active)
                await _commit(active)
                return result
            except BaseException as exc:
                if active.in_transaction:
                    await active.abort_transaction()
                if not (isinstance(exc, PyMongoError) and _label(exc, "TransientTransactionError")):
                    raise
                if time.monotonic() > deadline:
                    raise
            if on_conflict is not None:
                await on_conflict()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.1)
    finally:
        if own:
            await active.end_session()
