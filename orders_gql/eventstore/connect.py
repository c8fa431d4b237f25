"""Building the Redis client: one server (a blocking connection pool) or a
Redis Cluster (ORDERS_REDIS_CLUSTER=true; the URL names any one node, the
client discovers the others and follows failovers)."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

AnyRedis = Redis | RedisCluster

#: What a failing Redis raises: a cluster client also raises RedisClusterException
#: (not a RedisError), e.g. while no node serves a slot during a failover.
REDIS_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
#: The same, and the operating system's errors (a refused connection, say).
REDIS_OR_OS_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, OSError)


def connect(url: str, *, cluster: bool = False, max_connections: int = 64) -> AnyRedis:
    """A client that owns its connections (aclose() closes them)."""
    if cluster:
        # Per node; a cluster client fails fast instead of waiting for a free one.
        return RedisCluster.from_url(
            url, max_connections=max_connections, socket_connect_timeout=2, socket_timeout=5
        )
    # A blocking pool: under a burst, requests wait for a connection (up to
    # 5 s) instead of failing with "too many connections".
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5, socket_connect_timeout=2, socket_timeout=5
    )
    return Redis.from_pool(pool)


def is_cluster(redis: AnyRedis) -> bool:
    """On a cluster, a command may only name keys of one slot."""
    return isinstance(redis, RedisCluster)
