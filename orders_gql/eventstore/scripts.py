"""The store's Lua scripts, run by their SHA. A server that does not know a
script yet (a new or promoted master) gets it loaded once, by one caller at a
time: redis-py's own fallback, run by many callers at once on a cluster client,
breaks connections (seen with redis-py 8.1)."""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Any

from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from .connect import AnyRedis


class LuaScript:
    def __init__(self, redis: AnyRedis, name: str, package: str = __package__ or "") -> None:
        """The script `lua/<name>` of `package` (default: the event store's)."""
        self.redis = redis
        self.text = files(package).joinpath("lua", name).read_text()
        #: For pipelines (they load what they miss before running).
        self.script: AsyncScript = redis.register_script(self.text)
        self._loading = asyncio.Lock()

    async def __call__(self, keys: list[str], args: list[Any]) -> Any:
        sha = self.script.sha
        try:
            return await self.redis.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            async with self._loading:
                await self.redis.script_load(self.text)  # on every master of a cluster
            return await self.redis.evalsha(sha, len(keys), *keys, *args)
