"""The admin page manages its doctors: add one (they appear in the page's lists at once), edit them
(a refused zone or email is explained at the field, nothing saved), issue a sign-in token that works
on /doctor and revoke it (the next sign-in with it is refused)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.accessibility import look
from tests.browser.test_admin_signin_search import DESKTOP, shown, sign_in
from tests.support import ADMIN_TOKEN, Clinic, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PHONE = {"width": 390, "height": 844}


def doctors(server: LiveServer, clinic: Clinic) -> dict[str, dict[str, Any]]:
    r = httpx.get(
        f"{server.url}/v1/organisations/{clinic.organisation_id}/doctors",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    return {doctor["name"]: doctor for doctor in r.json()}


def me_status(server: LiveServer, token: str) -> int:
    return httpx.get(f"{server.url}/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


async def no_sideways_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert width <= 0, f"the page scrolls sideways by {width}px"


async def test_an_admin_adds_edits_and_signs_in_a_doctor(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    page: Page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    await page.get_by_role("link", name="Doctors").click()

    # a zone the gateway does not know is refused at the field
    await page.get_by_label("New doctor's name", exact=True).fill("Dr. Grace New")
    zone = page.get_by_label("New doctor's time zone", exact=True)
    await zone.fill("Europe/Atlantis")
    await page.get_by_role("button", name="Add the doctor").click()
    await expect(page.locator("#doctor-add-zone-error")).to_contain_text("not a time zone we know")
    await expect(zone).to_be_focused()
    await expect(zone).to_have_attribute("aria-invalid", "true")
    assert "Dr. Grace New" not in doctors(live_server, live_clinic)

    await zone.fill("America/New_York")
    await page.get_by_role("button", name="Add the doctor").click()
    await expect(page.locator("#status")).to_contain_text("Dr. Grace New added")
    await expect(page.locator("#doctor-manage-heading")).to_have_text("Dr. Grace New")
    await expect(page.locator("#doctor-manage-heading")).to_be_focused()
    made = doctors(live_server, live_clinic)["Dr. Grace New"]
    assert made["timezone"] == "America/New_York"
    # in the page's lists without a reload, and followed live
    await expect(page.locator(f'#doctor-list [data-doctor-id="{made["id"]}"]')).to_contain_text("Dr. Grace New")
    await expect(page.locator("#filter-doctor option", has_text="Dr. Grace New")).to_have_count(1)
    await expect(page.locator("#live")).to_have_attribute("data-state", "live")
    await expect(page.locator("#who")).to_contain_text("2 doctors")

    # edit: a bad email is explained at the field and nothing is saved
    email = page.get_by_label("Email for booking notices")
    await page.get_by_label("Name", exact=True).fill("Dr. Grace Hopper")
    await email.fill("grace-at-clinic")
    await page.get_by_role("button", name="Save doctor").click()
    await expect(page.locator("#doctor-edit-email-error")).to_contain_text("not an email address")
    await expect(email).to_be_focused()
    assert "Dr. Grace New" in doctors(live_server, live_clinic)

    zone = page.get_by_label("Time zone", exact=True)
    await email.fill("grace@clinic.example")
    await zone.fill("Mars/Olympus")
    await page.get_by_role("button", name="Save doctor").click()
    await expect(page.locator("#doctor-edit-zone-error")).to_contain_text("not a time zone we know")
    await expect(zone).to_be_focused()
    await expect(page.locator("#doctor-edit-email-error")).to_be_hidden()
    await look(page, "admin-doctor-refused")
    assert doctors(live_server, live_clinic)["Dr. Grace New"]["email"] is None

    await zone.fill("Europe/Vienna")
    await page.get_by_label("Mobile for SMS reminders").fill("+43 664 1234567")
    await page.get_by_role("button", name="Save doctor").click()
    await expect(page.locator("#status")).to_contain_text("Dr. Grace Hopper saved")
    saved = doctors(live_server, live_clinic)["Dr. Grace Hopper"]
    assert (saved["timezone"], saved["email"], saved["mobile_phone"]) == (
        "Europe/Vienna",
        "grace@clinic.example",
        "+436641234567",
    )
    await expect(page.locator("#filter-doctor option", has_text="Dr. Grace Hopper")).to_have_count(1)

    # a sign-in token, shown once, that works on /doctor
    await page.get_by_role("button", name="Issue a sign-in token").click()
    reveal = page.locator("#token-reveal")
    await expect(reveal).to_be_focused()
    token = (await page.locator("#token-value").text_content() or "").strip()
    assert token
    assert token not in page.url
    assert token not in await page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    await look(page, "admin-doctor-token")
    doctor_page: Page = await open_page("/doctor", viewport=DESKTOP)
    await doctor_page.get_by_label("Doctor token").fill(token)
    await doctor_page.get_by_role("button", name="Sign in").click()
    await expect(doctor_page.get_by_role("heading", level=1)).to_have_text("Dr. Grace Hopper's schedule")

    await page.get_by_role("button", name="Hide the token").click()
    await expect(reveal).to_be_hidden()
    await expect(page.locator("#token-value")).to_have_text("")
    await expect(page.locator("#credentials-heading")).to_be_focused()

    # revoked: the next sign-in with it is refused
    revoke = page.get_by_role("button", name=re.compile("^Revoke token 1"))
    await revoke.click()
    await page.get_by_role("button", name=re.compile("^Really revoke token 1")).click()
    await expect(page.locator("#status")).to_contain_text("Sign-in token revoked")
    await expect(page.locator("#credential-list")).to_contain_text("Revoked")
    assert me_status(live_server, token) == 401
    second: Page = await open_page("/doctor", viewport=DESKTOP)
    await second.get_by_label("Doctor token").fill(token)
    await second.get_by_role("button", name="Sign in").click()
    await expect(second.locator("#token-error")).to_be_visible()
    await expect(second.get_by_label("Doctor token")).to_be_focused()


async def test_managing_doctors_fits_a_phone(live_clinic: Clinic, staff: Any, open_page: Any) -> None:
    page: Page = await open_page("/admin", viewport=PHONE)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    await page.get_by_role("button", name=re.compile("^Manage ")).first.click()
    await expect(page.locator("#doctor-manage-heading")).to_be_focused()
    await page.get_by_role("button", name="Issue a sign-in token").click()
    await expect(page.locator("#token-reveal")).to_be_focused()
    await no_sideways_scroll(page)
    await look(page, "admin-doctor-manage")
    # keyboard only: from the token, Tab reaches the button that hides it
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Hide the token")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#token-reveal")).to_be_hidden()
    await page.locator("#doctor-manage-close").click()
    await expect(page.locator("#doctor-manage")).to_be_hidden()
    await expect(page.get_by_role("button", name=re.compile("^Manage ")).first).to_be_focused()

    # the services' form, its "More rules" opened from the keyboard, fits too
    await page.get_by_role("link", name="Services").click()
    await page.locator("#service-more summary").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#service-more")).to_have_attribute("open", "")
    await no_sideways_scroll(page)


def add_doctor(server: LiveServer, clinic: Clinic, name: str) -> str:
    r = httpx.post(
        f"{server.url}/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": name, "timezone": "Europe/Berlin"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 201, r.text
    made: str = r.json()["id"]
    return made


def services(server: LiveServer, clinic: Clinic) -> dict[str, dict[str, Any]]:
    r = httpx.get(
        f"{server.url}/v1/organisations/{clinic.organisation_id}/appointment-types",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert r.status_code == 200, r.text
    return {service["name"]: service for service in r.json()}


def booking_status(server: LiveServer, doctor_id: str, type_id: str) -> int:
    return httpx.get(f"{server.url}/book/{doctor_id}?appointment_type_id={type_id}").status_code


async def test_an_admin_adds_a_service_one_doctor_offers_and_edits_it(
    live_server: LiveServer, live_clinic: Clinic, staff: Any, open_page: Any
) -> None:
    other = add_doctor(live_server, live_clinic, "Dr. Zed Other")
    first = doctors(live_server, live_clinic)
    ours = next(name for name, doctor in first.items() if doctor["id"] == live_clinic.doctor_id)
    page: Page = await open_page("/admin", viewport=DESKTOP)
    await sign_in(page, staff.admin_key(live_clinic))
    await shown(page)
    await page.get_by_role("link", name="Services").click()
    await expect(page.locator("#service-list")).to_have_attribute("aria-busy", "false")

    form = page.locator("#service-form")
    await form.get_by_label("Service name").fill("Follow-up call")
    duration = form.get_by_label("Length in minutes")
    await duration.fill("7")
    await form.get_by_label(ours, exact=True).check()
    await form.get_by_role("button", name="Add the service").click()
    await expect(page.locator("#service-duration-error")).to_contain_text("in steps of 5")
    await expect(duration).to_be_focused()

    # a rule the gateway refuses is explained at its field, the closed "More rules" opened for it
    await duration.fill("20")
    await page.locator("#service-more summary").click()
    await form.get_by_label("Break after each booking (minutes)").fill("10")
    advance = form.get_by_label("Bookable up to this many days ahead")
    await advance.fill("999")
    await page.locator("#service-more summary").click()  # closed again
    await form.get_by_role("button", name="Add the service").click()
    await expect(page.locator("#service-advance-error")).to_be_visible()
    await expect(advance).to_be_focused()
    await expect(advance).to_have_attribute("aria-invalid", "true")
    assert "Follow-up call" not in services(live_server, live_clinic)
    await look(page, "admin-service-refused")

    await advance.fill("90")
    await form.get_by_label("Payment when booking").select_option("full")
    await form.get_by_label("Price (EUR)").fill("45.50")
    await form.get_by_role("button", name="Add the service").click()
    await expect(page.locator("#status")).to_contain_text("Follow-up call added")
    made = services(live_server, live_clinic)["Follow-up call"]
    assert made["doctor_ids"] == [live_clinic.doctor_id]
    assert (made["duration_minutes"], made["buffer_minutes"], made["max_advance_days"]) == (20, 10, 90)
    assert (made["payment_mode"], made["fee_cents"], made["hold_ttl_seconds"]) == ("full", 4550, 900)
    row = page.locator(f'#service-list [data-type-id="{made["id"]}"]')
    await expect(row).to_contain_text("20 min")
    await expect(row).to_contain_text("pays 45.50 EUR when booking")
    await expect(row).to_contain_text(f"Offered by {ours}")
    await expect(row.get_by_role("button", name="Edit Follow-up call")).to_be_focused()
    await look(page, "admin-services")

    # offered by the one doctor: their booking page opens, the other's is the 404 page
    assert booking_status(live_server, live_clinic.doctor_id, made["id"]) == 200
    refused: Page = await open_page("/admin", viewport=DESKTOP)
    response = await refused.goto(f"/book/{other}?appointment_type_id={made['id']}")
    assert response is not None and response.status == 404

    # edit: the form is filled from the service; the new length is what the gateway keeps
    await row.get_by_role("button", name="Edit Follow-up call").click()
    await expect(page.locator("#service-form-heading")).to_have_text("Edit Follow-up call")
    await expect(page.locator("#service-form-heading")).to_be_focused()
    await expect(duration).to_have_value("20")
    await expect(form.get_by_label(ours, exact=True)).to_be_checked()
    await duration.fill("45")
    await form.get_by_role("button", name="Save the service").click()
    await expect(page.locator("#status")).to_contain_text("Follow-up call saved")
    await expect(row).to_contain_text("45 min")
    await expect(page.locator("#service-form-heading")).to_have_text("Add a service")
    edited = services(live_server, live_clinic)["Follow-up call"]
    assert edited["duration_minutes"] == 45
    assert (edited["doctor_ids"], edited["fee_cents"]) == ([live_clinic.doctor_id], 4550)  # the rest kept
    assert booking_status(live_server, other, made["id"]) == 404
