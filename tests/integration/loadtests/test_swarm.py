"""The locustfile works: a tiny bounded headless swarm against a served gateway passes the consistency check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gateway.settings import Settings
from tests.support import LiveServer, settings_env

LOCUSTFILE = Path(__file__).parents[3] / "loadtests" / "locustfile.py"


def test_a_small_swarm_books_and_the_consistency_check_says_ok(
    settings: Settings, live_server: LiveServer, tmp_path: Path
) -> None:
    holds = tmp_path / "holds.txt"
    env = settings_env(settings) | {"LOAD_HOLDS_FILE": str(holds)}
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary",
        "--host", live_server.url, "-u", "10", "-r", "10", "--run-time", "8s", "--stop-timeout", "1",
        "--hold-ttl", "10", "--swarm-doctors", "2",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=90, check=False)
    output = done.stdout + done.stderr
    assert "consistency: OK" in output, output[-4000:]
    assert done.returncode == 0, output[-4000:]
    made = holds.read_text().splitlines()
    assert made, output[-4000:]
    assert f"holds: {len(made)} made by the swarm" in output
    assert "overlaps: 0 among" in output
