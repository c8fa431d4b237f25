"""Writes acknowledged only once replicated: a script and a WAIT on one
connection (WAIT covers the writes of the connection it runs on), to the master
that holds the keys' slot."""

from __future__ import annotations

import contextlib
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from .connect import REDIS_ERRORS, AnyRedis, node_client


class NoNodeForSlot(Exception):
    """The cluster's slot map names no master for a key."""


class ReplicatedWrites:
    def __init__(self, redis: AnyRedis, replicas: int, timeout_ms: int) -> None:
        self.redis = redis
        self.replicas = replicas
        self.timeout_ms = timeout_ms
        self._node_clients: dict[str, Redis] = {}

    async def run(self, script: AsyncScript, keys: list[str], args: list[Any]) -> tuple[Any, int]:
        """The script's reply, and how many replicas confirmed its writes in time."""
        if not isinstance(self.redis, RedisCluster):
            return await self._on_one_connection(self.redis, script, keys, args)
        await self.redis.initialize()  # the slot map (at once when it is known)
        node = self.redis.get_node_from_key(keys[0])
        if node is None:
            raise NoNodeForSlot(keys[0])
        client = self._node_clients.get(node.name)
        if client is None:
            client = node_client(node)
            self._node_clients[node.name] = client
        try:
            return await self._on_one_connection(client, script, keys, args)
        except REDIS_ERRORS:
            # This client bypasses the cluster client, which therefore does not
            # see a master fail or move: drop it and refresh the slot map, so
            # the caller's retry goes to the new master.
            self._node_clients.pop(node.name, None)
            await client.aclose()
            with contextlib.suppress(*REDIS_ERRORS, OSError):
                await self.redis.nodes_manager.initialize()
            raise

    async def aclose(self) -> None:
        """Close the per-node clients (the main client is the caller's)."""
        for client in self._node_clients.values():
            await client.aclose()
        self._node_clients.clear()

    async def _on_one_connection(
        self, client: Redis, script: AsyncScript, keys: list[str], args: list[Any]
    ) -> tuple[Any, int]:
        async with client.pipeline(transaction=False) as pipe:
            queued: Any = pipe  # a script runs on a pipeline too
            await script(keys=keys, args=args, client=queued)
            pipe.execute_command("WAIT", self.replicas, self.timeout_ms)
            reply, confirmed = await pipe.execute()
        return reply, int(confirmed)
