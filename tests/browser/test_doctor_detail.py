"""The doctor page (``/doctor``): join on the first click with popups blocked, an appointment's
detail with its history, cancel with a reason, filters by status and dates, custom-hour days (shown, added, removed)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, async_playwright, expect

from gateway.settings import Settings
from tests.browser.accessibility import look
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.integration.appointments.lifecycle_support import insert_past
from tests.support import ADMIN_TOKEN, Clinic, LiveServer, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ROOMS = "http://127.0.0.1:9/room/"
DESKTOP = {"width": 1280, "height": 1000}
LIVE_MS = 2_000


@pytest.fixture
def live_server(settings: Settings, tmp_path: Any) -> Iterator[LiveServer]:
    """This module's gateway: the usual one, with rooms that never leave the machine."""
    server = start_server(settings, str(tmp_path), {"GATEWAY_MEETING_URL_TEMPLATE": ROOMS + "{room}"})
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def strict_browser() -> AsyncIterator[Browser]:
    """Chromium as people run it: with its popup blocker on (Playwright turns it off by default)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-popup-blocking"],
        )
        yield launched
        await launched.close()


async def signed_in(page: Page, token: str) -> Page:
    await page.get_by_label("Doctor token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#agenda")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    return page


def row(page: Page, appointment_id: str) -> Any:
    return page.locator(f'#agenda [data-appointment-id="{appointment_id}"]')


def local_day(clinic: Clinic, instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(ZoneInfo(clinic.timezone)).date().isoformat()


async def test_join_opens_the_room_on_the_first_click_with_popups_blocked(
    strict_browser: Browser, live_server: LiveServer, live_clinic: Clinic, settings: Settings, staff: Any
) -> None:
    began = await insert_past(settings, live_clinic, timedelta(minutes=-25))  # started 5 minutes ago
    context = await strict_browser.new_context(base_url=live_server.url, timezone_id="Europe/Berlin", locale="en-GB")
    try:
        errors: list[str] = []

        async def room(route: Route) -> None:
            await route.fulfill(status=200, content_type="text/html", body="<title>Consultation room</title>")

        async def slow_gateway(route: Route) -> None:
            # Chromium lets a page open a window up to 5 s after a click; a /join answer that
            # takes longer (a slow network) must still open the room.
            await asyncio.sleep(5.5)
            await route.continue_()

        await context.route(f"{ROOMS}**", room)
        await context.route("**/v1/appointments/*/join", slow_gateway)
        page = await context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto("/doctor")
        await signed_in(page, staff.doctor_token(live_clinic.doctor_id))
        join = row(page, began).get_by_role("button", name=re.compile("^Join the call"))
        await expect(join).to_be_enabled()
        async with page.expect_popup() as popup_info:
            await join.click()
        popup = await popup_info.value
        await expect(popup).to_have_url(re.compile(f"^{re.escape(ROOMS)}[0-9a-f]{{24}}$"), timeout=10_000)
        await expect(popup).to_have_title("Consultation room")
        assert await popup.evaluate("window.opener") is None
        await expect(page.locator("#status")).to_contain_text("opened in a new window")
        link = row(page, began).get_by_role("link", name="Open the call")
        await expect(link).to_have_attribute("href", popup.url)  # to open it again
        await look(page, "doctor-joined")
        assert not errors, errors
    finally:
        await context.close()


async def test_a_refused_join_closes_the_window_and_says_why(
    live_clinic: Clinic, staff: Any, open_page: Any, settings: Settings
) -> None:
    booked = staff.book(live_clinic, live_clinic.at(2, 10))
    start = datetime.fromisoformat(booked["start"])
    page: Page = await open_page("about:blank")
    await page.clock.install()
    await page.goto("/doctor")
    await signed_in(page, staff.doctor_token(live_clinic.doctor_id))
    await page.clock.set_system_time(start - timedelta(minutes=5))
    await page.clock.fast_forward(20_000)
    join = row(page, booked["id"]).get_by_role("button", name=re.compile("^Join the call"))
    await expect(join).to_be_enabled()
    async with page.expect_popup() as popup_info:
        await join.click()  # the gateway's clock says: two days away
    popup = await popup_info.value
    for _ in range(100):
        if popup.is_closed():
            break
        await asyncio.sleep(0.05)
    assert popup.is_closed()
    await expect(page.get_by_role("alert")).to_contain_text("can be joined from")


async def test_detail_history_and_cancel_with_a_reason(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    first = staff.book(live_clinic, live_clinic.at(2, 10), name="Grace Hopper")
    moved = staff.reschedule(first, live_clinic.at(2, 11))
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    await row(page, moved["id"]).get_by_role("button", name=re.compile("^Details")).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#detail-heading")).to_be_focused()
    await expect(dialog.locator("#detail-facts")).to_contain_text("Grace Hopper")
    await expect(dialog.locator("#history li")).to_have_count(1)
    await look(page, "doctor-detail")

    # the earlier appointment, with its own history
    await dialog.get_by_role("button", name="the earlier appointment").click()
    await expect(dialog.locator("#history")).to_contain_text("Confirmed → Moved")
    await expect(dialog.get_by_role("button", name="Cancel appointment")).to_be_hidden()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()

    await row(page, moved["id"]).get_by_role("button", name=re.compile("^Details")).click()
    await dialog.get_by_role("button", name="Cancel appointment").click()  # no reason: the gateway's 422
    await expect(dialog.locator("#cancel-reason-error")).to_contain_text("Please give a reason")
    await expect(dialog.get_by_label(re.compile("^Reason"))).to_be_focused()
    await expect(dialog.get_by_label(re.compile("^Reason"))).to_have_attribute("aria-invalid", "true")
    await look(page, "doctor-detail-reason-required")
    await dialog.get_by_label(re.compile("^Reason")).fill("I am at a conference")
    await dialog.get_by_role("button", name="Cancel appointment").click()
    await expect(dialog.locator("#detail-status")).to_contain_text("Cancelled")
    await expect(dialog.locator("#detail-facts")).to_contain_text("I am at a conference")
    await expect(dialog.locator("#history")).to_contain_text("Confirmed → Cancelled by doctor")
    await expect(dialog.locator("#history")).to_contain_text("I am at a conference")
    await look(page, "doctor-detail-cancelled")
    await dialog.get_by_role("button", name="Close").click()
    await expect(row(page, moved["id"])).to_have_count(0, timeout=LIVE_MS)


async def test_filters_by_status_and_dates(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    soon = staff.book(live_clinic, live_clinic.at(1, 9), name="Katherine Johnson")
    later = staff.book(live_clinic, live_clinic.at(20, 9), name="Mary Jackson")
    dropped = staff.book(live_clinic, live_clinic.at(21, 9), name="Dorothy Vaughan")
    staff.cancel(dropped["id"], "patient moved away")
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    await expect(row(page, soon["id"])).to_be_visible()
    await expect(row(page, later["id"])).to_have_count(0)  # beyond this week

    await page.get_by_label("First day").fill(local_day(live_clinic, later["start"]))
    await page.get_by_label("Last day").fill(local_day(live_clinic, dropped["start"]))
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#agenda-range")).to_contain_text("1 appointment from")
    await expect(row(page, later["id"])).to_be_visible()
    await expect(row(page, soon["id"])).to_have_count(0)
    await expect(row(page, dropped["id"])).to_have_count(0)  # cancelled: not shown unless asked for
    await expect(page.locator(".agenda-day")).to_have_count(2)

    await page.get_by_label("Cancelled").check()
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(row(page, dropped["id"])).to_be_visible()
    await expect(row(page, later["id"])).to_have_count(0)
    await expect(row(page, dropped["id"])).to_contain_text("Cancelled")
    await look(page, "doctor-filtered")

    # a range of two months lists only the days with appointments
    await page.get_by_label("Cancelled").uncheck()
    await page.get_by_label("First day").fill(local_day(live_clinic, live_clinic.at(0, 9)))
    await page.get_by_label("Last day").fill(local_day(live_clinic, live_clinic.at(60, 9)))
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#agenda-range")).to_contain_text("2 appointments")
    await expect(page.locator(".agenda-day")).to_have_count(2)

    await page.get_by_label("Last day").fill(local_day(live_clinic, live_clinic.at(-1, 9)))
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#agenda-filter-error")).to_contain_text("must not be before")
    await look(page, "doctor-filter-error")

    await page.get_by_role("button", name="Back to this week").click()
    await expect(page.locator(".agenda-day")).to_have_count(7)
    await expect(row(page, soon["id"])).to_be_visible()
    await expect(page.get_by_role("heading", name="Today and this week")).to_be_visible()


async def test_custom_hours_are_not_listed_as_days_off(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    custom = local_day(live_clinic, live_clinic.at(4, 12))
    off = local_day(live_clinic, live_clinic.at(5, 12))
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        path = f"/v1/doctors/{live_clinic.doctor_id}/date-overrides"
        r = await http.post(path, json={"date": custom, "windows": [{"start_minute": 600, "end_minute": 720}]})
        assert r.status_code == 201, r.text
        r = await http.post(path, json={"date": off, "available": False})
        assert r.status_code == 201, r.text
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    days_off = page.locator("#override-list .override")
    customs = page.locator("#custom-hours-list .override")
    await expect(days_off).to_have_count(1)
    await expect(days_off).to_have_attribute("data-date", off)
    await expect(customs).to_have_count(1)
    await expect(customs).to_have_attribute("data-date", custom)
    await expect(customs).to_contain_text("Open 10:00\N{EN DASH}12:00")
    # the week's agenda says so too
    await expect(page.locator(f'.agenda-day[data-day="{custom}"] h3')).to_contain_text(
        "Custom hours 10:00\N{EN DASH}12:00"
    )
    await expect(page.locator(f'.agenda-day[data-day="{off}"] h3')).to_contain_text("Day off")
    await look(page, "doctor-custom-hours")

    await customs.get_by_role("button", name=re.compile("^Remove custom hours")).click()
    await expect(page.locator("#custom-hours-list")).to_contain_text("No days with custom hours planned")
    await expect(page.locator("#custom-hours-heading")).to_be_focused()
    await expect(days_off).to_have_count(1)


async def test_the_doctor_adds_custom_hours_for_a_date_and_a_split_day(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    custom = local_day(live_clinic, live_clinic.at(4, 12))
    off = local_day(live_clinic, live_clinic.at(5, 12))
    async with httpx.AsyncClient(base_url=live_server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        path = f"/v1/doctors/{live_clinic.doctor_id}/date-overrides"
        r = await http.post(path, json={"date": off, "available": False})
        assert r.status_code == 201, r.text
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    form = page.locator("#custom-hours-form")
    customs = page.locator("#custom-hours-list .override")

    async def add(date: str, start: str, end: str) -> None:
        await form.get_by_label("Date with other hours").fill(date)
        await form.get_by_label("From").fill(start)
        await form.get_by_label("Until").fill(end)
        await form.get_by_role("button", name="Add custom hours").click()

    await add(custom, "10:00", "12:00")
    await expect(customs).to_have_count(1)
    await expect(customs).to_contain_text("Open 10:00\N{EN DASH}12:00")
    await expect(page.locator("#status")).to_contain_text("now has custom hours: 10:00\N{EN DASH}12:00")
    # a second stretch the same day joins the first: a split day
    await add(custom, "14:00", "16:00")
    await expect(customs).to_contain_text("Open 10:00\N{EN DASH}12:00, 14:00\N{EN DASH}16:00")
    await expect(page.locator(f'.agenda-day[data-day="{custom}"] h3')).to_contain_text(
        "Custom hours 10:00\N{EN DASH}12:00, 14:00\N{EN DASH}16:00"
    )
    # overlapping and backwards hours are explained at the field, nothing sent
    await add(custom, "11:00", "15:00")
    await expect(page.locator("#custom-error")).to_have_text("These hours overlap the day's other custom hours.")
    await expect(form.get_by_label("From")).to_be_focused()
    await expect(form.get_by_label("From")).to_have_attribute("aria-invalid", "true")
    await look(page, "doctor-custom-hours-overlap")
    await add(custom, "17:00", "16:00")
    await expect(page.locator("#custom-error")).to_have_text("The end must be after the start.")
    await expect(form.get_by_label("Until")).to_be_focused()
    # a day off becomes a day with custom hours
    await add(off, "09:00", "11:00")
    await expect(page.locator("#custom-error")).to_be_hidden()
    await expect(page.locator("#status")).to_contain_text("instead of a day off")
    await expect(customs).to_have_count(2)
    await expect(page.locator("#override-list")).to_contain_text("No days off planned")

    # the booking side offers exactly those hours on that date
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        r = await http.get(
            f"/v1/doctors/{live_clinic.doctor_id}/slots",
            params={
                "appointment_type_id": live_clinic.type_30,
                "from": f"{custom}T00:00:00Z",
                "to": f"{custom}T23:59:00Z",
                "tz": live_clinic.timezone,
            },
        )
    starts = [s["start"][11:16] for s in r.json()["slots"] if s["start"].startswith(custom)]
    assert starts == ["10:00", "10:30", "11:00", "11:30", "14:00", "14:30", "15:00", "15:30"], starts
