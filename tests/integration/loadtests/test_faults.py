"""The fault suite runs in the suite too, smaller: each fault on throwaway servers of its own,
under a swarm, and its verdict must be OK (``make faults`` runs them at full size)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from loadtests.faults import FAULTS


@pytest.mark.timeout(300)
@pytest.mark.parametrize("fault", FAULTS)
def test_the_fault_is_survived(fault: str) -> None:
    command = [sys.executable, "-m", "loadtests.faults", "--only", fault, "--users", "12", "--streams", "200"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=280, check=False)
    output = done.stdout + done.stderr[-3000:]
    assert f"{fault}: OK" in done.stdout, output
    assert done.returncode == 0, output
