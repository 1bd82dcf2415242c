"""Throwaway Postgres and Redis servers for the fault suite: each fault breaks servers of its own.

Never the machine's shared servers: a fault suite that restarts Redis must not take down anyone
else's. Each server lives in a temporary directory on a loopback port of its own, and can be
killed and started again on the same port (what a restart looks like to the gateway).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import redis

from gateway.devservers import postgres_bindir


def free_port(below: int = 22000) -> int:
    """A free loopback port under ``below`` (a Redis node's bus port is its port + 10000, and the
    ephemeral range starts at 32768: neither collides)."""
    for _ in range(200):
        port = 10000 + int.from_bytes(os.urandom(2), "big") % (below - 10000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port")


class Server:
    """A server process we started, killed or stopped by its own PID only."""

    def __init__(self, name: str, workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{name}.log"

    def argv(self) -> list[str]:
        raise NotImplementedError

    def user(self) -> pwd.struct_passwd | None:
        return None

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout: float = 30) -> None:
        user = self.user()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv
                self.argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            if self.ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start within {timeout:.0f} s; see {self.log}")

    def kill(self, sig: signal.Signals = signal.SIGKILL, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class ThrowawayRedis(Server):
    """``redis-server`` (standalone, no persistence): a restart comes back empty."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("redis", workdir)
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def argv(self) -> list[str]:
        binary = shutil.which("redis-server") or "redis-server"
        return [
            binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--cluster-enabled", "no", "--daemonize", "no", "--dir", str(self.workdir),
            "--notify-keyspace-events", "Ex",
        ]  # fmt: skip

    def ready(self) -> bool:
        with contextlib.suppress(redis.RedisError), redis.Redis(port=self.port, socket_timeout=0.5) as client:
            return bool(client.ping())
        return False


class ThrowawayPostgres(Server):
    """A Postgres cluster of its own (``initdb`` as the ``postgres`` user when run as root)."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("postgres", workdir)
        self.bindir = postgres_bindir()
        self.data = workdir / "pgdata"
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/gateway"
        user = self.user()
        self.data.mkdir(parents=True)
        if user:
            for path in (workdir, self.data):
                os.chown(path, user.pw_uid, user.pw_gid)
            workdir.chmod(0o755)
        initdb = [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        with open(self.log, "ab") as log:
            subprocess.run(  # noqa: S603
                [*initdb, "--locale=C"], stdout=log, stderr=subprocess.STDOUT, check=True,
                user=user.pw_uid if user else None, group=user.pw_gid if user else None,
            )  # fmt: skip
        if user:
            os.chown(self.log, user.pw_uid, user.pw_gid)

    def user(self) -> pwd.struct_passwd | None:
        return pwd.getpwnam("postgres") if os.geteuid() == 0 else None

    def argv(self) -> list[str]:
        return [
            str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
            "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "fsync=off",
            "-c", "max_connections=200",
        ]  # fmt: skip

    def ready(self) -> bool:
        import asyncio

        async def probe() -> bool:
            conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{self.port}/postgres", timeout=1)
            try:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'gateway'"):
                    await conn.execute("CREATE DATABASE gateway")
                return True
            finally:
                await conn.close()

        try:
            return asyncio.run(probe())
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False


@contextlib.asynccontextmanager
async def stores() -> AsyncIterator[tuple[ThrowawayPostgres, ThrowawayRedis]]:
    """A Postgres and a Redis of one fault's own, started in a temporary directory; stopped and
    removed afterwards, whatever happened (a gateway that never came up included)."""
    work = Path(tempfile.mkdtemp(prefix="faults-"))
    pg: ThrowawayPostgres | None = None
    redis_server: ThrowawayRedis | None = None
    try:
        pg, redis_server = ThrowawayPostgres(work), ThrowawayRedis(work)
        await asyncio.to_thread(pg.start)
        await asyncio.to_thread(redis_server.start)
        yield pg, redis_server
    finally:
        if redis_server is not None:
            redis_server.kill()
        if pg is not None:
            pg.kill(signal.SIGINT)
        shutil.rmtree(work, ignore_errors=True)
