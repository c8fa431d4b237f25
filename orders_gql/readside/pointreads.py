"""Reads of single documents by `_id` that arrive together, answered by one
query: a DataLoader across requests.

Each single-order read is one request's one MongoDB command, and the command's
client-side work (session, cursor, message, round trip) outweighs the
document's: measured against SecantusDB with 5,000 order views, pymongo spent
331 us of CPU per `find_one`, and 77 us per document asking for four at a
time with `{_id: {$in: [...]}}` (32 us for sixteen); the server's time per
document fell too (wall 572 -> 215 us). So the reads that reach the loader in
the same turn of the event loop (concurrent requests do: uvicorn starts a
task per request, and they run until their first real wait) are gathered and
asked for once, when the loop comes round. A read that arrives alone costs one
loop turn more and stays a `find_one`.

Each read's answer is the document as one query saw it, after the read
arrived: the same guarantee a `find_one` of its own gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import PyMongoError

from .batch import ReadSideUnavailable

#: Ids per `$in` lookup. SecantusDB matches each candidate against the whole
#: `$in` list, so one lookup of n ids costs n^2; chunks keep it linear.
IN_CHUNK = 100

Document = Mapping[str, Any]


class _Gathering:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: dict[str, list[asyncio.Future[Document | None]]] = {}


class PointReads:
    """Gathers `get(id)` calls on one collection (see the module)."""

    def __init__(
        self, collection: Callable[[], AsyncCollection[Any]], most: int = IN_CHUNK
    ) -> None:
        self._collection = collection
        self.most = most
        self._open: _Gathering | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def get(self, key: str) -> Document | None:
        """The document with `_id` `key`, or None; raises ReadSideUnavailable."""
        loop = asyncio.get_running_loop()
        gathering = self._open
        if gathering is None or gathering.loop is not loop or len(gathering.waiting) >= self.most:
            gathering = self._open = _Gathering(loop)
            loop.call_soon(self._send, gathering)
        future: asyncio.Future[Document | None] = loop.create_future()
        gathering.waiting.setdefault(key, []).append(future)
        return await future  # a cancelled read cancels its own future only

    def _send(self, gathering: _Gathering) -> None:
        if self._open is gathering:
            self._open = None
        task = gathering.loop.create_task(self._fetch(gathering))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _fetch(self, gathering: _Gathering) -> None:
        ids = list(gathering.waiting)
        try:
            collection = self._collection()
            if len(ids) == 1:
                found = await collection.find_one({"_id": ids[0]})
                documents = {} if found is None else {ids[0]: found}
            else:
                documents = {d["_id"]: d async for d in collection.find({"_id": {"$in": ids}})}
        except asyncio.CancelledError:
            for futures in gathering.waiting.values():
                for future in futures:
                    future.cancel()
            raise
        except Exception as exc:
            for futures in gathering.waiting.values():
                for future in futures:
                    if not future.done():  # one exception object per waiting read
                        error = (
                            ReadSideUnavailable(str(exc))
                            if isinstance(exc, PyMongoError)
                            else RuntimeError(f"point read failed: {exc!r}")
                        )
                        error.__cause__ = exc
                        future.set_exception(error)
            return
        for key, futures in gathering.waiting.items():
            for future in futures:
                if not future.done():
                    future.set_result(documents.get(key))
