"""A real Redis Cluster of its own for a test module: three primaries from ``redis-server`` on loopback.

Each node runs in a temporary directory on a random port below the ephemeral range whose cluster
bus port (port + 10000) is free too, so parallel test workers never collide. Only the processes
started here are stopped, by their own handles.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
LOW_PORT, HIGH_PORT = 12000, 21000
"""Node ports are drawn from here: the bus port (+10000) stays below 32768, the ephemeral range."""


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_node_ports(count: int) -> list[int]:
    """``count`` ports whose own and cluster bus ports (+10000) are both free on loopback."""
    ports: list[int] = []
    while len(ports) < count:
        port = random.randrange(LOW_PORT, HIGH_PORT)
        if port not in ports and _bindable(port) and _bindable(port + 10000):
            ports.append(port)
    return ports


def _cli(port: int, *args: str, timeout: float = 10) -> str:
    done = subprocess.run(
        [REDIS_CLI, "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done.stdout + done.stderr


@dataclass
class RedisCluster:
    """A running cluster: its nodes' ports and processes."""

    workdir: Path
    ports: list[int]
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """``REDIS_URL`` naming one node (the client discovers the others)."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def start_node(self, port: int) -> None:
        node_dir = self.workdir / str(port)
        node_dir.mkdir(parents=True, exist_ok=True)
        log = open(node_dir / "redis.log", "wb")  # noqa: SIM115  # the child keeps its own copy
        with log:
            self.processes[port] = subprocess.Popen(
                [
                    REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
                    # a replica takes over however long ago it last heard its primary (the tests
                    # kill a primary seconds after the cluster was made)
                    "--cluster-replica-validity-factor", "0",
                    # the other primaries keep serving while one shard has no primary (the
                    # README's advice for the gateway)
                    "--cluster-require-full-coverage", "no",
                    "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(node_dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while "PONG" not in _cli(port, "PING", timeout=2):
            if self.processes[port].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on {port} did not start: {(node_dir / 'redis.log').read_text()}")
            time.sleep(0.05)

    def kill(self, port: int) -> None:
        """SIGKILL one node (a crash)."""
        process = self.processes.pop(port, None)
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    def info(self, port: int) -> str:
        return _cli(port, "CLUSTER", "INFO")

    def wait_ok(self, ports: list[int] | None = None, within: float = 30) -> None:
        """Until every node (of ``ports``) says ``cluster_state:ok`` and knows every slot."""
        deadline = time.monotonic() + within
        for port in ports or list(self.processes):
            while not ("cluster_state:ok" in (text := self.info(port)) and "cluster_slots_ok:16384" in text):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the cluster did not become ok on {port}: {text}")
                time.sleep(0.1)

    def wait_replicas(self, count: int, within: float = 30) -> None:
        """Until ``count`` nodes are replicas in sync with their primary (a failover needs one)."""
        deadline = time.monotonic() + within
        while True:
            synced = [p for p in self.processes if "master_link_status:up" in _cli(p, "INFO", "replication")]
            if len(synced) >= count:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(synced)} of {count} replicas are in sync")
            time.sleep(0.1)

    def stop(self) -> None:
        for port in list(self.processes):
            self.kill(port)
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_cluster(workdir: Path, primaries: int = 3, replicas: int = 0) -> RedisCluster:
    """Start ``primaries`` nodes (each with ``replicas`` replicas), join them, wait until the cluster is ok."""
    for attempt in range(3):
        cluster = RedisCluster(workdir / f"cluster-{attempt}", free_node_ports(primaries * (1 + replicas)))
        try:
            for port in cluster.ports:
                cluster.start_node(port)
            created = _cli(
                cluster.ports[0],
                "--cluster", "create", *(f"127.0.0.1:{port}" for port in cluster.ports),
                "--cluster-replicas", str(replicas), "--cluster-yes",
                timeout=60,
            )  # fmt: skip
            if "[OK] All 16384 slots covered" not in created:
                raise RuntimeError(f"redis-cli --cluster create failed: {created}")
            cluster.wait_ok()
            cluster.wait_replicas(primaries * replicas)
            return cluster
        except RuntimeError:
            cluster.stop()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
