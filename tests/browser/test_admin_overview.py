"""The admin overview (``/admin``) in a real browser, against a real gateway process."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, expect

from gateway.settings import Settings
from tests.browser.accessibility import look
from tests.support import ADMIN_TOKEN, Clinic, sql

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE_MS = 2_000
NDASH = "\N{EN DASH}"
DESKTOP = {"width": 1280, "height": 1000}
PHONE = {"width": 390, "height": 844}


async def signed_in(page: Page, token: str, organisation: str = "") -> Page:
    """Sign in on /admin and wait until the appointments are shown and live."""
    await page.get_by_label("Admin key").fill(token)
    if organisation:
        await page.get_by_label("Organisation slug or id").fill(organisation)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#appointment-list")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    return page


async def booking_page(open_page: Any, clinic: Clinic) -> Page:
    page: Page = await open_page(f"/book/{clinic.doctor_id}?appointment_type_id={clinic.type_30}")
    await expect(page.locator("#slot-days")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    return page


def slot(page: Page | Locator, start: str) -> Locator:
    return page.locator(f'button[data-slot-start="{start}"]')


def row(page: Page, appointment: dict[str, Any]) -> Any:
    return page.locator(f'#appointment-list tr[data-appointment-id="{appointment["id"]}"]')


async def test_an_admin_cancels_with_a_reason_and_the_slot_reappears(
    live_clinic: Clinic, staff: Any, open_page: Any, artifacts: Path
) -> None:
    start = live_clinic.at(2, 10)
    booked = staff.book(live_clinic, start, name="Grace Hopper")
    staff.book(live_clinic, live_clinic.at(3, 9), name="Mary Jackson")
    watcher = await booking_page(open_page, live_clinic)
    await expect(slot(watcher, start)).to_have_count(0)
    page = await signed_in(await open_page("/admin", viewport=DESKTOP), staff.admin_key(live_clinic))
    assert "gk_" not in page.url
    await expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Clinic")
    await expect(page.locator("#zone")).to_contain_text("Europe/Berlin")
    await expect(page.locator("#appointment-list tbody tr")).to_have_count(2)
    await expect(row(page, booked)).to_contain_text("Grace Hopper")
    await expect(row(page, booked)).to_contain_text(f"10:00 {NDASH} 10:30")
    await page.screenshot(path=artifacts / "admin.png", full_page=True)

    await row(page, booked).get_by_role("button", name=re.compile("^Details")).click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.locator("#detail-heading")).to_be_focused()
    await expect(dialog.locator("#history li")).to_have_count(1)
    await dialog.get_by_role("button", name="Cancel appointment").click()
    await expect(dialog.locator("#cancel-reason-error")).to_contain_text("Please give a reason")
    await expect(dialog.get_by_label(re.compile("^Reason"))).to_be_focused()
    await dialog.get_by_label(re.compile("^Reason")).fill("Dr. Test is ill today")
    await page.screenshot(path=artifacts / "admin-detail.png")
    await dialog.get_by_role("button", name="Cancel appointment").click()
    began = time.monotonic()

    await expect(slot(watcher, start)).to_have_count(1, timeout=LIVE_MS)
    assert time.monotonic() - began < LIVE_MS / 1000
    await expect(dialog.locator("#detail-status")).to_contain_text("Cancelled")
    await expect(dialog.locator("#detail-facts")).to_contain_text("Dr. Test is ill today")
    await expect(dialog.locator("#history")).to_contain_text("Confirmed → Cancelled by admin")
    await expect(dialog.get_by_role("button", name="Cancel appointment")).to_be_hidden()
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    # the default list shows upcoming active appointments only
    await expect(row(page, booked)).to_have_count(0)
    await expect(page.locator("#appointment-list tbody tr")).to_have_count(1)

    phone = await signed_in(await open_page("/admin", viewport=PHONE), staff.admin_key(live_clinic))
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await phone.screenshot(path=artifacts / "admin-phone.png", full_page=True)


async def test_an_admin_rebooks_a_patient_onto_another_time(
    live_clinic: Clinic, staff: Any, open_page: Any, artifacts: Path, settings: Settings
) -> None:
    old, new = live_clinic.at(2, 10), live_clinic.at(3, 11)
    booked = staff.book(live_clinic, old, name="Grace Hopper")
    watcher = await booking_page(open_page, live_clinic)
    page = await signed_in(await open_page("/admin", viewport=DESKTOP), staff.admin_key(live_clinic))
    await row(page, booked).get_by_role("button", name=re.compile("^Details")).click()
    dialog = page.get_by_role("dialog")

    await dialog.get_by_role("button", name="Rebook").click()
    await expect(dialog.locator("#rebook-heading")).to_be_focused()
    await expect(dialog.locator("#rebook-live")).to_have_attribute("data-state", "live")
    day = dialog.locator("details.day").filter(has=page.locator(f'[data-slot-start="{new}"]'))
    if await day.get_attribute("open") is None:
        await day.locator("summary").click()
    await expect(slot(dialog, old)).to_have_count(0)  # taken: by this very appointment
    await page.screenshot(path=artifacts / "admin-rebook.png")
    await look(page, "admin-rebook-slots")

    # choosing a time asks first; Back changes nothing
    await slot(dialog, new).click()
    question = dialog.locator("#rebook-question")
    await expect(question).to_be_focused()
    await expect(question).to_have_text(re.compile(r"^Move Grace Hopper from .*10:00 to .*11:00\?$"))
    await look(page, "admin-rebook-confirm")
    await dialog.get_by_role("button", name="Back").click()
    await expect(question).to_be_hidden()
    await expect(slot(dialog, new)).to_be_focused()
    assert staff._call("GET", f"/v1/appointments/{booked['id']}")["status"] == "confirmed"
    await expect(slot(watcher, new)).to_have_count(1)  # not even held
    await slot(dialog, new).click()
    await dialog.get_by_role("button", name="Confirm").click()

    await expect(dialog.locator("#detail-status")).to_contain_text("Moved to")
    await expect(dialog.locator("#detail-facts")).to_contain_text(f"11:00 {NDASH} 11:30")
    await expect(dialog.get_by_role("button", name="the earlier appointment")).to_be_visible()
    await expect(slot(watcher, old)).to_have_count(1, timeout=LIVE_MS)
    await expect(slot(watcher, new)).to_have_count(0, timeout=LIVE_MS)
    await dialog.get_by_role("button", name="the earlier appointment").click()
    await expect(dialog.locator("#detail-facts")).to_contain_text("Moved")
    await expect(dialog.locator("#history")).to_contain_text("Rebooked by the clinic")
    await dialog.get_by_role("button", name="Close").click()
    await expect(page.locator("#appointment-list tbody tr")).to_have_count(1)
    await expect(page.locator("#appointment-list tbody tr")).to_contain_text(f"11:00 {NDASH} 11:30")
    # the patient is told: the move wrote its outbox row (email, webhooks), by the admin
    moved_id = await page.locator("#appointment-list tbody tr").get_attribute("data-appointment-id")
    rows = await sql(settings, "SELECT event_type, data FROM outbox WHERE appointment_id = $1", uuid.UUID(moved_id))
    assert [r["event_type"] for r in rows] == ["appointment.rescheduled"]
    data = rows[0]["data"]
    change = (json.loads(data) if isinstance(data, str) else data)["change"]
    assert change["actor"] == "admin" and change["to"] == "confirmed"


async def test_filters_and_paging(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    booked = [staff.book(live_clinic, live_clinic.at(2 + i // 20, 8 + (i % 20) // 2, 30 * (i % 2))) for i in range(23)]
    staff.cancel(booked[0]["id"], "moved abroad")
    page = await signed_in(await open_page("/admin", viewport=DESKTOP), staff.admin_key(live_clinic))
    rows = page.locator("#appointment-list tbody tr")
    await expect(rows).to_have_count(20)
    await expect(page.locator("#result-summary")).to_contain_text("more below")
    await page.get_by_role("button", name="Show more").click()
    await expect(rows).to_have_count(22)
    await expect(page.get_by_role("button", name="Show more")).to_be_hidden()

    await page.get_by_label("Cancelled").check()
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Cancelled")

    await page.get_by_role("button", name="Reset").click()
    third_day = live_clinic.at(3, 8)[:10]  # bookings 20, 21 and 22
    await page.get_by_label("From").fill(third_day)
    await page.get_by_label("Until").fill(third_day)
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(rows).to_have_count(3)
    await page.get_by_label("From").fill("2030-01-02")
    await page.get_by_label("Until").fill("2030-01-01")
    await page.get_by_role("button", name="Show", exact=True).click()
    await expect(page.locator("#filter-dates-error")).to_be_visible()


async def test_booking_secrets_and_doctors_hours(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page = await signed_in(await open_page("/admin"), staff.admin_key(live_clinic))
    await page.get_by_role("button", name="Show weekly hours of Dr. Ada Test").click()
    hours = page.locator(".doctor-hours")
    await expect(hours.locator(".window")).to_have_count(7)
    await expect(hours).to_contain_text(f"Monday 08:00{NDASH}18:00")
    await expect(hours.get_by_role("button")).to_have_count(0)  # read-only here

    await expect(page.locator("#secret-list")).to_contain_text("No booking secrets yet")
    await page.get_by_role("button", name="Create a booking secret").click()
    reveal = page.locator("#secret-reveal")
    await expect(reveal).to_be_focused()
    key_id = await page.locator("#reveal-key").text_content()
    value = await page.locator("#reveal-value").text_content()
    assert key_id and key_id.startswith("bk_") and value and len(value) > 20
    await page.get_by_role("button", name="Hide the secret").click()
    await expect(reveal).to_be_hidden()
    await page.get_by_role("button", name=f"Reveal {key_id}").click()
    await expect(page.locator("#reveal-value")).to_have_text(value)

    await page.get_by_role("button", name=f"Revoke {key_id}").click()
    await expect(page.locator("#status")).to_contain_text("Really revoke")
    await page.get_by_role("button", name=f"Really revoke {key_id}?").click()
    await expect(page.locator(f'[data-key-id="{key_id}"]')).to_contain_text("Revoked")
    await expect(reveal).to_be_hidden()
    await expect(page.get_by_role("button", name=f"Reveal {key_id}")).to_have_count(0)


async def test_who_may_sign_in(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page = await open_page("/admin")
    await page.get_by_label("Admin key").fill(staff.doctor_token(live_clinic.doctor_id))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#token-error")).to_contain_text("Doctors use /doctor")
    await page.get_by_label("Admin key").fill(ADMIN_TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#organisation-error")).to_contain_text("slug (or its id) too")
    assert await page.evaluate("sessionStorage.getItem('gateway.admin')") is None

    await signed_in(page, ADMIN_TOKEN, live_clinic.organisation_id)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Clinic")
    await page.reload()
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await page.get_by_role("button", name="Sign out").click()
    assert await page.evaluate("sessionStorage.getItem('gateway.admin')") is None
