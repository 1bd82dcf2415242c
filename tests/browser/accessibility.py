"""Every page state is looked at twice: by axe-core, and in screenshots at desktop and phone size.

``look(page, "booking-held")`` takes ``test-artifacts/booking-held-desktop.png`` and
``…-phone.png``, runs axe-core (``tests/browser/axe/``, installed from the npm registry by
``make browser``) at both sizes, keeps its findings in ``test-artifacts/axe/<state>.json`` and
fails the test on any serious or critical violation. axe is evaluated through the DevTools
protocol, which the pages' Content-Security-Policy does not govern, so the pages are audited
exactly as they are served.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, ViewportSize

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SIZES: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")

_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }));
}"""


async def audit(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): `make browser` installs it from the npm registry", pytrace=False)
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(_RUN)
    return found


async def look(page: Page, state: str) -> list[dict[str, Any]]:
    """Screenshots at both sizes and an axe-core audit at each; fails on serious or critical findings.

    Returns:
        Every finding (minor and moderate ones included), for a test that wants to say more.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "axe").mkdir(exist_ok=True)
    before = page.viewport_size
    findings: list[dict[str, Any]] = []
    try:
        for size, viewport in SIZES.items():
            await page.set_viewport_size(viewport)
            await page.wait_for_timeout(50)  # one layout pass at the new size
            await page.screenshot(path=ARTIFACTS / f"{state}-{size}.png", full_page=True)
            findings += [v | {"size": size} for v in await audit(page)]
    finally:
        if before is not None:
            await page.set_viewport_size(before)
    (ARTIFACTS / "axe" / f"{state}.json").write_text(json.dumps(findings, indent=2), encoding="utf-8")
    blocking = [v for v in findings if v["impact"] in BLOCKING]
    assert not blocking, f"{state}: axe-core finds serious or critical problems: {json.dumps(blocking, indent=2)}"
    return findings
