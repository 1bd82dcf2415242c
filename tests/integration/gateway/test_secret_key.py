"""``gateway serve`` refuses the public development key and short keys unless ``GATEWAY_DEV=on``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.devservers import _local_secret_key
from gateway.settings import Settings
from tests.support import settings_env, start_server


def serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", "9"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("key", [None, "", "short-key", "x" * 31])
def test_serve_refuses_a_missing_or_short_secret_key(settings: Settings, key: str | None) -> None:
    env = settings_env(settings) | {"GATEWAY_DEV": "off"}
    env.pop("GATEWAY_SECRET_KEY")
    if key is not None:
        env["GATEWAY_SECRET_KEY"] = key
    done = serve(env)
    assert done.returncode == 2
    assert "GATEWAY_SECRET_KEY" in done.stderr and "refusing to serve" in done.stderr


def test_the_served_factory_refuses_too() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    code = "from gateway.app import create_served_app; create_served_app()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "refusing to serve" in done.stderr


def test_dev_mode_serves_with_the_development_key(settings: Settings, tmp_path: Path) -> None:
    server = start_server(settings, str(tmp_path), {"GATEWAY_SECRET_KEY": "", "GATEWAY_DEV": "on"})
    try:
        assert "insecure development key" in server.log()
    finally:
        server.stop()


def test_make_run_generates_and_keeps_a_key_for_its_data(tmp_path: Path) -> None:
    first = _local_secret_key(tmp_path)
    assert len(first.encode()) >= 32
    assert _local_secret_key(tmp_path) == first
    assert (tmp_path / "secret-key").stat().st_mode & 0o077 == 0


def test_compose_ships_no_known_token_or_key() -> None:
    lines = (Path(__file__).parents[3] / "docker-compose.yml").read_text().splitlines()
    for name in ("GATEWAY_ADMIN_TOKEN", "GATEWAY_SECRET_KEY"):
        (line,) = [x.strip() for x in lines if x.strip().startswith(f"{name}:")]
        assert line.startswith(f"{name}: ${{{name}:?"), line  # required from the environment, no default
