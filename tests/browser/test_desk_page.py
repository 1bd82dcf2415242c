"""The front desk (``/desk``) in a real browser, against a real gateway process: live holds and
Release, booking for a patient (inside the notice only with the override, then marked), meet now."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.accessibility import look
from tests.support import ADMIN_TOKEN, Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LIVE_MS = 2_000
NDASH = "\N{EN DASH}"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PLATFORM = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def patient_hold(server: LiveServer, clinic: Clinic, start: str) -> dict[str, Any]:
    """A patient's hold made through the public API (a session of the clinic's page)."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/sessions", json={"organisation_slug": clinic.slug})
        assert r.status_code == 201, r.text
        who = {"Authorization": f"Bearer {r.json()['token']}"}
        body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start}
        r = http.post("/v1/holds", json=body, headers=who)
        assert r.status_code == 201, r.text
    held: dict[str, Any] = r.json()
    return held | {"headers": who}


async def signed_in(page: Page, token: str, organisation: str = "") -> Page:
    """Sign in on /desk and wait until the holds and free times are shown and live."""
    await page.get_by_label("Admin key").fill(token)
    if organisation:
        await page.get_by_label(re.compile("^Organisation slug or id")).fill(organisation)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#hold-list")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#book-times")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    return page


def slot(page: Page | Locator, start: str) -> Locator:
    return page.locator(f'[data-slot-start="{start}"]')


