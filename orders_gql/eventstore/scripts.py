"""The store's Lua scripts, run by their SHA. A server that does not know a
script yet (a new or promoted master) gets it loaded once, by one caller at a
time: redis-py's own fallback, run by many callers at once on a cluster client,
breaks connections (seen with redis-py 8.1).

On one server (not a cluster), the calls of a script that arrive in the same
turn of the event loop go in one pipeline (see orders_gql.gathering): each
script runs atomically as before, and concurrent commands share a round trip.
"""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from ..gathering import Gathering
from .connect import AnyRedis, is_cluster

#: Calls per pipeline; more that arrive together go in the next one.
PIPELINE_MOST = 64


class LuaScript:
    def __init__(self, redis: AnyRedis, name: str, package: str = __package__ or "") -> None:
        """The script `lua/<name>` of `package` (default: the event store's)."""
        self.redis = redis
        self.text = files(package).joinpath("lua", name).read_text()
        #: For pipelines (they load what they miss before running).
        self.script: AsyncScript = redis.register_script(self.text)
        self._loading = asyncio.Lock()
        self._gathered: Gathering[tuple[list[str], list[Any]], Any] | None = (
            None if is_cluster(redis) else Gathering(self._pipelined, PIPELINE_MOST)
        )

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        if self._gathered is None:
            return await self._one(keys, args)
        return await self._gathered((keys, args))

    async def _one(self, keys: list[str], args: list[Any]) -> Any:
        sha = self.script.sha
        try:
            return await self.redis.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            async with self._loading:
                await self.redis.script_load(self.text)  # on every master of a cluster
            return await self.redis.evalsha(sha, len(keys), *keys, *args)

    async def _pipelined(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """Each call's reply, or its error (an exception instance)."""
        if len(calls) == 1:
            return [await self._one(*calls[0])]
        pipe = self.redis.pipeline(transaction=False)
        for keys, args in calls:
            pipe.evalsha(self.script.sha, len(keys), *keys, *args)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        for n, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):  # not run: load the script, run it
                try:
                    replies[n] = await self._one(*calls[n])
                except Exception as exc:
                    replies[n] = exc
        return replies
