"""The clinic page, /clinic/{slug}, in a real browser against a real gateway process.

A patient picks a service, then a doctor (that doctor's booking page) or "any doctor" (the first
free times merged across the service's doctors, live), then a time, which opens the booking page
of a doctor free at that time (the least booked that day) with ``start=``. A time leaves the page
the moment no doctor is free at it any more.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.accessibility import look
from tests.browser.conftest import OpenPage, Staff
from tests.support import Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE_MS = 2_000


def add_doctor(staff: Staff, clinic: Clinic, name: str) -> str:
    """A second doctor of the clinic, open like the first (every day 08:00-18:00 Berlin time)."""
    doctor: dict[str, Any] = staff._call(
        "POST",
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": name, "timezone": clinic.timezone},
    )
    for weekday in range(1, 8):
        staff._call(
            "POST",
            f"/v1/doctors/{doctor['id']}/availability-windows",
            json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
        )
    doctor_id: str = doctor["id"]
    return doctor_id


def hold(server: LiveServer, clinic: Clinic, doctor_id: str, start: str) -> None:
    """Another patient holds ``start`` with ``doctor_id``, through the API."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/sessions", json={"organisation_slug": clinic.slug})
        assert r.status_code == 201, r.text
        r = http.post(
            "/v1/holds",
            json={"doctor_id": doctor_id, "appointment_type_id": clinic.type_30, "start": start},
            headers={"Authorization": f"Bearer {r.json()['token']}"},
        )
    assert r.status_code == 201, r.text


async def any_doctor_times(page: Page) -> Page:
    """Service "30-minute consultation", then any doctor; wait for the times and the live stream."""
    await page.get_by_role("button", name="30-minute consultation").click()
    await page.get_by_role("button", name="Any doctor").click()
    await expect(page.locator("#times")).not_to_have_attribute("aria-busy", "true")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return page


async def a_whole_day(page: Page) -> Page:
    """Choose the second day with free times: a whole day of them, whatever the hour of the run.

    The first is today while today has any left, and late in the day that may be one.
    """
    day = page.locator("#days button").nth(1)
    await day.click()
    await expect(day).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#times")).not_to_have_attribute("aria-busy", "true")
    return page


async def test_service_then_doctor_opens_that_doctors_booking_page(
    open_page: OpenPage, live_clinic: Clinic, staff: Staff
) -> None:
    clinic = live_clinic
    second = add_doctor(staff, clinic, "Dr. Bea Second")
    bare: str = staff._call(
        "POST",
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Cy New", "timezone": "UTC"},
    )["id"]
    # the hour-long consultation only with the second doctor
    staff._call("PUT", f"/v1/admin/appointment-types/{clinic.type_60}/doctors", json={"doctor_ids": [second]})

    staff._call(
        "PATCH",
        f"/v1/admin/appointment-types/{clinic.type_60}",
        json={"payment_mode": "full", "fee_cents": 9000, "currency": "EUR"},
    )

    page = await open_page(f"/clinic/{clinic.slug}")
    await expect(page.locator("h1")).to_have_text("Riverside Clinic")
    await expect(page.locator("#services button")).to_have_count(2)
    await expect(page.locator("#services button").nth(1)).to_contain_text("60 min · €90.00, paid when booking")
    await look(page, "clinic-services")

    await page.get_by_role("button", name="60-minute consultation").click()
    await expect(page.locator("#doctors a")).to_have_count(1)  # the first doctor does not offer it
    await expect(page.locator("#doctors a")).to_have_attribute("data-doctor-id", second)
    # the second doctor has no hours that day on: nothing free, said so
    staff._call("PUT", f"/v1/admin/appointment-types/{clinic.type_60}/doctors", json={"doctor_ids": [bare]})
    await page.reload()
    await page.get_by_role("button", name="60-minute consultation").click()
    await page.get_by_role("button", name="Any doctor").click()
    await expect(page.locator("#times")).to_contain_text("No free times in the next two weeks")
    await expect(page.locator("#times a[data-slot-start]")).to_have_count(0)
    await look(page, "clinic-no-times")

    # keyboard only: the 30-minute service, then the first doctor
    service = page.get_by_role("button", name="30-minute consultation")
    await service.focus()
    await page.keyboard.press("Enter")
    await expect(service).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#doctors-heading")).to_be_focused()
    await expect(page.locator("#doctors a")).to_have_count(3)
    await look(page, "clinic-doctors")
    link = page.locator(f'#doctors a[data-doctor-id="{clinic.doctor_id}"]')
    await link.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/book/{clinic.doctor_id}?appointment_type_id={clinic.type_30}")
    await expect(page.locator("h1")).to_contain_text("Dr. Ada Test")


