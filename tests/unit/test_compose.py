"""docker-compose.yml and deploy/nginx.conf hold together: what can be checked without an engine.

Compose's own validator checks the file (``docker compose config``, or Debian's ``docker-compose``
where the plugin is missing: ``make test`` installs it; neither needs an engine for ``config``).
The rest reads the files themselves: every service a service waits for exists, every
variable handed to a gateway is one it reads, every published port is on loopback, the gateways
leave delivery to the worker, nginx reaches them with what live streams need (no buffering, long
read timeouts, WebSocket upgrades), and the image carries every package.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec.inspect as mi
import yaml

from gateway.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
UVICORN_VARIABLES = {"FORWARDED_ALLOW_IPS"}
"""Read by uvicorn itself, not by the settings."""


@functools.cache
def compose_command() -> tuple[str, ...]:
    """Compose's own command line: the Docker CLI's plugin, else the standalone ``docker-compose``."""
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return (docker, "compose")
    standalone = shutil.which("docker-compose")
    assert standalone, "neither 'docker compose' nor 'docker-compose' is installed: 'make test' installs docker-compose"
    return (standalone,)


def compose_config(path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``compose config -q`` on ``path``, seen from the repository, with only ``variables`` set."""
    keep = {name: value for name, value in os.environ.items() if name in ("PATH", "HOME", "LANG")}
    return subprocess.run(
        [*compose_command(), "--project-directory", str(ROOT), "-f", str(path), "config", "-q"],
        capture_output=True,
        text=True,
        env=keep | variables,
        check=False,
        timeout=60,
    )


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return loaded


def nginx() -> str:
    return (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")


def variables(cls: type[Any]) -> set[str]:
    """Every environment variable a settings struct (and its sections) reads."""
    found: set[str] = set()
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    for field in info.fields:
        kind = field.type
        if isinstance(kind, mi.Metadata):
            if name := (kind.extra or {}).get("env"):
                found.add(name)
                continue
            kind = kind.type
        if isinstance(kind, mi.StructType):
            found |= variables(kind.cls)
    return found


SECRETS = {"GATEWAY_ADMIN_TOKEN": "an-admin-token", "GATEWAY_SECRET_KEY": "a-secret-key"}


def test_compose_config_validates_the_file_with_its_secrets_given() -> None:
    done = compose_config(ROOT / "docker-compose.yml", **SECRETS)
    assert done.returncode == 0, done.stderr


def test_compose_config_refuses_the_file_without_its_secrets_and_says_which() -> None:
    for missing in SECRETS:
        done = compose_config(ROOT / "docker-compose.yml", **{k: v for k, v in SECRETS.items() if k != missing})
        assert done.returncode != 0
        assert f"set {missing}" in done.stderr


def test_compose_config_can_fail_on_a_file_compose_does_not_accept(tmp_path: Path) -> None:
    """The check above is Compose's: a wrong dependency condition is refused."""
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "condition: service_completed_successfully" in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace("condition: service_completed_successfully", "condition: when_it_likes"))
    done = compose_config(broken, **SECRETS)
    assert done.returncode != 0
    assert "when_it_likes" in done.stderr


def test_the_stack_has_its_services_and_each_waits_only_for_services_that_exist() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "gateway", "worker", "nginx"}
    for name, service in services.items():
        waits = service.get("depends_on", {})
        assert set(waits) <= set(services) - {name}, f"{name} waits for {sorted(waits)}"
    assert services["gateway"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["worker"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_gateways_leave_delivery_to_the_worker_and_there_are_two_of_them() -> None:
    services = compose()["services"]
    assert "--no-worker" in services["gateway"]["command"]
    assert services["gateway"]["deploy"]["replicas"] >= 2
    assert services["worker"]["command"] == ["gateway", "worker"]
    assert "gateway migrate" in " ".join(services["migrate"]["command"])


def test_every_variable_given_to_a_gateway_is_one_it_reads() -> None:
    known = variables(Settings) | UVICORN_VARIABLES
    for name in ("migrate", "gateway", "worker"):
        given = set(compose()["services"][name]["environment"])
        assert given - known == set(), f"{name}: unknown variables {sorted(given - known)}"
        assert {"DATABASE_URL", "REDIS_URL", "GATEWAY_SECRET_KEY", "GATEWAY_ADMIN_TOKEN"} <= given


def test_no_secret_ships_in_the_file_and_every_port_is_on_loopback() -> None:
    for name, service in compose()["services"].items():
        env = service.get("environment", {})
        for secret in ("GATEWAY_ADMIN_TOKEN", "GATEWAY_SECRET_KEY"):
            if secret in env:
                assert re.fullmatch(r"\$\{" + secret + r":\?[^}]+\}", env[secret]), f"{name}: {secret} has a default"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    assert "ports" not in compose()["services"]["gateway"]  # reached through nginx only (and scalable)


def test_nginx_passes_live_streams_through_unbuffered_to_any_gateway() -> None:
    conf = nginx()
    assert re.search(r"upstream gateways \{[^}]*server gateway:8000", conf)
    assert "proxy_pass http://gateways;" in conf
    assert "proxy_buffering off;" in conf
    assert "proxy_http_version 1.1;" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf
    assert "proxy_set_header Connection $connection_upgrade;" in conf
    timeout = re.search(r"proxy_read_timeout (\d+)s;", conf)
    assert timeout is not None and int(timeout.group(1)) >= 3600  # an idle stream gets a comment every 15 s
    assert not re.search(r"^\s*(sticky|ip_hash|hash)\b", conf, re.M)  # any gateway serves any stream
    listen = re.search(r"listen (\d+);", conf)
    assert listen is not None
    assert compose()["services"]["nginx"]["ports"] == [f"127.0.0.1:${{GATEWAY_PORT:-8000}}:{listen.group(1)}"]
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in compose()["services"]["nginx"]["volumes"]


def test_the_image_carries_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    for package in ("gateway", "holds", "broadcast", "store", "web"):
        assert f"COPY {package} ./{package}" in dockerfile
