"""An appointment as an iCalendar file: stable UID, SEQUENCE raised on each change."""

from __future__ import annotations

from icalendar import Calendar, Event

from store.models import Appointment, AppointmentType, Doctor

STATUS = {"confirmed": "CONFIRMED", "pending_approval": "TENTATIVE", "completed": "CONFIRMED"}


def ics(a: Appointment, doctor: Doctor, appointment_type: AppointmentType, public_url: str) -> bytes:
    """The iCalendar text of one appointment.

    It links to the gateway's join route, never to the room: a calendar file is forwarded, synced
    and shared, and the room opens only to the appointment's people inside the join window.
    """
    cal = Calendar()
    cal.add("prodid", "-//Booking gateway//Telehealth appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{a.id}@booking-gateway")
    event.add("sequence", a.ics_sequence)
    event.add("dtstamp", a.updated_at)
    event.add("last-modified", a.updated_at)
    event.add("created", a.created_at)
    event.add("dtstart", a.starts_at)
    event.add("dtend", a.ends_at)
    event.add("summary", f"{appointment_type.name} with {doctor.name}")
    join = f"{public_url}/v1/appointments/{a.id}/join"
    event.add("url", join)
    event.add("location", "Video consultation")
    event.add("description", f"Join the video consultation from 10 minutes before the start: {join}")
    event.add("status", STATUS.get(a.status, "CANCELLED"))
    cal.add_component(event)
    return bytes(cal.to_ical())
