"""Every Redis script is a package file (``<package>/scripts/*.lua``), never a string in Python."""

from __future__ import annotations

import re
from pathlib import Path

from holds.scripts import NAMES, package_script, source

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "holds", "broadcast", "store")


def test_no_lua_is_written_inside_python() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"redis\.call\(|redis\.pcall\(", line)
    ]
    assert found == [], "move the script into the package's scripts/ folder and load it with package_script"


def test_every_script_file_loads() -> None:
    for name in NAMES:
        assert "redis.call" in source(name)
    for package, name in (
        ("broadcast", "replay_read"),
        ("gateway", "rate_count"),
        ("gateway", "live_holds_reserve"),
    ):
        assert "KEYS[1]" in package_script(package, name)
