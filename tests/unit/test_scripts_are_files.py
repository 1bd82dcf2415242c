"""Every Redis script is a package file (``<package>/scripts/*.lua``) declared once in the registry
(``holds/scripts.py``): its ``ARGV`` are the fields of its argument struct, in order, and every
key it touches arrives in ``KEYS``."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

import broadcast.replay
import gateway.abuse
import gateway.ratelimit
import holds.scripts
from holds.scripts import REGISTRY, Script, package_script

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "holds", "broadcast", "store")
MODULES = (holds.scripts, broadcast.replay, gateway.ratelimit, gateway.abuse)
"""The modules that declare scripts (imported above, so the registry holds them all)."""

REGISTRY_HOME = {"holds/scripts.py", "holds/batch.py"}
"""Where scripts are declared and sent (EVALSHA)."""
KEYLESS = {"TIME", "PUBLISH", "SPUBLISH"}
"""Commands whose first argument is not a key (a channel, or nothing)."""


def python_files() -> list[Path]:
    return [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]


def test_no_lua_is_written_inside_python() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in python_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"redis\.call\(|redis\.pcall\(", line)
    ]
    assert found == [], "move the script into the package's scripts/ folder and declare it as a holds.scripts.Script"


def test_every_script_goes_through_the_registry() -> None:
    files = {
        f"{path.parent.parent.name}/{path.stem}"
        for package in PACKAGES
        for path in (ROOT / package).glob("scripts/*.lua")
        if not path.stem.startswith("_")
    }
    assert files == set(REGISTRY), "each scripts/*.lua file is declared once as a holds.scripts.Script"
    bypasses = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in python_files()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"register_script\(|\.evalsha\(|\.eval\(|\bEVAL(SHA)?\b", line)
        and path.relative_to(ROOT).as_posix() not in REGISTRY_HOME
    ]
    assert bypasses == [], "scripts are called only as Batcher.run(SCRIPT.call(keys, args))"


def argv_names(text: str) -> list[str]:
    """The names of the ``-- ARGV: a, b, c...`` header (continued on ``--`` lines that follow)."""
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("-- ARGV:"))
    header = lines[start].removeprefix("-- ARGV:")
    for line in lines[start + 1 :]:
        if not re.match(r"--\s{3,}\w", line):
            break
        header += "," + line.removeprefix("--")
    names = []
    for part in header.split(","):
        match = re.match(r"\s*(\w+)", part)
        if match:
            names.append(match.group(1))
    return names


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_argv_header_names_the_argument_struct_fields_in_order(name: str) -> None:
    script = REGISTRY[name]
    own = script.script.removeprefix(package_script("holds", "_lib"))  # after the shared helpers, if prepended
    fields = [field.name for field in msgspec.structs.fields(script.args)]
    assert argv_names(own) == fields


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_key_a_script_touches_arrives_in_keys(name: str) -> None:
    """The first argument of every keyed command is ``KEYS[..]`` or a local taken from ``KEYS``
    (``d.seq``, ``hkey``), never a name put together inside the script."""
    text = REGISTRY[name].script
    for command, first in re.findall(r"redis\.call\('(\w+)'(?:,\s*([^,)]+))?", text):
        if command.upper() in KEYLESS:
            continue
        assert re.fullmatch(r"KEYS\[[^\]]+\]|unpack\(KEYS.*|d\.\w+|hkey", first.strip()), (
            f"{name}: {command} {first} is not a key from KEYS"
        )
    assert ".. 'hold:'" not in text and "base .." not in text


def test_script_declarations_hold_the_file_text() -> None:
    hold = REGISTRY["holds/hold"]
    assert isinstance(hold, Script)
    assert "local function announce" in hold.script, "the shared helpers are prepended"
    assert "local function announce" not in REGISTRY["holds/warm"].script
    assert all(module.__name__ for module in MODULES)
    with pytest.raises(ValueError, match="declared twice"):
        Script("holds", "hold", holds.scripts.HoldArgs, lambda reply: reply)