async def test_the_desk_lists_live_holds_and_releases_one_for_every_page(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    start = live_clinic.at(2, 10)
    held = patient_hold(live_server, live_clinic, start)
    watcher: Page = await open_page(f"/book/{live_clinic.doctor_id}?appointment_type_id={live_clinic.type_30}")
    await expect(watcher.locator("#live-state")).to_have_attribute("data-state", "live")
    await expect(slot(watcher, start)).to_have_count(0)

    page: Page = await open_page("/desk", viewport=DESKTOP)
    await look(page, "desk-signin")
    await page.get_by_label("Admin key").fill("gk_not-a-real-key")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#token-error")).to_contain_text("unknown or was revoked")
    await expect(page.get_by_label("Admin key")).to_be_focused()
    await expect(page.get_by_label("Admin key")).to_have_value("gk_not-a-real-key")  # kept, to be corrected
    await look(page, "desk-signin-error")

    await signed_in(page, staff.admin_key(live_clinic))
    assert "gk_" not in page.url
    await expect(page.locator("#token")).to_have_value("")  # signed in: not left in the form
    await expect(page.get_by_role("heading", level=1)).to_have_text("Riverside Clinic: front desk")
    await expect(page.locator("#holds-heading")).to_be_focused()
    rows = page.locator("#hold-list tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Dr. Ada Test")
    await expect(rows.first).to_contain_text(f"10:00 {NDASH} 10:30")
    await expect(rows.first.locator(".left")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    assert held["hold_token"] not in await page.content()
    await look(page, "desk-holds")

    # a new hold shows up live
    other = live_clinic.at(2, 11)
    patient_hold(live_server, live_clinic, other)
    await expect(rows).to_have_count(2, timeout=LIVE_MS)

    release = page.get_by_role("button", name=re.compile(r"^Release the hold on Dr\. Ada Test, .* 10:00"))
    await release.focus()
    await page.keyboard.press("Enter")
    began = time.monotonic()
    await expect(slot(watcher, start)).to_have_count(1, timeout=LIVE_MS)
    assert time.monotonic() - began < LIVE_MS / 1000
    await expect(rows).to_have_count(1)
    await expect(page.locator("#status")).to_contain_text("Released the hold on Dr. Ada Test")
    await look(page, "desk-released")

    # the hold's owner cannot confirm it any more
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.post(
            f"/v1/holds/{held['hold_id']}/confirm",
            json={"patient": {"name": "Grace", "email": "grace@example.org"}},
            headers=held["headers"] | {"X-Hold-Token": held["hold_token"]},
        )
    assert r.status_code in (404, 410), r.text


async def test_the_desk_books_inside_the_notice_only_with_the_override_and_marks_it(
    live_server: LiveServer, live_clinic: Clinic, open_page: Any
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, headers=PLATFORM, timeout=10) as http:
        r = await http.post(
            "/v1/admin/appointment-types",
            json={
                "organisation_id": live_clinic.organisation_id,
                "name": "Two days' notice",
                "duration_minutes": 30,
                "min_notice_minutes": 2 * 24 * 60,
            },
        )
        assert r.status_code == 201, r.text
        notice_type = r.json()["id"]
    # the platform token signs in with the organisation's slug
    page = await signed_in(await open_page("/desk", viewport=PHONE), ADMIN_TOKEN, live_clinic.slug)
    await page.get_by_label("Appointment type").first.select_option(label="Two days' notice")
    tomorrow = live_clinic.at(1, 10)
    await page.get_by_label("Day").fill(tomorrow[:10])
    await page.get_by_label("Day").dispatch_event("change")
    times = page.locator("#book-times")
    await expect(times).to_have_attribute("aria-busy", "false")
    await expect(slot(times, tomorrow)).to_have_count(1)
    choice = times.locator("label", has=page.locator(f'[data-slot-start="{tomorrow}"]'))
    await expect(choice).to_contain_text("inside notice")
    await choice.click()
    await expect(page.locator("#book-override-field")).to_be_visible()
    await page.get_by_label("Name", exact=True).fill("Grace Hopper")
    await page.get_by_label("Email", exact=True).fill("grace@example.org")
    await page.get_by_role("button", name="Book", exact=True).click()
    await expect(page.locator("#book-override-error")).to_contain_text("tick the box")
    await expect(page.get_by_label("Book inside the notice period")).to_be_focused()
    await look(page, "desk-book-override")

    await page.keyboard.press("Space")
    await page.get_by_role("button", name="Book", exact=True).click()
    done = page.locator("#book-done")
    await expect(done).to_be_visible()
    await expect(done).to_contain_text("Grace Hopper with Dr. Ada Test")
    await expect(done).to_contain_text("booked inside the notice")
    await expect(slot(times, tomorrow)).to_have_count(0)
    await look(page, "desk-booked")

    async with httpx.AsyncClient(base_url=live_server.url, headers=PLATFORM, timeout=10) as http:
        r = await http.get("/v1/appointments", params={"doctor_id": live_clinic.doctor_id})
    booked = [a for a in r.json()["items"] if a["appointment_type_id"] == notice_type]
    assert [(a["start"], a["notice_overridden"]) for a in booked] == [(tomorrow, True)]


async def test_meet_now_starts_at_once_with_a_room_link(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page = await signed_in(await open_page("/desk", viewport=DESKTOP), staff.admin_key(live_clinic))
    form = page.locator("#meet-form")
    await form.get_by_role("button", name="Start now").click()
    await expect(page.locator("#meet-name-error")).to_contain_text("patient's name")
    await look(page, "desk-meet-error")
    await form.get_by_label("Patient's name").fill("Katherine Johnson")
    await form.get_by_label("Patient's email").fill("katherine@example.org")
    await form.get_by_role("button", name="Start now").click()
    done = page.locator("#meet-done")
    await expect(done).to_be_focused()
    await expect(done).to_contain_text("Katherine Johnson with Dr. Ada Test")
    link = done.get_by_role("link", name="Open the consultation room")
    await expect(link).to_have_attribute("href", re.compile("^https?://"))
    await look(page, "desk-meet-now")

    # the doctor is busy now: a second one is refused, clearly
    await form.get_by_label("Patient's name").fill("Dorothy Vaughan")
    await form.get_by_label("Patient's email").fill("dorothy@example.org")
    await form.get_by_role("button", name="Start now").click()
    await expect(page.locator("#alert-text")).to_contain_text("Dr. Ada Test has an appointment now")
    await look(page, "desk-meet-busy")


async def test_the_desk_offers_each_doctor_only_the_types_they_offer(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    async with httpx.AsyncClient(base_url=live_server.url, headers=PLATFORM, timeout=10) as http:
        r = await http.post(
            "/v1/admin/doctors",
            json={"organisation_id": live_clinic.organisation_id, "name": "Dr. Bea Other", "timezone": "UTC"},
        )
        assert r.status_code == 201, r.text
        other = r.json()["id"]
        r = await http.put(f"/v1/admin/appointment-types/{live_clinic.type_60}/doctors", json={"doctor_ids": [other]})
        assert r.status_code == 200, r.text
    page = await signed_in(await open_page("/desk", viewport=DESKTOP), staff.admin_key(live_clinic))
    for prefix in ("book", "meet"):
        doctor, kind = page.locator(f"#{prefix}-doctor"), page.locator(f"#{prefix}-type")
        await doctor.select_option(live_clinic.doctor_id)
        await expect(kind.locator("option")).to_have_count(1)  # the 60-minute type is Dr. Other's alone
        await expect(kind.locator(f'option[value="{live_clinic.type_60}"]')).to_have_count(0)
        await doctor.select_option(other)
        await expect(kind.locator(f'option[value="{live_clinic.type_60}"]')).to_have_count(1)
