"""The accessibility check itself: it sees what axe-core sees, and fails on what matters."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser

from tests.browser.accessibility import ARTIFACTS, look

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_a_nameless_button_fails_the_check_and_a_named_one_passes(browser: Browser) -> None:
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.set_content('<!doctype html><html lang="en"><title>t</title><main><button></button></main></html>')
        with pytest.raises(AssertionError, match="button-name"):
            await look(page, "tool-bad")
        await page.set_content(
            '<!doctype html><html lang="en"><title>t</title><main><h1>Fine</h1><button>Book</button></main></html>'
        )
        assert [v for v in await look(page, "tool-good") if v["impact"] in ("serious", "critical")] == []
    finally:
        await context.close()
    assert (ARTIFACTS / "tool-good-phone.png").exists()