async def test_any_doctor_then_a_time_opens_the_booking_page_at_that_time(
    open_page: OpenPage, live_clinic: Clinic, staff: Staff, live_server: LiveServer
) -> None:
    clinic = live_clinic
    second = add_doctor(staff, clinic, "Dr. Bea Second")
    page = await any_doctor_times(await open_page(f"/clinic/{clinic.slug}"))
    await expect(page).to_have_url(f"{live_server.url}/clinic/{clinic.slug}?service={clinic.type_30}&doctor=any")
    times = page.locator("#times a[data-slot-start]")
    assert await times.count() > 0
    # one day at a time: the first day with free times, chosen; every shown time is that day's
    await expect(page.locator("#days button").first).to_have_attribute("aria-pressed", "true")
    await look(page, "clinic-any-doctor-times")
    # at phone width the days scroll sideways inside their row; the page itself never does
    await page.set_viewport_size({"width": 390, "height": 844})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    await page.set_viewport_size({"width": 1280, "height": 800})

    # the next day: its times, and the keyboard stays on the day
    day = page.locator("#days button").nth(1)
    await day.focus()
    await page.keyboard.press("Enter")
    await expect(day).to_have_attribute("aria-pressed", "true")
    await expect(day).to_be_focused()

    first = times.first
    start = await first.get_attribute("data-slot-start")
    doctor = await first.get_attribute("data-doctor-id")
    assert start and start.endswith("Z") and doctor in (clinic.doctor_id, second)
    await first.focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/book/**")
    url = urlsplit(page.url)
    assert url.path == f"/book/{doctor}"
    assert parse_qs(url.query) == {"appointment_type_id": [clinic.type_30], "start": [start]}

    # a reload of the clinic page opens the same step
    page = await any_doctor_times(await open_page(f"/clinic/{clinic.slug}"))
    await page.reload()
    await expect(page.get_by_role("button", name="Any doctor")).to_have_attribute("aria-pressed", "true")
    await expect(page.locator("#times a[data-slot-start]").first).to_be_visible()


async def test_a_time_leaves_when_no_doctor_is_free_at_it_any_more(
    open_page: OpenPage, live_clinic: Clinic, staff: Staff, live_server: LiveServer
) -> None:
    clinic = live_clinic
    second = add_doctor(staff, clinic, "Dr. Bea Second")
    page = await a_whole_day(await any_doctor_times(await open_page(f"/clinic/{clinic.slug}")))
    time = page.locator("#times a[data-slot-start]").nth(1)
    start = await time.get_attribute("data-slot-start")
    assert start
    link = page.locator(f'#times a[data-slot-start="{start}"]')
    await expect(link).to_have_attribute("data-doctor-id", clinic.doctor_id)  # the first doctor by name

    hold(live_server, clinic, clinic.doctor_id, start)
    # still free with the second doctor: the time stays, and now opens the second doctor's page
    await expect(link).to_have_attribute("data-doctor-id", second, timeout=LIVE_MS)
    assert parse_qs(urlsplit(await link.get_attribute("href") or "").query)["start"] == [start]
    await link.focus()

    hold(live_server, clinic, second, start)
    await expect(link).to_have_count(0, timeout=LIVE_MS)
    await expect(page.locator("#status")).to_have_text("The time you were on was just taken by someone else.")
    await expect(page.locator("#day-heading")).to_be_focused()
    await look(page, "clinic-time-taken")


async def test_any_doctor_spreads_a_days_bookings_to_the_least_booked_doctor(
    open_page: OpenPage, live_clinic: Clinic, staff: Staff, live_server: LiveServer
) -> None:
    clinic = live_clinic
    second = add_doctor(staff, clinic, "Dr. Bea Second")
    page = await a_whole_day(await any_doctor_times(await open_page(f"/clinic/{clinic.slug}")))
    times = page.locator("#times a[data-slot-start]")
    # the same free times each: the first by name
    first_start = await times.nth(0).get_attribute("data-slot-start")
    later_start = await times.nth(3).get_attribute("data-slot-start")
    assert first_start and later_start
    later = page.locator(f'#times a[data-slot-start="{later_start}"]')
    await expect(later).to_have_attribute("data-doctor-id", clinic.doctor_id)

    # the first doctor now has a time of that day taken: the day's other times go to the second
    hold(live_server, clinic, clinic.doctor_id, first_start)
    await expect(later).to_have_attribute("data-doctor-id", second, timeout=LIVE_MS)
    assert urlsplit(await later.get_attribute("href") or "").path == f"/book/{second}"


async def test_the_page_speaks_the_browsers_language_and_a_wrong_slug_is_a_404(
    browser: Browser, live_clinic: Clinic, live_server: LiveServer
) -> None:
    context = await browser.new_context(base_url=live_server.url, locale="de-DE", timezone_id="Europe/Berlin")
    try:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        await page.goto(f"/clinic/{live_clinic.slug}")
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.locator("#services-heading")).to_contain_text("Leistung wählen")
        await expect(page.locator("#services button")).to_have_count(2)
        await page.get_by_role("button", name="30-minute consultation").click()
        await page.get_by_role("button", name="Beliebige Ärztin / beliebiger Arzt").click()
        await expect(page.locator("#times a[data-slot-start]").first).to_be_visible()
        # German words only: the day names too
        assert "Today" not in await page.locator("#days").inner_text()
        await look(page, "clinic-any-doctor-times-de")

        response = await page.goto("/clinic/no-such-clinic")
        assert response is not None and response.status == 404
        # the server's own 404 page follows the browser's language too
        await expect(page.locator("html")).to_have_attribute("lang", "de")
        await expect(page.locator("h1")).to_have_text("Wir konnten diese Praxis nicht finden")
        await look(page, "clinic-not-found")
        assert not errors, errors
    finally:
        await context.close()


async def test_the_widget_on_a_site_no_clinic_allowed_says_so(
    live_clinic: Clinic, staff: Staff, partner_site: Any, open_page: OpenPage
) -> None:
    partner_site.embed(live_clinic.doctor_id, live_clinic.type_30, staff.booking_secret(live_clinic))
    page = await open_page(partner_site.url)
    days = page.locator("booking-widget #days")
    await expect(days).to_contain_text("This website may not book with this clinic yet")
    assert "connection" not in await days.inner_text()
    await expect(page.locator("booking-widget button[data-slot-start]")).to_have_count(0)
