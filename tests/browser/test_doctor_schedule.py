"""The doctor's live schedule (``/doctor``) in a real browser, against a real gateway process."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support import Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE_MS = 2_000
DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}
NDASH = "\N{EN DASH}"


async def signed_in(page: Page, token: str) -> Page:
    """Sign in on /doctor and wait until the schedule is shown and live."""
    await page.get_by_label("Doctor token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#agenda")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    return page


def row(page: Page, appointment: dict[str, Any]) -> Any:
    return page.locator(f'[data-appointment-id="{appointment["id"]}"]')


async def test_bookings_made_elsewhere_appear_move_and_go_live(
    live_clinic: Clinic, staff: Any, open_page: Any, artifacts: Path
) -> None:
    earlier = staff.book(live_clinic, live_clinic.at(1, 9), name="Katherine Johnson")
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    assert "gd_" not in page.url
    assert "gd_" in await page.evaluate("sessionStorage.getItem('gateway.doctor')")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dr. Ada Test's schedule")
    await expect(page.locator("#zone")).to_contain_text("Europe/Berlin")
    await expect(row(page, earlier)).to_contain_text("Katherine Johnson")
    await expect(page.locator(".agenda-day")).to_have_count(7)

    booked = staff.book(live_clinic, live_clinic.at(2, 10), name="Grace Hopper")
    began = time.monotonic()
    await expect(row(page, booked)).to_be_visible(timeout=LIVE_MS)
    assert time.monotonic() - began < LIVE_MS / 1000
    await expect(row(page, booked).locator(".appt-time")).to_have_text(f"10:00 {NDASH} 10:30")
    await expect(page.locator("#status")).to_contain_text("New:")
    await expect(row(page, booked).get_by_role("button", name=re.compile("^Join the call"))).to_be_disabled()
    await expect(row(page, booked)).to_contain_text("Join opens 09:50")
    await page.screenshot(path=artifacts / "doctor.png", full_page=True)

    moved = staff.reschedule(booked, live_clinic.at(3, 11))
    await expect(row(page, booked)).to_have_count(0, timeout=LIVE_MS)
    await expect(row(page, moved).locator(".appt-time")).to_have_text(f"11:00 {NDASH} 11:30", timeout=LIVE_MS)

    staff.cancel(moved["id"], "patient called")
    await expect(row(page, moved)).to_have_count(0, timeout=LIVE_MS)
    await expect(page.locator("#status")).to_contain_text("No longer booked")

    phone = await signed_in(await open_page("/doctor", viewport=PHONE), staff.doctor_token(live_clinic.doctor_id))
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await phone.screenshot(path=artifacts / "doctor-phone.png", full_page=True)


async def test_join_no_show_and_complete_follow_the_clock(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    booked = staff.book(live_clinic, live_clinic.at(2, 10))
    start = datetime.fromisoformat(booked["start"])
    page: Page = await open_page("about:blank")
    await page.clock.install()
    await page.goto("/doctor")
    await signed_in(page, staff.doctor_token(live_clinic.doctor_id))
    appointment = row(page, booked)
    join = appointment.get_by_role("button", name=re.compile("^Join the call"))
    await expect(join).to_be_disabled()

    await page.clock.set_system_time(start - timedelta(minutes=5))
    await page.clock.fast_forward(20_000)
    await expect(join).to_be_enabled()
    await expect(appointment.get_by_role("button", name=re.compile("^Record a no-show"))).to_have_count(0)
    # The gateway keeps its own clock: for it the call is two days away.
    await join.click()
    await expect(page.get_by_role("alert")).to_contain_text("can be joined from")

    await page.clock.set_system_time(start + timedelta(minutes=15))
    await page.clock.fast_forward(20_000)
    await expect(appointment.get_by_role("button", name=re.compile("^Complete the appointment"))).to_be_visible()

    await page.clock.set_system_time(start + timedelta(minutes=30 + 61))
    await page.clock.fast_forward(20_000)
    await expect(join).to_be_disabled()
    await expect(appointment).to_contain_text("The call window has closed")
    await expect(appointment.get_by_role("button", name=re.compile("^Record a no-show"))).to_be_visible()


async def test_approving_a_pending_appointment(make_live_clinic: Any, staff: Any, open_page: Any) -> None:
    clinic = make_live_clinic(requires_approval=True)
    booked = staff.book(clinic, clinic.at(2, 14))
    assert booked["status"] == "pending_approval"
    page = await signed_in(await open_page("/doctor"), staff.doctor_token(clinic.doctor_id))
    appointment = row(page, booked)
    await expect(appointment).to_contain_text("Waiting for approval")

    await appointment.get_by_role("button", name=re.compile("^Approve")).click()

    await expect(appointment).to_contain_text("Confirmed")
    await expect(page.locator("#status")).to_contain_text("approved")


async def test_weekly_hours_and_days_off_reach_booking_pages_live(
    live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    book = await open_page(f"/book/{live_clinic.doctor_id}?appointment_type_id={live_clinic.type_30}")
    await expect(book.locator("#live-state")).to_have_attribute("data-state", "live")
    page = await signed_in(await open_page("/doctor", viewport=DESKTOP), staff.doctor_token(live_clinic.doctor_id))
    hours = page.locator("#window-list")
    await expect(hours.locator(".window")).to_have_count(7)

    # A day off: that day's slots vanish from the open booking page.
    day_off = live_clinic.at(3, 9)
    local_day = datetime.fromisoformat(day_off).astimezone(ZoneInfo(live_clinic.timezone)).date().isoformat()
    await expect(book.locator(f'button[data-slot-start="{day_off}"]')).to_have_count(1)
    await page.get_by_label("Date", exact=True).fill(local_day)
    await page.get_by_role("button", name="Add day off").click()
    await expect(page.locator("#override-list .override")).to_have_count(1)
    await expect(book.locator(f'button[data-slot-start="{day_off}"]')).to_have_count(0, timeout=LIVE_MS)
    await page.locator("#override-list").get_by_role("button", name=re.compile("^Remove day off")).click()
    await expect(page.locator("#override-list")).to_contain_text("No days off planned")
    await expect(book.locator(f'button[data-slot-start="{day_off}"]')).to_have_count(1, timeout=LIVE_MS)

    # Weekly hours: add, edit, turn off, delete.
    await page.get_by_label("Day", exact=True).select_option("Monday")
    await page.locator("#window-form").get_by_label("From").fill("19:00")
    await page.locator("#window-form").get_by_label("Until").fill("18:30")
    await page.get_by_role("button", name="Add hours").click()
    await expect(page.locator("#window-error")).to_have_text("The end must be after the start.")
    await page.locator("#window-form").get_by_label("Until").fill("20:00")
    await page.get_by_role("button", name="Add hours").click()
    added = hours.locator(".window", has_text=f"Monday 19:00{NDASH}20:00")
    await expect(added).to_have_count(1)
    await added.get_by_role("button", name=f"Edit Monday 19:00{NDASH}20:00").click()
    await expect(page.get_by_role("heading", name=f"Edit Monday 19:00{NDASH}20:00")).to_be_visible()
    await expect(page.get_by_label("Day", exact=True)).to_be_focused()
    await page.locator("#window-form").get_by_label("Until").fill("21:00")
    await page.get_by_role("button", name="Save changes").click()
    edited = hours.locator(".window", has_text=f"Monday 19:00{NDASH}21:00")
    await expect(edited).to_have_count(1)
    await edited.get_by_role("button", name=f"Turn off Monday 19:00{NDASH}21:00").click()
    await expect(edited.locator(".badge-off")).to_have_text("Off")
    await expect(edited.get_by_role("button", name=f"Turn on Monday 19:00{NDASH}21:00")).to_be_focused()
    await edited.get_by_role("button", name=f"Delete Monday 19:00{NDASH}21:00").click()
    await expect(edited).to_have_count(0)
    await expect(hours.locator(".window")).to_have_count(7)


async def test_only_a_doctors_token_signs_in(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page = await open_page("/doctor")
    await page.get_by_label("Doctor token").fill(staff.admin_key(live_clinic))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#token-error")).to_contain_text("not a doctor's token")
    await expect(page.get_by_label("Doctor token")).to_be_focused()
    await page.get_by_label("Doctor token").fill("gd_not-a-real-token")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#token-error")).to_contain_text("unknown or was revoked")
    await expect(page.get_by_label("Doctor token")).to_have_value("gd_not-a-real-token")  # kept, to correct it
    assert await page.evaluate("sessionStorage.getItem('gateway.doctor')") is None

    await signed_in(page, staff.doctor_token(live_clinic.doctor_id))
    await page.reload()  # the tab remembers the sign-in
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_label("Doctor token")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('gateway.doctor')") is None


async def test_the_page_is_static_and_strict(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.get("/doctor")
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
