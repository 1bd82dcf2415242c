"""The booking page's month view: the days with free times marked, the chosen day's times beside
the month (below it on a phone), a keyboard grid, the held time shown as selected with its
countdown, the patient's zone and 12/24-hour clock (remembered), and deep links to a day or a time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.accessibility import look
from tests.browser.test_booking_page import DESKTOP, LIVE_MS, PHONE, api_hold, book_path, loaded, show_day, slot
from tests.support import ADMIN_TOKEN, Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

BERLIN = ZoneInfo("Europe/Berlin")


def day_in(zone: str, days_ahead: int) -> str:
    return (datetime.now(ZoneInfo(zone)) + timedelta(days=days_ahead)).date().isoformat()


async def chosen_day(page: Page) -> str | None:
    return await page.locator('td[aria-selected="true"] button').get_attribute("data-date")


async def visible_starts(page: Page) -> list[str]:
    starts: list[str] = await page.locator("#slot-days button[data-slot-start]:visible").evaluate_all(
        "bs => bs.map(b => b.dataset.slotStart)"
    )
    return starts


def days_of(starts: list[str], zone: str) -> set[str]:
    return {datetime.fromisoformat(s).astimezone(ZoneInfo(zone)).date().isoformat() for s in starts}


async def test_the_month_opens_on_the_first_free_day_and_works_from_the_keyboard(
    make_live_clinic: Any, open_page: Any
) -> None:
    clinic = make_live_clinic(same_day_allowed=False)  # today has no free times: tomorrow is the first
    page = await loaded(await open_page(book_path(clinic), viewport=DESKTOP))
    tomorrow = day_in("Europe/Berlin", 1)
    assert await chosen_day(page) == tomorrow
    assert days_of(await visible_starts(page), "Europe/Berlin") == {tomorrow}
    await expect(page.locator(f'button[data-date="{day_in("Europe/Berlin", 0)}"]')).not_to_have_class(
        re.compile(r"\bfree\b")
    )
    await expect(page.locator(f'button[data-date="{tomorrow}"]')).to_have_class(re.compile(r"\bfree\b"))
    await expect(page.locator(f'button[data-date="{tomorrow}"]')).to_have_attribute(
        "aria-label", re.compile(r", \d+ free times$")
    )
    await expect(page.get_by_role("grid")).to_be_visible()
    await expect(page.get_by_role("button", name="Previous month")).to_be_disabled()
    await look(page, "booking-month")

    # desktop: the times beside the month
    month = await page.locator(".month").bounding_box()
    times = await page.locator(".day-times").bounding_box()
    assert month and times and times["x"] >= month["x"] + month["width"]

    # arrows move the chosen day, and its times follow
    await page.locator(f'button[data-date="{tomorrow}"]').focus()
    await page.keyboard.press("ArrowRight")
    after = day_in("Europe/Berlin", 2)
    await expect(page.locator(f'button[data-date="{after}"]')).to_be_focused()
    assert await chosen_day(page) == after
    assert days_of(await visible_starts(page), "Europe/Berlin") == {after}
    await page.keyboard.press("ArrowDown")
    week_on = day_in("Europe/Berlin", 9)
    await expect(page.locator(f'button[data-date="{week_on}"]')).to_be_focused()
    assert days_of(await visible_starts(page), "Europe/Berlin") == {week_on}
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("ArrowLeft")
    await page.keyboard.press("ArrowLeft")  # the grid stops at today
    await page.keyboard.press("ArrowLeft")
    await expect(page.locator(f'button[data-date="{day_in("Europe/Berlin", 0)}"]')).to_be_focused()

    # the next month: its first day with free times
    title = await page.locator(".month-title").inner_text()
    await page.get_by_role("button", name="Next month").click()
    await expect(page.locator(".month-title")).not_to_have_text(title)
    first = date.fromisoformat(tomorrow).replace(day=1) + timedelta(days=32)
    assert await chosen_day(page) == first.replace(day=1).isoformat()
    assert days_of(await visible_starts(page), "Europe/Berlin") == {first.replace(day=1).isoformat()}
    await expect(page.get_by_role("button", name="Previous month")).to_be_enabled()
    await look(page, "booking-month-next")
    await page.get_by_role("button", name="Previous month").click()
    await expect(page.locator(".month-title")).to_have_text(title)

    # a phone: the times under the month, no sideways scrolling
    phone = await loaded(await open_page(book_path(clinic), viewport=PHONE))
    month = await phone.locator(".month").bounding_box()
    times = await phone.locator(".day-times").bounding_box()
    assert month and times and times["y"] >= month["y"] + month["height"]
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_a_day_loses_its_mark_when_its_last_time_is_taken(
    live_server: LiveServer, live_clinic: Clinic, open_page: Any
) -> None:
    # One half hour on the fourth day: one free time.
    fourth = day_in("Europe/Berlin", 4)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.post(
            f"/v1/doctors/{live_clinic.doctor_id}/date-overrides",
            json={"date": fourth, "windows": [{"start_minute": 540, "end_minute": 570}]},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert r.status_code == 201, r.text
    page = await loaded(await open_page(book_path(live_clinic)))
    day = page.locator(f'button[data-date="{fourth}"]')
    await expect(day).to_have_class(re.compile(r"\bfree\b"))
    await expect(day).to_have_attribute("aria-label", re.compile(r", 1 free time$"))
    await day.click()
    await expect(page.locator("#slot-days button[data-slot-start]:visible")).to_have_count(1)

    hold = await api_hold(live_server, live_clinic, live_clinic.type_30, live_clinic.at(4, 9))

    await expect(day).not_to_have_class(re.compile(r"\bfree\b"), timeout=LIVE_MS)
    await expect(day).to_have_attribute("aria-label", re.compile(r", No free times$"))
    await expect(page.locator(".day-empty")).to_be_visible()
    await expect(page.locator(".day-empty")).to_contain_text("No free times on this day")
    await look(page, "booking-day-empty")

    # let go, the day is marked again
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.delete(f"/v1/holds/{hold['hold_id']}", headers={"X-Hold-Token": hold["hold_token"]})
        assert r.status_code == 204
    await expect(day).to_have_class(re.compile(r"\bfree\b"), timeout=LIVE_MS)
    await expect(slot(page, live_clinic.at(4, 9))).to_be_visible()


async def test_the_held_time_is_shown_selected_with_its_countdown(live_clinic: Clinic, open_page: Any) -> None:
    page = await loaded(await open_page(book_path(live_clinic), viewport=DESKTOP))
    start = live_clinic.at(2, 10)
    await show_day(page, start)
    await slot(page, start).click()
    await expect(page.locator("#hold")).to_be_visible()

    held = slot(page, start)
    await expect(held).to_have_count(1)  # our own hold's event does not take it from us
    await expect(held).to_have_class(re.compile(r"\bheld\b"))
    await expect(held).to_have_attribute("aria-pressed", "true")
    await expect(held).to_have_attribute("aria-label", re.compile(r"held for you$"))
    await expect(held.locator("xpath=following-sibling::span[contains(@class, 'held-clock')]")).to_have_text(
        re.compile(r"^1[45]:\d\d$")
    )
    shown = await page.locator("#hold-countdown").inner_text()
    await expect(held.locator("xpath=following-sibling::span[contains(@class, 'held-clock')]")).not_to_have_text(
        shown, timeout=3_000
    )  # it ticks
    await expect(slot(page, live_clinic.at(2, 10, 30))).not_to_have_class(re.compile(r"\bheld\b"))
    await look(page, "booking-held")

    await page.get_by_role("button", name="Cancel hold").click()
    await expect(slot(page, start)).not_to_have_class(re.compile(r"\bheld\b"))
    await expect(slot(page, start)).to_be_enabled()


async def test_the_zone_and_the_clock_are_the_patients_and_remembered(live_clinic: Clinic, open_page: Any) -> None:
    page = await loaded(await open_page(book_path(live_clinic), "America/New_York", viewport=PHONE))
    zone = page.get_by_label("Time zone")
    clock = page.get_by_label("Clock")
    await expect(zone).to_have_value("America/New_York")  # the browser's
    await expect(clock).to_have_value("24")  # en-GB reads 24 hours
    first = await zone.locator("option").first.get_attribute("value")
    assert first == "Europe/Berlin"  # the doctor's zone first
    assert await zone.locator("option").count() > 300  # every IANA zone
    start = live_clinic.at(2, 9)
    await show_day(page, start)
    await expect(slot(page, start)).to_have_text(
        datetime.fromisoformat(start).astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    )

    await clock.select_option("12")
    await expect(slot(page, start)).to_have_text(re.compile(r"^\d\d:\d\d\s?[ap]m$", re.I))
    await zone.select_option("Asia/Tokyo")
    await expect(page.locator("#zone-name")).to_contain_text("Asia/Tokyo")
    tokyo = datetime.fromisoformat(start).astimezone(ZoneInfo("Asia/Tokyo"))
    await show_day(page, start)
    await expect(slot(page, start)).to_have_text(re.compile(rf"^{tokyo:%I:%M}\s?{tokyo:%p}$", re.I))
    # no time wraps inside its button, even at phone width in 12 hours
    wrapped = await page.locator("#slot-days .slot-time:visible").evaluate_all(
        "spans => spans.filter(s => s.getClientRects().length !== 1).length"
    )
    assert wrapped == 0
    await look(page, "booking-12-hour-tokyo")

    await page.reload()
    await loaded(page)
    await expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    await expect(page.get_by_label("Clock")).to_have_value("12")


async def test_an_american_browser_reads_12_hours(live_clinic: Clinic, open_page: Any) -> None:
    page = await loaded(await open_page(book_path(live_clinic), "America/Chicago", locale="en-US"))
    await expect(page.get_by_label("Clock")).to_have_value("12")
    await expect(page.locator("#slot-days button[data-slot-start]:visible").first).to_have_text(
        re.compile(r"[AP]M$", re.I)
    )


async def test_a_deep_link_opens_its_day_or_holds_its_time(
    live_server: LiveServer, live_clinic: Clinic, open_page: Any
) -> None:
    sixth = day_in("Europe/Berlin", 6)
    page = await loaded(await open_page(f"{book_path(live_clinic)}&day={sixth}"))
    assert await chosen_day(page) == sixth
    assert days_of(await visible_starts(page), "Europe/Berlin") == {sixth}

    start = live_clinic.at(3, 11)
    page = await loaded(await open_page(f"{book_path(live_clinic)}&start={start}", viewport=DESKTOP))
    await expect(page.locator("#hold")).to_be_visible()
    await expect(page.locator("#hold-heading")).to_be_focused()
    await expect(slot(page, start)).to_have_class(re.compile(r"\bheld\b"))
    assert await chosen_day(page) == day_in("Europe/Berlin", 3)
    await look(page, "booking-deep-link-held")

    # a time that is gone meanwhile: said so, its day shown
    taken = live_clinic.at(3, 12)
    await api_hold(live_server, live_clinic, live_clinic.type_30, taken)
    page = await loaded(await open_page(f"{book_path(live_clinic)}&start={taken}"))
    await expect(page.get_by_role("alert")).to_contain_text("no longer free")
    await expect(page.locator("#hold")).to_be_hidden()
    assert await chosen_day(page) == day_in("Europe/Berlin", 3)

    # a link written by hand with an offset, its "+" not encoded (the query string reads a space)
    later = live_clinic.at(3, 14)
    page = await loaded(await open_page(f"{book_path(live_clinic)}&start={later.replace('Z', '+00:00')}"))
    await expect(slot(page, later)).to_have_class(re.compile(r"\bheld\b"))


GERMAN_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"


async def test_a_german_browser_gets_one_language_german(live_clinic: Clinic, open_page: Any) -> None:
    page = await loaded(await open_page(book_path(live_clinic), locale="de-DE", viewport=DESKTOP))
    assert await page.evaluate("document.documentElement.lang") == "de"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Termin bei Dr. Ada Test buchen")
    await expect(page.locator(".month-title")).to_have_text(re.compile(rf"^({GERMAN_MONTHS}) \d{{4}}$"))
    await expect(page.get_by_label("Zeitzone")).to_be_visible()
    await expect(page.get_by_role("button", name="Nächster Monat")).to_be_visible()
    await expect(page.locator(".day-title")).to_have_text(re.compile(r"^((Heute|Morgen), )?[A-Z][a-z]+, \d+\. "))
    first = page.locator("#slot-days button[data-slot-start]:visible").first
    await expect(first).to_have_attribute("aria-label", re.compile(r"\d\d:\d\d bis \d\d:\d\d$"))
    text = await page.locator("main").inner_text()
    for english in ("Today", "Tomorrow", "Pick a time", "How it works", "Time zone", "minutes"):
        assert english not in text, english
    await look(page, "booking-german")

    await first.click()
    await expect(page.locator("#hold-heading")).to_have_text("Dieser Termin ist für Sie reserviert")
    await page.get_by_role("button", name="Buchung bestätigen").click()
    await expect(page.locator("#patient-name-error")).to_have_text("Bitte geben Sie Ihren Namen ein.")
    await look(page, "booking-german-held")


async def test_a_language_we_do_not_ship_gets_english(live_clinic: Clinic, open_page: Any) -> None:
    page = await loaded(await open_page(book_path(live_clinic), locale="fr-FR"))
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.get_by_role("heading", level=1)).to_have_text("Book with Dr. Ada Test")
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    await expect(page.locator(".month-title")).to_have_text(re.compile(rf"^({months}) \d{{4}}$"))
