"""A real local Redis Cluster (three masters on loopback ports), started once
for the cluster tests; each test keeps its own key prefix. The fixtures named
like the top-level ones (`redis`, `settings`) point at the cluster here, so the
store contract tests imported into this package run against it unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio.cluster import RedisCluster

from orders_gql.embedded import EmbeddedMongo
from orders_gql.embedded_cluster import EmbeddedCluster
from orders_gql.settings import Settings

from ..conftest import app_settings


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedCluster]:
    with EmbeddedCluster(tmp_path_factory.mktemp("cluster"), masters=3) as running:
        yield running


@pytest.fixture
async def redis(cluster: EmbeddedCluster) -> AsyncIterator[RedisCluster]:
    client = RedisCluster.from_url(cluster.url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(
    cluster: EmbeddedCluster, mongo_server: EmbeddedMongo, key_prefix: str, mongo_db: str
) -> Settings:
    return app_settings(
        cluster.url, mongo_server, key_prefix, mongo_db, redis_cluster=True, partitions=6
    )
