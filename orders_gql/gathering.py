"""Calls that arrive in the same turn of the event loop, sent as one batch.

Under concurrent requests each request's one database command is mostly the
client library's fixed work (connection checkout, framing, a round trip), not
the command's: pymongo spends 331 us of CPU on a `find_one` and 77 us per
document asking for four at once; redis-py 55 us on an EVALSHA and 24 us per
script in a pipeline of up to sixteen (both measured here, against SecantusDB
and Valkey). uvicorn starts a task per request, and the tasks started together
run until their first real wait in the same turn of the loop, so the calls
they make there are gathered, and sent when the loop comes round. A call that
arrives alone costs one loop turn more.
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _copy(exc: Exception) -> BaseException:
    """An exception like `exc` (type, arguments, attributes), for one caller."""
    try:
        return copy.copy(exc)
    except Exception:  # a type that cannot be rebuilt from its arguments
        return RuntimeError(f"{type(exc).__name__}: {exc}")


class _Batch(Generic[Item, Result]):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.items: list[Item] = []
        self.futures: list[asyncio.Future[Result]] = []


class Gathering(Generic[Item, Result]):
    """`await gathering(item)` runs `send(items)` once for the items of a turn.

    `send` answers each item in order, with its result or an exception
    instance (raised to that caller alone). When `send` itself raises, every
    caller gets `failed(exc)`, an exception of its own (by default a copy, of
    the same type), caused by it. A cancelled caller cancels only its own
    wait: its item is sent all the same. At most `most` items go in a batch;
    more that arrive in the same turn start the next one."""

    def __init__(
        self,
        send: Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]],
        most: int,
        failed: Callable[[Exception], BaseException] | None = None,
    ) -> None:
        self._send = send
        self._failed = failed or _copy
        self.most = most
        self._open: _Batch[Item, Result] | None = None
        self._running: set[asyncio.Task[None]] = set()

    async def __call__(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        batch = self._open
        if batch is None or batch.loop is not loop or len(batch.items) >= self.most:
            batch = self._open = _Batch(loop)
            # An empty context: the batch belongs to no one caller (its
            # correlation id, say, would be the first caller's).
            loop.call_soon(self._start, batch, context=contextvars.Context())
        future: asyncio.Future[Result] = loop.create_future()
        batch.items.append(item)
        batch.futures.append(future)
        return await future

    def _start(self, batch: _Batch[Item, Result]) -> None:
        if self._open is batch:
            self._open = None
        task = batch.loop.create_task(self._run(batch))
        self._running.add(task)
        task.add_done_callback(lambda done: self._finished(done, batch))

    def _finished(self, task: asyncio.Task[None], batch: _Batch[Item, Result]) -> None:
        self._running.discard(task)
        for future in batch.futures:  # the batch was cancelled, even before it ran
            future.cancel()

    async def _run(self, batch: _Batch[Item, Result]) -> None:
        try:
            results = await self._send(batch.items)
        except Exception as exc:
            for future in batch.futures:
                if not future.done():
                    error = self._failed(exc)
                    error.__cause__ = exc
                    future.set_exception(error)
            return
        for future, result in zip(batch.futures, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
