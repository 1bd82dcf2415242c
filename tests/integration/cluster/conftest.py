"""Fixtures of the Redis Cluster tests: a real 3-primary cluster per test module.

Each module starts its own cluster (tests/cluster_support.py: ``redis-server`` in cluster mode on
random loopback ports below the ephemeral range) and stops it afterwards; every test still gets
its own Postgres schema and Redis prefix from the ``settings`` fixture, which reads
``redis_url`` and ``redis_cluster`` from here (``GATEWAY_REDIS_CLUSTER=on``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio.cluster import RedisCluster as ClusterClient

from holds.keys import CLUSTER_DUE_SHARDS, Keys
from tests.cluster_support import RedisCluster, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    started = start_cluster(tmp_path_factory.mktemp("redis-cluster"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def redis_url(cluster: RedisCluster) -> str:
    return cluster.url


@pytest.fixture(scope="module")
def redis_cluster() -> bool:
    return True


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[ClusterClient]:
    """A cluster client answering ``str``."""
    client = ClusterClient.from_url(redis_url, decode_responses=True)
    await client.initialize()  # the slot map, for tests that ask it which node owns a key
    yield client
    await client.aclose()


@pytest.fixture
def keys() -> Keys:
    """Key names under a prefix of this test's own, the deadline index sharded as the gateway does
    on a cluster (the keys go with the module's cluster)."""
    return Keys(f"tk{uuid.uuid4().hex[:10]}", due_shards=CLUSTER_DUE_SHARDS)
