"""The "manage my booking" page in a real browser, opened from a minted link against a real gateway.

A patient sees the appointment in their own zone, downloads it for a calendar, cancels it with a
reason, moves it to another free time (and the page then manages the new one under its new link),
and joins it inside the window with one click.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, Route, expect

from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from tests.browser.accessibility import look
from tests.integration.appointments.lifecycle_support import insert_past
from tests.support import ADMIN_TOKEN, Clinic, LiveServer, start_server

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PHONE = {"width": 390, "height": 844}
ROOMS = "http://127.0.0.1:9/room/"
"""The meeting rooms of these tests: on loopback, and answered by the browser's route, never the network."""
PATIENT_ZONE = "America/New_York"


@pytest.fixture
def live_server(settings: Settings, tmp_path: Any) -> Iterator[LiveServer]:
    """This module's gateway: the usual one, with rooms that never leave the machine."""
    server = start_server(settings, str(tmp_path), {"GATEWAY_MEETING_URL_TEMPLATE": ROOMS + "{room}"})
    yield server
    server.stop()


def book(server: LiveServer, clinic: Clinic, start: str) -> dict[str, Any]:
    """Book ``start`` as the public page does, the patient in New York."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/sessions", json={"organisation_slug": clinic.slug})
        who = {"Authorization": f"Bearer {r.json()['token']}"}
        body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start}
        held = http.post("/v1/holds", json=body, headers=who).json()
        r = http.post(
            f"/v1/holds/{held['hold_id']}/confirm",
            json={"patient": {"name": "Grace Hopper", "email": "grace@example.org", "timezone": PATIENT_ZONE}},
            headers=who | {"X-Hold-Token": held["hold_token"]},
        )
    assert r.status_code == 201, r.text
    appointment: dict[str, Any] = r.json()["appointment"]
    return appointment


def manage_path(settings: Settings, appointment_id: str, ends_at: datetime) -> str:
    """The path of the appointment's manage link, as its emails carry it (``/manage/mng_…``)."""
    return ManageLinks(settings.secret_key, "").url(uuid.UUID(appointment_id), ends_at)


