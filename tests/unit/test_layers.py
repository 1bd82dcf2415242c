"""Layers point one way (docs/design.md, "Packages and layers").

``store``, ``holds`` and ``broadcast`` are the lower layer: they know nothing of the HTTP app
(``gateway``), the faces (``web``), the load tests or the tests, and they do not import each
other in a circle. The check reads the source with :mod:`ast` (nothing is imported or run), so
it also sees imports inside functions and ``if TYPE_CHECKING:`` blocks, the usual places a
wrong-way import hides. The faces follow the same rule: ``web/common/`` is what the booking page,
the widget and the staff pages are built on, and it imports none of them. A failure names the
file and line of every offending import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOWER = ("store", "holds", "broadcast")
"""The lower layer, each package on its own."""
HIGHER = ("gateway", "web", "loadtests", "tests")
"""What the lower layer must never import."""


def module_name(root: Path, path: Path) -> str:
    """``store/pool.py`` -> ``store.pool``; ``store/__init__.py`` -> ``store``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(root: Path, path: Path) -> Iterator[tuple[str, int]]:
    """Every module ``path`` imports, anywhere in the file, as ``(dotted name, line)``.

    Relative imports are resolved against the file's own package, so ``from ..x import y`` is
    judged like its absolute spelling.
    """
    here = module_name(root, path)
    package = here.split(".") if path.name == "__init__.py" else here.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            yield name, node.lineno


def lower_layer_files(root: Path) -> Iterator[tuple[str, Path]]:
    """Every Python file of the lower layer, with its package."""
    for package in LOWER:
        for path in sorted((root / package).rglob("*.py")):
            yield package, path


def wrong_way_imports(root: Path) -> list[str]:
    """Imports of a higher layer by a lower one, as ``file:line: what``."""
    found = []
    for package, path in lower_layer_files(root):
        for name, line in imported_modules(root, path):
            if name.split(".")[0] in HIGHER:
                where = path.relative_to(root).as_posix()
                found.append(f"{where}:{line}: {package} imports {name} (a higher layer)")
    return found


def import_cycles(root: Path) -> list[str]:
    """Circles among the lower packages, each as the chain of imports that closes it."""
    # package -> package it imports -> the first place it does so
    edges: dict[str, dict[str, str]] = {package: {} for package in LOWER}
    for package, path in lower_layer_files(root):
        for name, line in imported_modules(root, path):
            target = name.split(".")[0]
            if target in LOWER and target != package:
                edges[package].setdefault(target, f"{path.relative_to(root).as_posix()}:{line}")

    cycles: set[tuple[str, ...]] = set()

    def walk(package: str, trail: list[str]) -> None:
        for target in edges[package]:
            if target in trail:
                loop = trail[trail.index(target) :]
                first = loop.index(min(loop))  # one spelling per circle, whichever package it starts at
                cycles.add(tuple(loop[first:] + loop[:first]))
            else:
                walk(target, [*trail, target])

    for package in LOWER:
        walk(package, [package])
    return [
        " -> ".join(f"{a} ({edges[a][b]})" for a, b in zip(loop, [*loop[1:], loop[0]], strict=True)) + f" -> {loop[0]}"
        for loop in sorted(cycles)
    ]


def test_the_lower_layer_imports_nothing_above_it() -> None:
    found = wrong_way_imports(ROOT)
    assert not found, "lower layers import higher ones:\n" + "\n".join(found)


def test_the_lower_packages_do_not_import_each_other_in_a_circle() -> None:
    found = import_cycles(ROOT)
    assert not found, "import circles among store, holds and broadcast:\n" + "\n".join(found)


def web_imports(root: Path) -> Iterator[tuple[str, int, str]]:
    """Every ES module import of the faces (``web/**/*.js``) as ``(file, line, resolved path)``."""
    web = root / "web"
    for path in sorted(web.rglob("*.js")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for target in IMPORT_FROM.findall(text):
                resolved = (path.parent / target).resolve()
                yield path.relative_to(root).as_posix(), number, resolved.relative_to(root.resolve()).as_posix()


IMPORT_FROM = re.compile(r"""^\s*(?:import|export)\b[^"']*?\bfrom\s+["'](\.{1,2}/[^"']+)["']""")
"""A static ``import … from "./x.js"`` (or re-export) with a relative path, as the faces write them."""


def test_web_common_is_built_on_nothing_but_itself() -> None:
    # The faces (book, widget, doctor, admin) build on web/common/; common never reaches into a face.
    found = [
        f"{where}:{line}: imports {target}"
        for where, line, target in web_imports(ROOT)
        if where.startswith("web/common/") and not target.startswith("web/common/")
    ]
    assert not found, "web/common/ imports a face's module:\n" + "\n".join(found)


SQL = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS|LISTEN|NOTIFY)\s")
"""A string that is a statement for Postgres (written in capitals, as every query here is)."""


