"""The admin page (``/admin``): sign in with the platform token and a slug, failed sign-ins that keep
what was typed and say why, patient search by part of a name or email, the link to the front desk."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.accessibility import look
from tests.support import ADMIN_TOKEN, Clinic

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

DESKTOP = {"width": 1280, "height": 1000}


async def sign_in(page: Page, token: str, organisation: str = "") -> None:
    await page.get_by_label("Admin key").fill(token)
    await page.get_by_label("Organisation slug or id").fill(organisation)
    await page.get_by_role("button", name="Sign in").click()


async def shown(page: Page) -> Page:
    await expect(page.locator("#appointment-list")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    return page


async def test_the_platform_token_signs_in_with_the_slug(live_clinic: Clinic, open_page: Any) -> None:
    page: Page = await open_page("/admin", viewport=DESKTOP)
    await look(page, "admin-signin")

    await sign_in(page, ADMIN_TOKEN, "no-such-clinic")
    await expect(page.locator("#organisation-error")).to_contain_text("No organisation has the slug “no-such-clinic”")
    await expect(page.get_by_label("Organisation slug or id")).to_be_focused()
    await expect(page.get_by_label("Organisation slug or id")).to_have_value("no-such-clinic")
    await expect(page.get_by_label("Admin key")).to_have_value(ADMIN_TOKEN)  # kept, to correct the slug
    assert await page.evaluate("sessionStorage.getItem('gateway.admin')") is None
    await look(page, "admin-signin-unknown-slug")

    await page.get_by_label("Organisation slug or id").fill(live_clinic.slug)
    await page.get_by_role("button", name="Sign in").click()
    await shown(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Clinic")
    await expect(page.get_by_label("Admin key")).to_have_value("")  # signed in: the field forgets it
    await page.reload()  # the tab remembers the organisation
    await shown(page)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Clinic")


async def test_a_wrong_key_is_kept_and_explained(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page: Page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, "gk_not-a-real-key")
    await expect(page.locator("#token-error")).to_contain_text("unknown or was revoked")
    await expect(page.get_by_label("Admin key")).to_have_value("gk_not-a-real-key")
    await expect(page.get_by_label("Admin key")).to_be_focused()
    await expect(page.get_by_label("Admin key")).to_have_attribute("aria-invalid", "true")
    await look(page, "admin-signin-unknown-key")
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    await expect(page.locator("#token-error")).to_be_hidden()


async def test_patients_are_found_by_part_of_a_name_or_email(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    hopper = staff.book(live_clinic, live_clinic.at(2, 9), name="Grace Hopper")
    staff.book(live_clinic, live_clinic.at(2, 10), name="Mary Jackson")
    staff.book(live_clinic, live_clinic.at(3, 9), name="Katherine Johnson")
    page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    rows = page.locator("#appointment-list tbody tr")
    await expect(rows).to_have_count(3)

    await page.get_by_label("Patient").fill("hopp")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_have_attribute("data-appointment-id", hopper["id"])
    await look(page, "admin-patient-search")

    await page.get_by_label("Patient").fill("JOHN")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Katherine Johnson")

    await page.get_by_label("Patient").fill("patient@EXAMPLE.org")  # a whole email, as before
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(3)

    await page.get_by_label("Patient").fill("nobody")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#appointment-list")).to_contain_text("No appointments match")
    await look(page, "admin-patient-search-empty")


async def test_the_front_desk_is_a_link_away(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    desk = page.get_by_role("navigation", name="Sections").get_by_role("link", name="Front desk")
    await expect(desk).to_have_attribute("href", "/desk")


async def test_signing_out_and_in_again_does_not_double_what_the_page_does(
    live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    page: Page = await open_page("/admin", viewport=DESKTOP)
    key = staff.admin_key(live_clinic)
    for _ in range(2):
        await sign_in(page, key)
        await shown(page)
        await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, key)
    await shown(page)
    # one "All doctors" and one of each doctor, not a copy per sign-in
    await expect(page.locator("#filter-doctor option")).to_have_count(2)
    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url) if "/v1/appointments?" in r.url else None)
    # the first load and the live stream's catch-up load the list on their own: let them finish
    seen = -1
    while seen != len(searches):
        seen = len(searches)
        await page.wait_for_timeout(700)
    searches.clear()
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#appointment-list")).to_have_attribute("aria-busy", "false")
    await page.wait_for_timeout(300)  # a doubled handler's second search would be on its way by now
    assert len(searches) == 1, searches
