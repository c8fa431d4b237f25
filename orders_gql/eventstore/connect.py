"""Building the Redis client: one server (a pool whose callers wait for a
free connection) or a Redis Cluster (ORDERS_REDIS_CLUSTER=true; the URL names
any one node, the client discovers the others and follows failovers)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar, cast

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MaxConnectionsError, RedisClusterException, RedisError

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None = None
with contextlib.suppress(ImportError):  # hiredis is in the `fast` extra
    from hiredis import pack_command

    _hiredis_pack = pack_command

AnyRedis = Redis | RedisCluster
_C = TypeVar("_C", bound=AbstractConnection)

#: What a failing Redis raises: a cluster client also raises RedisClusterException
#: (not a RedisError), e.g. while no node serves a slot during a failover.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
#: The same, and the operating system's errors (a refused connection, say).
REDIS_OR_OS_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError)


def connect(url: str, *, cluster: bool = False, max_connections: int = 64) -> AnyRedis:
    """A client that owns its connections (aclose() closes them)."""
    if cluster:
        # Per node; a cluster client fails fast instead of waiting for a free one.
        client = RedisCluster.from_url(
            url, max_connections=max_connections, socket_connect_timeout=2, socket_timeout=5
        )
        _pack_with_hiredis(client)
        return client
    # Under a burst, requests wait for a connection (up to 5 s) instead of
    # failing with "too many connections".
    pool = WaitingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, socket_connect_timeout=2, socket_timeout=5
    )
    pool.connection_class = packing(pool.connection_class)  # see HiredisPacking
    return Redis.from_pool(pool)


def _pack_with_hiredis(cluster: RedisCluster) -> None:
    """Make a cluster client's node connections pack with hiredis (see
    HiredisPacking). redis-py takes no connection class for a cluster: each
    node makes its connections of the class named in the client's connection
    arguments (shared with its nodes manager, which copies them into the
    nodes it finds later); the seed nodes were made with it already."""
    kwargs = cluster.nodes_manager.connection_kwargs
    kwargs["connection_class"] = packing(kwargs["connection_class"])
    for node in cluster.nodes_manager.startup_nodes.values():
        node.connection_class = packing(node.connection_class)


#: What a cluster client gives its node connections that a plain client must
#: not take: its event dispatcher, and its READONLY handshake for replicas.
_NOT_FOR_A_NODE = frozenset({"event_dispatcher", "redis_connect_func"})


def node_client(node: ClusterNode, max_connections: int = 64) -> Redis:
    """A client of one cluster node alone, for what must run on one connection
    of it (a script and its WAIT): the connection arguments the cluster client
    gives that node (credentials, TLS, timeouts), hiredis packing, and no
    retries, so a write it sends is sent once; the caller retries, by the
    refreshed slot map, with the idempotency key."""
    kwargs = {k: v for k, v in node.connection_kwargs.items() if k not in _NOT_FOR_A_NODE}
    kwargs["retry"] = Retry(NoBackoff(), 0)
    pool = WaitingConnectionPool(
        connection_class=packing(node.connection_class),
        max_connections=max_connections,
        timeout=5,
        **kwargs,
    )
    return Redis.from_pool(pool)


class HiredisPacking(AbstractConnection):
    """Commands packed by hiredis's C packer, as redis-py's synchronous
    connections do when hiredis is installed; its asyncio connections pack
    in Python, one encode and a few joins per argument (a createOrder's
    append script: about 650 of its 15,800 Python opcodes).

    Anything hiredis does not pack as redis-py would goes to redis-py's own
    packer, which answers as before: a first argument holding a space
    ("CONFIG GET"), an encoding other than strict UTF-8, and any argument that
    is not str, bytes, int or float (hiredis refuses it with a TypeError;
    redis-py packs a bytearray or an int subclass, or raises its DataError)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if _hiredis_pack is not None and self._hiredis_packs(args[0] if args else None):
            with contextlib.suppress(TypeError):
                return [_hiredis_pack(args)]
        return super().pack_command(*args)

    def _hiredis_packs(self, first: object) -> bool:
        one_word = (type(first) is str and " " not in first) or (
            type(first) is bytes and b" " not in first
        )
        encoder = self.encoder
        return one_word and encoder.encoding == "utf-8" and encoder.encoding_errors == "strict"


class _HiredisConnection(HiredisPacking, Connection):
    pass


class _HiredisSSLConnection(HiredisPacking, SSLConnection):
    pass


class _HiredisUnixConnection(HiredisPacking, UnixDomainSocketConnection):
    pass


#: redis-py's connection classes (by the URL's scheme) and ours that pack with hiredis.
_PACKING: dict[type[AbstractConnection], type[AbstractConnection]] = (
    {
        Connection: _HiredisConnection,
        SSLConnection: _HiredisSSLConnection,
        UnixDomainSocketConnection: _HiredisUnixConnection,
    }
    if _hiredis_pack is not None
    else {}
)


def packing(connection_class: type[_C]) -> type[_C]:
    """The class of ours that packs with hiredis in place of redis-py's
    `connection_class` (the same class without hiredis, or for another class)."""
    return cast("type[_C]", _PACKING.get(connection_class, connection_class))


class WaitingConnectionPool(ConnectionPool):
    """redis-py's ConnectionPool, except that a caller who finds every one of
    the `max_connections` connections in use waits (up to `timeout` seconds)
    for one to come back instead of failing with "Too many connections".

    redis-py's BlockingConnectionPool waits too, but takes a Condition and arms
    a timer on every command, free connection or not: 15-25 us more per
    command on these machines (a tenth of a bare EVALSHA). This pool pays
    only when it has to wait."""

    def __init__(self, *, timeout: float = 5, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeout = timeout
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def get_connection(self, command_name: Any = None, *keys: Any, **options: Any) -> Any:
        deadline: float | None = None
        while True:
            if self.can_get_connection():
                try:
                    return await super().get_connection()  # type: ignore[no-untyped-call]
                except MaxConnectionsError:
                    pass  # taken meanwhile: wait for the next one
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.timeout
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RedisConnectionError("No connection available.")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, but leaving: the next waiter takes it
                else:
                    self._discard(waiter)
                if isinstance(exc, TimeoutError):
                    raise RedisConnectionError("No connection available.") from None
                raise
            # woken: a connection came back (another caller may take it first)

    async def release(self, connection: AbstractConnection) -> None:
        await super().release(connection)
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)


def is_cluster(redis: AnyRedis) -> bool:
    """On a cluster, a command may only name keys of one slot."""
    return isinstance(redis, RedisCluster)