def sql_outside_store(root: Path) -> list[str]:
    """String constants in ``gateway/`` that are SQL statements, as ``file:line: start``: queries
    belong to ``store/``, named and typed, where the schema they depend on is."""
    found = []
    for path in sorted((root / "gateway").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL.match(node.value):
                where = path.relative_to(root).as_posix()
                found.append(f"{where}:{node.lineno}: {node.value[:40]!r}")
    return found


def test_sql_lives_in_store_only() -> None:
    found = sql_outside_store(ROOT)
    assert not found, "SQL outside store/ (move it into a store repository):\n" + "\n".join(found)


DOMAINS = ("appointments", "booking", "clinic", "desk", "live", "reminders", "reviews", "trust", "webhooks")
"""The domain packages of ``gateway/``: each with endpoints, service and schemas."""
SHARED_FROM_NOTIFY = ("gateway.notify.links",)
"""What of ``gateway.notify`` a domain may use: the signed manage links, not the worker."""


def domains_importing_delivery(root: Path) -> list[str]:
    """Imports of the outbox worker and its channels from a domain package, as ``file:line``:
    delivery depends on the domains it delivers for (reminders, webhooks), never the reverse."""
    found = []
    for domain in DOMAINS:
        for path in sorted((root / "gateway" / domain).rglob("*.py")):
            for name, line in imported_modules(root, path):
                if name.startswith("gateway.notify") and name not in SHARED_FROM_NOTIFY:
                    found.append(f"{path.relative_to(root).as_posix()}:{line}: imports {name}")
    return found


def test_domain_packages_have_the_same_parts_and_never_import_delivery() -> None:
    for domain in DOMAINS:
        if domain == "live":  # streams: endpoints and the protocol modules, no service of their own
            continue
        parts = {path.name for path in (ROOT / "gateway" / domain).glob("*.py")}
        assert {"endpoints.py", "service.py", "schemas.py"} <= parts, f"gateway/{domain}/ has {sorted(parts)}"
    found = domains_importing_delivery(ROOT)
    assert not found, "a domain package imports the outbox worker:\n" + "\n".join(found)


def test_a_domain_importing_the_worker_is_named(tmp_path: Path) -> None:
    root = write(tmp_path, {"gateway/reminders/service.py": "from gateway.notify.worker import Worker\n"})
    (root / "gateway" / "notify").mkdir(exist_ok=True)
    assert domains_importing_delivery(root) == ["gateway/reminders/service.py:1: imports gateway.notify.worker"]


# --- the checks themselves, on a made-up tree ---------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name in (*LOWER, *HIGHER):
        (root / name).mkdir(exist_ok=True)
        (root / name / "__init__.py").touch()
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "source",
    [
        "from gateway.settings import Settings\n",
        "import gateway.settings\n",
        "def later():\n    from web import pages\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import loadtests.bench\n",
        "from ..gateway import app\n",
    ],
)
def test_a_wrong_way_import_is_named_with_its_file_and_line(tmp_path: Path, source: str) -> None:
    root = write(tmp_path, {"store/pool.py": '"""Pool."""\n' + source})
    line = 1 + source.count("\n")  # the import is the file's last line
    [found] = wrong_way_imports(root)
    assert found.startswith(f"store/pool.py:{line}: store imports ")


def test_imports_that_point_down_or_stay_inside_pass(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "broadcast/hub.py": "from holds.keys import Keys\nfrom broadcast.events import Envelope\nimport redis\n",
            "holds/engine.py": "from . import keys\nfrom .keys import Keys\n",
            "gateway/app.py": "from store.pool import open_pool\n",
        },
    )
    assert wrong_way_imports(root) == []
    assert import_cycles(root) == []


def test_a_circle_is_named_with_the_imports_that_close_it(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "broadcast/hub.py": "from holds.keys import Keys\n",
            "holds/engine.py": '"""Engine."""\n\ndef warm():\n    from store.pool import open_pool\n',
            "store/pool.py": "import broadcast.hub\n",
        },
    )
    assert import_cycles(root) == [
        "broadcast (broadcast/hub.py:1) -> holds (holds/engine.py:4) -> store (store/pool.py:1) -> broadcast"
    ]


def test_sql_in_the_app_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "gateway/service.py": (
                '"""Service."""\n\nasync def f(db):\n    """Select the doctor."""\n'
                '    await db.execute("SELECT pg_advisory_xact_lock($1)", 1)\n'
            ),
            "gateway/other.py": 'TEXT = "Selected times are shown in your zone."\n',
        },
    )
    assert sql_outside_store(root) == ["gateway/service.py:5: 'SELECT pg_advisory_xact_lock($1)'"]
