"""Shared fixtures: every test gets its own Postgres schema and its own Redis key prefix.

The servers come from ``DATABASE_URL`` / ``REDIS_URL`` (``make test`` resolves them: the local
ones when they answer, embedded ones otherwise). Tests create and use the database
``gateway_test`` on that server; each test migrates a fresh schema ``t_<random>`` in it and drops
it afterwards, and keeps its Redis keys and channels under the prefix ``t<random>``, so tests run
in parallel (pytest-xdist) and never depend on order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from gateway.app import create_app
from gateway.settings import DatabaseSettings, RedisSettings, Settings
from holds.keys import Keys
from store.migrate import migrate
from tests.support import ADMIN_TOKEN, Clinic, LiveServer, make_clinic, start_server


def _database_url() -> str:
    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    return urlunsplit(urlsplit(base)._replace(path="/gateway_test"))


def _redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def database_url() -> str:
    return _database_url()


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _redis_url()


@pytest.fixture(scope="session")
def redis_cluster() -> bool:
    """Whether ``redis_url`` names a Redis Cluster node (tests/integration/cluster says yes)."""
    return False


@pytest.fixture
async def settings(database_url: str, redis_url: str, redis_cluster: bool) -> AsyncIterator[Settings]:
    """Settings for one test: a fresh migrated schema and a Redis prefix of its own."""
    tag = uuid.uuid4().hex[:12]
    schema = f"t_{tag}"
    result = Settings(
        database=DatabaseSettings(url=database_url, schema=schema, pool_min=1, pool_max=10),
        redis=RedisSettings(url=redis_url, prefix=f"t{tag}", cluster=redis_cluster),
        admin_token=ADMIN_TOKEN,
        # Off unless a test is about rate limits: 200 racing holds from one client are the point here.
        rate_limits=False,
        secret_key=f"test-secret-key-{tag}-{uuid.uuid4().hex}",  # 32 bytes at least, as serve demands
    )
    await migrate(result.database)
    yield result
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
    if redis_cluster:
        return  # the module's own cluster, thrown away with its keys
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"t{tag}:*", count=1000)]
        for i in range(0, len(keys), 500):
            await redis.delete(*keys[i : i + 500])
    finally:
        await redis.aclose()


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """An HTTP client on the app, with its lifespan (pool, Redis, sweeper) running."""
    async with AsyncTestClient(app=app, timeout=30) as test_client:
        yield test_client


@pytest.fixture
def admin() -> dict[str, str]:
    """Headers of the platform operator."""
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
async def clinic(client: AsyncTestClient[Litestar], admin: dict[str, str]) -> Clinic:
    return await make_clinic(client, admin)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def live_server(settings: Settings, tmp_path: Any) -> Iterator[LiveServer]:
    """One gateway process for this test (see :func:`tests.support.start_server` for more)."""
    server = start_server(settings, str(tmp_path))
    yield server
    server.stop()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    """A Redis client answering ``str`` (modules needing another one define their own)."""
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: Redis) -> AsyncIterator[Keys]:
    """Key names under a prefix of this test's own; its keys are deleted afterwards."""
    k = Keys(f"tk{uuid.uuid4().hex[:10]}")
    yield k
    found = [key async for key in redis.scan_iter(match=f"{k.prefix}:*")]
    if found:
        await redis.delete(*found)
