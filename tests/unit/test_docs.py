"""The design notes the code cites are in the repository, and say what the code says they do.

Comments and docstrings cite "design invariant N" (or "invariant N"), and sections of
``docs/design.md`` by their heading in quotes after ``design.md,``. A citation of an invariant or
section the notes do not have fails here, naming the file and line, so the notes and the code
cannot drift apart silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "design.md"
SOURCES = ("store", "holds", "broadcast", "gateway", "web", "loadtests", "tests")
SUFFIXES = {".py", ".lua", ".sql", ".js", ".css", ".html"}

INVARIANT = re.compile(r"\binvariants? (\d+)(?:(?:, | and )(\d+))*", re.IGNORECASE)
NUMBER = re.compile(r"\d+")
SECTION = re.compile(r"""design\.md, ["“]([^"”]+)["”]""")


def citations(pattern: re.Pattern[str]) -> Iterator[tuple[str, re.Match[str]]]:
    """Every match of ``pattern`` in the sources, as ``(file:line, match)``."""
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for match in pattern.finditer(line):
                    yield f"{path.relative_to(ROOT).as_posix()}:{number}", match


def test_the_design_notes_are_in_the_repository() -> None:
    assert DESIGN.is_file(), "docs/design.md is missing: the code cites it"
    assert len(DESIGN.read_text(encoding="utf-8").splitlines()) <= 150, "keep docs/design.md short"


def test_every_cited_invariant_is_in_the_design_notes() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    numbered = {int(n) for n in re.findall(r"^(\d+)\. \*\*", text, flags=re.MULTILINE)}
    cited = list(citations(INVARIANT))
    assert cited, "no citations found: the pattern no longer matches how the code cites invariants"
    missing = [
        f"{where}: {match[0]}"
        for where, match in cited
        if any(int(n) not in numbered for n in NUMBER.findall(match[0]))
    ]
    assert not missing, "cited invariants docs/design.md does not have:\n" + "\n".join(missing)


def test_every_cited_section_is_in_the_design_notes() -> None:
    text = DESIGN.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ (.+?)\s*$", text, flags=re.MULTILINE))
    missing = [f"{where}: {match[0]}" for where, match in citations(SECTION) if match[1] not in headings]
    assert not missing, "cited sections docs/design.md does not have:\n" + "\n".join(missing)