def fetch(server: LiveServer, appointment_id: str) -> dict[str, Any]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.get(f"/v1/appointments/{appointment_id}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def wall(start: str, zone: str = PATIENT_ZONE) -> datetime:
    return datetime.fromisoformat(start).astimezone(ZoneInfo(zone))


async def shown(page: Page) -> Page:
    await expect(page.locator("#appointment")).to_have_attribute("aria-busy", "false")
    return page


async def test_the_patient_sees_the_appointment_and_cancels_it_with_a_reason(
    live_server: LiveServer, live_clinic: Clinic, settings: Settings, open_page: Any, artifacts: Path
) -> None:
    a = book(live_server, live_clinic, live_clinic.at(3, 10))
    path = manage_path(settings, a["id"], datetime.fromisoformat(a["end"]))
    # the browser is in Berlin; the page shows the patient's own zone, named
    page = await shown(await open_page(path, "Europe/Berlin", viewport=PHONE))

    ny = wall(a["start"])
    await expect(page.locator("#fact-when")).to_contain_text(f"{ny.day} {ny:%B} {ny.year}, {ny:%H:%M}")
    await expect(page.locator("#fact-zone")).to_contain_text(PATIENT_ZONE)
    await expect(page.locator("#fact-doctor")).to_have_text("Dr. Ada Test")
    await expect(page.locator("#fact-type")).to_contain_text("30-minute consultation")
    await expect(page.locator("#fact-status")).to_have_text("Confirmed")
    await expect(page.locator("#fact-reference")).to_have_text(a["reference"])
    await expect(page.get_by_role("button", name="Join now")).to_be_disabled()  # days before the window
    await expect(page.locator("#join-hint")).to_contain_text("10 minutes before the start")
    google = await page.get_by_role("link", name="Google Calendar").get_attribute("href")
    assert google and google.startswith("https://calendar.google.com/") and "mng_" not in google
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways at phone width"
    await page.screenshot(path=artifacts / "manage-page-phone.png", full_page=True)

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download calendar file (.ics)").click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".ics")
    assert "BEGIN:VCALENDAR" in text_of(await download.path())

    await page.get_by_role("button", name="Cancel appointment").click()
    reason = page.get_by_label("Why are you cancelling?")
    await expect(reason).to_be_focused()
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")  # "Yes, cancel it" without a reason
    await expect(page.locator("#cancel-reason-error")).to_have_text("Please tell the clinic why you are cancelling.")
    await expect(reason).to_be_focused()
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await reason.fill("I feel better")
    await page.get_by_role("button", name="Yes, cancel it").click()

    await expect(page.locator("#fact-status")).to_have_text("Cancelled")
    await expect(page.locator("#state-note")).to_have_text("This appointment is cancelled (reason: I feel better).")
    await expect(page.locator("#status")).to_contain_text("Your appointment is cancelled")
    await expect(page.locator("#actions")).to_be_hidden()
    await expect(page.locator("#title")).to_be_focused()
    await page.screenshot(path=artifacts / "manage-page-cancelled.png", full_page=True)
    cancelled = fetch(live_server, a["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancellation"]["reason"] == "I feel better"

    # the link still shows what became of it
    again = await shown(await open_page(path, "Europe/Berlin"))
    await expect(again.locator("#fact-status")).to_have_text("Cancelled")


async def test_the_patient_moves_the_appointment_and_keeps_managing_it(
    live_server: LiveServer, live_clinic: Clinic, settings: Settings, open_page: Any, artifacts: Path
) -> None:
    a = book(live_server, live_clinic, live_clinic.at(3, 10))
    path = manage_path(settings, a["id"], datetime.fromisoformat(a["end"]))
    page = await shown(await open_page(path, "Europe/Berlin"))
    target = live_clinic.at(4, 11)

    await page.get_by_role("button", name="Reschedule").click()
    await expect(page.locator("#reschedule-heading")).to_be_focused()
    await page.screenshot(path=artifacts / "manage-page-slots.png", full_page=True)
    await expect(page.locator("#slot-days")).to_have_attribute("aria-busy", "false")
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    await expect(page.locator("#reschedule-zone")).to_contain_text(PATIENT_ZONE)
    day = page.locator(f'button[data-date="{wall(target):%Y-%m-%d}"]')  # the month view: choose its day
    if not await day.count():
        await page.get_by_role("button", name="Next month").click()
    await day.click()
    button = page.locator(f'button[data-slot-start="{target}"]')
    await expect(button).to_have_text(f"{wall(target):%H:%M}")
    await button.click()
    await expect(page.locator("#move-question")).to_be_focused()
    await expect(page.locator("#move-time")).to_contain_text(f"{wall(target):%H:%M}")
    await page.get_by_role("button", name="Move my appointment").click()

    ny = wall(target)
    await expect(page.locator("#fact-when")).to_contain_text(f"{ny.day} {ny:%B} {ny.year}, {ny:%H:%M}")
    await expect(page.locator("#status")).to_contain_text("Your appointment is moved")
    await expect(page.locator("#reschedule")).to_be_hidden()
    new_link = page.locator("#new-link a")
    await expect(new_link).to_have_attribute("href", re.compile(r"^/manage/mng_"))
    new_path = await new_link.get_attribute("href")
    assert new_path and new_path != path and page.url.endswith(new_path)  # the address bar holds the new link
    await page.screenshot(path=artifacts / "manage-page-moved.png", full_page=True)

    old = fetch(live_server, a["id"])
    assert old["status"] == "rescheduled"
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as http:
        r = await http.get(f"/v1/appointments/{a['id']}", headers={"Authorization": f"Bearer {path.rsplit('/', 1)[1]}"})
    assert r.status_code == 401 and r.json()["moved_to"]["start"] == target

    # the new link works from a fresh browser; the old one says where the appointment went
    fresh = await shown(await open_page(new_path, "Europe/Berlin"))
    await expect(fresh.locator("#fact-when")).to_contain_text(f"{ny:%H:%M}")
    await expect(fresh.locator("#fact-status")).to_have_text("Confirmed")
    stale = await open_page(path, "Europe/Berlin")
    await expect(stale.get_by_role("heading", level=1)).to_have_text("This appointment was moved")
    await expect(stale.locator("#refused-text")).to_contain_text(f"{ny:%H:%M} ({PATIENT_ZONE})")
    await stale.screenshot(path=artifacts / "manage-page-stale-link.png")


async def test_join_opens_the_room_on_the_first_click(
    live_server: LiveServer, live_clinic: Clinic, settings: Settings, open_page: Any
) -> None:
    began = await insert_past(settings, live_clinic, timedelta(minutes=-25))  # started 5 minutes ago
    path = manage_path(settings, began, datetime.now().astimezone() + timedelta(minutes=25))
    page = await shown(await open_page(path))

    async def room(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html", body="<title>Consultation room</title>")

    await page.context.route(f"{ROOMS}**", room)
    join = page.get_by_role("button", name="Join now")
    await expect(join).to_be_enabled()
    async with page.expect_popup() as popup_info:
        await join.click()
    popup = await popup_info.value
    await expect(popup).to_have_url(re.compile(f"^{re.escape(ROOMS)}[0-9a-f]{{24}}$"))
    await expect(popup).to_have_title("Consultation room")
    await expect(page.locator("#status")).to_contain_text("opened in a new window")


async def test_a_german_browser_reads_the_manage_page_in_german(
    live_server: LiveServer, live_clinic: Clinic, settings: Settings, open_page: Any
) -> None:
    a = book(live_server, live_clinic, live_clinic.at(1, 10))
    page = await open_page(manage_path(settings, a["id"], datetime.fromisoformat(a["end"])), locale="de-DE")
    assert await page.evaluate("document.documentElement.lang") == "de"
    await expect(page.locator("#fact-status")).to_have_text("Bestätigt")
    german = "Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag"
    await expect(page.locator("#fact-when")).to_have_text(re.compile(rf"^({german}), "))
    await expect(page.locator("#join-hint")).to_have_text(re.compile(rf"^Teilnahme ab (Heute|Morgen|{german}), "))
    await expect(page.get_by_role("button", name="Termin absagen")).to_be_visible()
    await page.get_by_role("button", name="Verschieben").click()
    await expect(page.locator("#slot-days")).to_have_attribute("aria-busy", "false")
    await expect(page.get_by_role("button", name="Nächster Monat")).to_be_visible()
    text = await page.locator("main").inner_text()
    for english in ("Today", "Tomorrow", "Monday", "Saturday", "Sunday", "Cancel", "Reschedule", "minutes"):
        assert english not in text, english
    await look(page, "manage-german-reschedule")
