"""Routes reach the process's services one way, declared once in ``gateway/deps.py``."""

from __future__ import annotations

import re
from pathlib import Path

GATEWAY = Path(__file__).resolve().parents[3] / "gateway"
DECLARED_IN = {"deps.py", "state.py"}


def sources() -> list[Path]:
    return sorted(p for p in GATEWAY.rglob("*.py") if p.name not in DECLARED_IN)


def test_dependencies_are_declared_only_in_deps() -> None:
    found = [
        f"{p.relative_to(GATEWAY)}:{n}"
        for p in sources()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"NamedDependency\[|\bProvide\(", line)
    ]
    assert found == [], "declare dependencies in gateway/deps.py and import its aliases"


def test_nothing_reads_the_services_from_the_app_state_but_the_accessor() -> None:
    found = [
        f"{p.relative_to(GATEWAY)}:{n}"
        for p in sources()
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"state\.services\b", line) and not line.strip().startswith("app.state.services = ")
    ]
    assert found == [], "use gateway.state.services_of (or a dependency from gateway/deps.py)"
