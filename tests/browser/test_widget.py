"""The embeddable widget on a partner's site (another origin), against a real gateway process.

The partner page is ``web/partner-demo`` served by a second HTTP server on its own loopback
port, whose token endpoint mints booking tokens with the organisation's booking secret; the
gateway lists that origin in the organisation's ``allowed_origins``.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.accessibility import look
from tests.support import ADMIN_TOKEN, Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE_MS = 2_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def embed(staff: Any, partner_site: Any, clinic: Clinic, type_id: str | None = None) -> None:
    """Set the partner up: its origin allowed, a booking secret for its backend, the widget on its page."""
    staff.allow_origins(clinic, partner_site.url)
    partner_site.embed(clinic.doctor_id, type_id or clinic.type_30, staff.booking_secret(clinic))


def widget_slot(page: Page, start: str) -> Locator:
    return page.locator(f'booking-widget button[data-slot-start="{start}"]')


async def widget_loaded(page: Page) -> Page:
    """Wait until the widget shows its slots and its live feed is connected."""
    await expect(page.locator("booking-widget #days")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("booking-widget #live")).to_have_attribute("data-state", "live")
    return page


async def open_day_of(page: Page, start: str) -> None:
    """Choose the widget's day that holds ``start`` in its month view (only that day's times show)."""
    day = await widget_slot(page, start).evaluate("b => b.closest('[data-day]').dataset.day")
    if not await page.locator(f'booking-widget button[data-date="{day}"]').count():
        await page.locator("booking-widget").get_by_role("button", name="Next month").click()
    await page.locator(f'booking-widget button[data-date="{day}"]').click()


async def watcher_page(open_page: Any, clinic: Clinic) -> Page:
    page: Page = await open_page(f"/book/{clinic.doctor_id}?appointment_type_id={clinic.type_30}", "Asia/Tokyo")
    await expect(page.locator("#slot-days")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return page


async def test_the_widget_on_a_partner_site_books_while_the_booking_page_watches(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, partner_site: Any, open_page: Any, artifacts: Path
) -> None:
    embed(staff, partner_site, live_clinic)
    partner_site.claims |= {"name": "Ada Lovelace", "email": "ada@example.org"}
    watcher = await watcher_page(open_page, live_clinic)
    page = await widget_loaded(await open_page(partner_site.url, "America/New_York", viewport=DESKTOP))
    assert partner_site.url != live_server.url

    await expect(page.locator("booking-widget h2")).to_have_text("Book with Dr. Ada Test")
    await expect(page.locator("booking-widget #zone")).to_contain_text("America/New_York")
    start = live_clinic.at(2, 10)
    ny = datetime.fromisoformat(start).astimezone(ZoneInfo("America/New_York"))
    await open_day_of(page, start)
    await expect(widget_slot(page, start)).to_have_text(f"{ny:%H:%M}")
    await page.screenshot(path=artifacts / "widget.png")
    assert partner_site.tokens_minted == 0, "no token is needed until the visitor holds a slot"

    await widget_slot(page, start).click()
    began = time.monotonic()
    await expect(watcher.locator(f'button[data-slot-start="{start}"]')).to_have_count(0, timeout=LIVE_MS)
    assert time.monotonic() - began < LIVE_MS / 1000

    await expect(page.locator("booking-widget #hold-heading")).to_be_focused()
    await expect(page.locator("booking-widget #countdown")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    # what the partner's token says about its visitor is filled in
    await expect(page.locator("booking-widget #name")).to_have_value("Ada Lovelace")
    await expect(page.locator("booking-widget #email")).to_have_value("ada@example.org")
    # the held time stays in view, selected, with its countdown beside it
    held = widget_slot(page, start)
    await expect(held).to_be_visible()
    await expect(held).to_have_class(re.compile(r"\bheld\b"))
    await expect(held).to_have_attribute("aria-pressed", "true")
    await expect(held.locator("xpath=following-sibling::span[contains(@class, 'held-clock')]")).to_have_text(
        re.compile(r"^1[45]:\d\d$")
    )
    await look(page, "widget-held")
    await page.screenshot(path=artifacts / "widget-hold.png")
    await page.locator("booking-widget").get_by_role("button", name="Confirm booking").click()

    await expect(page.locator("booking-widget #done-heading")).to_be_focused()
    when = page.locator("booking-widget #done-time")
    await expect(when).to_contain_text(f"{ny.day} {ny:%B} {ny.year}, {ny:%H:%M}")
    await expect(when).to_contain_text("America/New_York")
    await expect(page.locator("booking-widget #done-link")).to_contain_text("10 minutes before the start")
    await expect(page.locator("booking-widget #done-link a")).to_have_count(0)  # the room is given by /join only
    await expect(page.locator("booking-widget #done-reference")).to_have_text(re.compile(r"^BK-[0-9A-F]{8}$"))
    manage = page.locator("booking-widget #done-manage-link")
    await expect(manage).to_have_attribute("href", re.compile(r"/manage/mng_"))
    await expect(manage).to_have_attribute("target", "_blank")
    async with page.context.expect_page() as opened:
        await manage.click()
    tab = await opened.value
    await expect(tab.locator("#fact-reference")).to_have_text(
        await page.locator("booking-widget #done-reference").inner_text()
    )
    await look(page, "widget-booked")
    await page.screenshot(path=artifacts / "widget-booked.png")
    assert partner_site.tokens_minted == 1

    # booked under the partner's patient reference, through its token
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.get(
            "/v1/appointments",
            params={"doctor_id": live_clinic.doctor_id},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    [booked] = r.json()["items"]
    assert (booked["start"], booked["patient"]["ref"]) == (start, "partner-patient-1")

    phone = await widget_loaded(await open_page(partner_site.url, viewport=PHONE))
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await phone.screenshot(path=artifacts / "widget-phone.png", full_page=True)


async def test_the_widget_says_when_someone_was_faster(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, partner_site: Any, open_page: Any
) -> None:
    embed(staff, partner_site, live_clinic)
    page = await open_page("about:blank")
    await page.route("**/events?*", lambda route: route.abort())  # this page hears nothing live
    await page.goto(partner_site.url)
    await expect(page.locator("booking-widget #days")).to_have_attribute("aria-busy", "false")
    start = live_clinic.at(2, 13)
    staff.book(live_clinic, start)

    await open_day_of(page, start)
    await widget_slot(page, start).click()

    await expect(page.locator("booking-widget").get_by_role("alert")).to_contain_text("Someone was faster")
    await expect(widget_slot(page, start)).to_have_count(0)
    await expect(page.locator("booking-widget #hold")).to_be_hidden()


async def test_a_lapsed_hold_is_explained_and_the_slot_comes_back(
    make_live_clinic: Any, staff: Any, partner_site: Any, open_page: Any
) -> None:
    clinic = make_live_clinic(hold_ttl_seconds=10)
    embed(staff, partner_site, clinic)
    page = await widget_loaded(await open_page(partner_site.url))
    start = clinic.at(2, 9)
    await open_day_of(page, start)
    await widget_slot(page, start).click()
    await expect(page.locator("booking-widget #countdown")).to_have_text(re.compile(r"^0:(0\d|10)$"))

    await expect(page.locator("booking-widget #lapsed")).to_be_visible(timeout=12_000)
    await expect(page.locator("booking-widget #hold-heading")).to_have_text("Your hold has lapsed")
    await expect(page.locator("booking-widget #lapsed-back")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("booking-widget #pick-heading")).to_be_focused()
    await open_day_of(page, start)
    await expect(widget_slot(page, start)).to_be_enabled(timeout=1_000 + LIVE_MS)


async def test_the_widget_works_from_the_keyboard(
    live_clinic: Clinic, staff: Any, partner_site: Any, open_page: Any
) -> None:
    embed(staff, partner_site, live_clinic)
    page = await widget_loaded(await open_page(partner_site.url))
    first = page.locator("booking-widget button[data-slot-start]").first
    await first.focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("booking-widget #hold-heading")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.locator("booking-widget #name")).to_be_focused()
    await page.keyboard.type("Alan Turing")
    await page.keyboard.press("Tab")
    await page.keyboard.type("alan@example.org")
    await page.keyboard.press("Enter")
    await expect(page.locator("booking-widget #done-heading")).to_be_focused()


async def test_a_site_the_clinic_has_not_allowed_cannot_book(
    live_clinic: Clinic, staff: Any, partner_site: Any, open_page: Any
) -> None:
    partner_site.embed(live_clinic.doctor_id, live_clinic.type_30, staff.booking_secret(live_clinic))
    page = await open_page(partner_site.url)
    await expect(page.locator("booking-widget #days")).to_contain_text("could not load the free times")
    await expect(page.locator("booking-widget button[data-slot-start]")).to_have_count(0)


async def test_widget_files_load_from_any_origin(live_server: LiveServer, live_clinic: Clinic, staff: Any) -> None:
    partner = "https://partner.example"
    staff.allow_origins(live_clinic, partner)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.get("/widget.js")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")
        assert r.headers["access-control-allow-origin"] == "*"
        assert re.fullmatch(r"public, max-age=\d+", r.headers["cache-control"])
        assert "/static/widget/element.js" in r.text
        for path in ("/static/widget/element.js", "/static/common/http.js", "/static/book/live.js"):
            r = await http.get(path, headers={"Origin": "https://elsewhere.example"})
            assert r.status_code == 200, path
            assert r.headers.get_list("access-control-allow-origin") == ["*"], path
            # an origin the gateway's CORS answers for gets its own name, once
            r = await http.get(path, headers={"Origin": partner})
            assert r.headers.get_list("access-control-allow-origin") == [partner], path


async def test_the_widget_speaks_the_visitors_language(
    live_clinic: Clinic, staff: Any, partner_site: Any, open_page: Any
) -> None:
    embed(staff, partner_site, live_clinic)
    page = await widget_loaded(await open_page(partner_site.url, locale="de-DE"))
    widget = page.locator("booking-widget")
    await expect(widget.locator("h2")).to_have_text("Termin bei Dr. Ada Test buchen")
    await expect(widget.get_by_label("Zeitzone")).to_be_visible()
    await expect(widget.locator("#pick-heading")).to_have_text("Termin wählen")
    await expect(widget.get_by_role("button", name="Vorheriger Monat")).to_be_disabled()
    await look(page, "widget-german")
