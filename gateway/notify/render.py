"""What the messages say: each event for each recipient, as an email (plain text and HTML) or an SMS.

A message is first a :class:`Letter` (subject, lead, details, links), then written out twice from
that one structure, so the text and the HTML part always say the same, and every value reaches
the HTML through one escape. Times are shown in the reader's zone, always naming it: the
patient's own (``patient.timezone``), else the doctor's. Nothing here reads the meeting room's
address (design invariant 10): patients get their signed manage link, staff the gateway's pages.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.models import Doctor

SMS_LIMIT = 160
"""One SMS segment (GSM-7): longer bodies cost two and may arrive split."""


def reference(appointment_id: object) -> str:
    """The booking reference people quote: the appointment id's first 8 characters, upper case."""
    return str(appointment_id)[:8].upper()


def _zone(name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass(frozen=True)
class When:
    """An appointment's time in one reader's zone."""

    start: datetime
    end: datetime
    zone: str

    @classmethod
    def of(cls, start: str, end: str, *zones: str | None) -> When:
        """The instants (ISO, UTC) shown in the first of ``zones`` that exists (else UTC)."""
        name, tz = next(((z, found) for z in zones if z and (found := _zone(z))), ("UTC", ZoneInfo("UTC")))
        return cls(datetime.fromisoformat(start).astimezone(tz), datetime.fromisoformat(end).astimezone(tz), name)

    @property
    def zone_label(self) -> str:
        abbreviation = self.start.tzname() or ""
        return self.zone if abbreviation in (self.zone, "") else f"{self.zone} time, {abbreviation}"

    def long(self) -> str:
        s, e = self.start, self.end
        until = f"{e:%H:%M}" if e.date() == s.date() else f"{e:%A} {e.day} {e:%B}, {e:%H:%M}"
        return f"{s:%A} {s.day} {s:%B %Y}, {s:%H:%M}\u2013{until} ({self.zone_label})"

    def short(self) -> str:
        return f"{self.start:%a} {self.start.day} {self.start:%b} {self.start:%H:%M}"


@dataclass(frozen=True)
class Facts:
    """Everything one message may say, gathered once per delivery (``gateway/notify/email.py``)."""

    event_type: str
    recipient: str
    """``patient``, ``doctor`` or ``admins``."""
    target: str
    """The address or number it goes to."""
    data: dict[str, Any]
    organisation_name: str
    public_url: str
    doctor: Doctor | None = None
    type_name: str | None = None
    manage_url: str | None = None
    """Patients only: the signed manage-my-booking link (it can cancel: never for anyone else)."""
    previous: dict[str, Any] | None = None
    """After a reschedule: the old appointment's ``start``, ``end`` and ``doctor_name``."""

    @property
    def appointment(self) -> dict[str, Any]:
        found: dict[str, Any] = self.data.get("appointment") or {}
        return found

    @property
    def patient(self) -> dict[str, Any]:
        found: dict[str, Any] = self.appointment.get("patient") or {}
        return found

    def when(self, start: str | None = None, end: str | None = None) -> When:
        """The appointment's (or the given) time in the reader's zone."""
        zones = [self.doctor.timezone if self.doctor else None]
        if self.recipient == "patient":
            zones.insert(0, self.patient.get("timezone"))
        return When.of(start or self.appointment["start"], end or self.appointment["end"], *zones)

    @property
    def what(self) -> str:
        doctor = self.doctor.name if self.doctor else "your doctor"
        return f"{self.type_name or 'Appointment'} with {doctor}"


@dataclass
class Letter:
    """One email, before it is written out as text and as HTML."""

    subject: str
    greeting: str
    lead: str
    details: list[tuple[str, str]] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    """(what it is for, URL)."""
    signature: str = ""

    def text(self) -> str:
        width = max((len(label) for label, _ in self.details), default=0) + 2
        lines = [self.greeting, "", self.lead, ""]
        lines += [f"  {label + ':':<{width}}{value}" for label, value in self.details]
        for paragraph in self.paragraphs:
            lines += ["", paragraph]
        for label, url in self.links:
            lines += ["", f"{label}:", url]
        lines += ["", self.signature]
        return "\n".join(lines).strip() + "\n"

    def html(self) -> str:
        e = html.escape
        rows = "".join(
            f'<tr><th align="left" valign="top" style="padding:2px 16px 2px 0">{e(label)}</th><td>{e(value)}</td></tr>'
            for label, value in self.details
        )
        links = "".join(
            f'<p><a href="{e(url)}" style="color:#0b5cad">{e(label)}</a><br>'
            f'<span style="color:#666;font-size:12px">{e(url)}</span></p>'
            for label, url in self.links
        )
        body = [
            f"<p>{e(self.greeting)}</p>",
            f"<p><strong>{e(self.lead)}</strong></p>",
            f'<table role="presentation" style="border-collapse:collapse">{rows}</table>' if rows else "",
            *(f"<p>{e(p)}</p>" for p in self.paragraphs),
            links,
            f"<p>{e(self.signature)}</p>",
        ]
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{e(self.subject)}</title></head>'
            f'<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;color:#222">{"".join(body)}'
            "</body></html>\n"
        )


def _by(actor: str | None, recipient: str) -> str:
    if actor in ("patient", "partner"):
        return "you" if recipient == "patient" else "the patient"
    if actor == "doctor":
        return "you" if recipient == "doctor" else "the doctor"
    return "the clinic"


def _reason(f: Facts) -> str:
    change: dict[str, Any] = f.data.get("change") or {}
    cancellation: dict[str, Any] = f.appointment.get("cancellation") or {}
    return str(change.get("reason") or cancellation.get("reason") or "none given")


def _actor(f: Facts) -> str | None:
    change: dict[str, Any] = f.data.get("change") or {}
    actor = change.get("actor")
    return str(actor) if actor else None


def _book_again(f: Facts) -> tuple[str, str]:
    a = f.appointment
    return "Book another time", f"{f.public_url}/book/{a['doctor_id']}?appointment_type_id={a['appointment_type_id']}"


def _patient_letter(f: Facts) -> Letter | None:
    a, kind, when = f.appointment, f.event_type, f.when()
    letter = Letter(
        subject="",
        greeting=f"Hello {f.patient.get('name') or 'there'},",
        lead="",
        details=[("What", f.what), ("When", when.long()), ("Reference", reference(a["id"]))],
        signature=f.organisation_name,
    )
    if kind == "appointment.booked" and a.get("status") == "pending_approval":
        letter.subject = f"Request received: {f.what}, {when.short()}"
        letter.lead = "We have your booking request. The clinic still has to approve it; we will write when it has."
    elif kind == "appointment.booked":
        letter.subject = f"Booked: {f.what}, {when.short()}"
        letter.lead = "Your appointment is booked."
    elif kind == "appointment.approved":
        letter.subject = f"Approved: {f.what}, {when.short()}"
        letter.lead = "The clinic has approved your appointment."
    elif kind == "appointment.rescheduled":
        letter.subject = f"Moved: {f.what}, now {when.short()}"
        letter.lead = "Your appointment has been moved to a new time."
        letter.details[1] = ("New time", when.long())
        if f.previous is not None:
            letter.details.insert(2, ("Was", f.when(f.previous["start"], f.previous["end"]).long()))
    elif kind == "appointment.cancelled":
        letter.subject = f"Cancelled: {f.what}, {when.short()}"
        letter.lead = f"Your appointment has been cancelled by {_by(_actor(f), 'patient')}."
        letter.details.append(("Reason", _reason(f)))
        letter.links.append(_book_again(f))
    elif kind == "appointment.reminder":
        letter.subject = f"Reminder: {f.what}, {when.short()}"
        letter.lead = "A reminder of your appointment."
    elif kind == "appointment.completed":
        letter.subject = f"Thank you for your visit: {f.what}"
        letter.lead = "Thank you for your consultation."
        if f.manage_url:  # the link lapses an hour after the end: only while it still opens the booking
            letter.lead += " How was it? You can rate it on your booking page."
    else:
        return None
    if kind in ("appointment.booked", "appointment.approved", "appointment.rescheduled", "appointment.reminder"):
        letter.paragraphs.append(
            "It is a video consultation: the room opens 10 minutes before the start, from your booking page."
        )
    if f.manage_url:
        label = "Your booking: see it, join, cancel or reschedule, add it to your calendar"
        letter.links.insert(0, (label, f.manage_url))
    return letter


def _moved_away(f: Facts) -> bool:
    """Whether this doctor's email tells the doctor an appointment left them for another doctor."""
    previous = f.previous or {}
    return (
        f.event_type == "appointment.rescheduled"
        and previous.get("doctor_id") not in (None, f.appointment.get("doctor_id"))
        and f.target.casefold() == str(previous.get("doctor_email") or "").casefold()
    )


def _staff_letter(f: Facts) -> Letter | None:
    """An email to the doctor or the organisation's admins about one appointment."""
    a, kind, when = f.appointment, f.event_type, f.when()
    patient = f.patient.get("name") or "A patient"
    greeting = f"Hello {f.doctor.name}," if f.recipient == "doctor" and f.doctor else "Hello,"
    letter = Letter(
        subject="",
        greeting=greeting,
        lead="",
        details=[("Patient", patient), ("What", f.what), ("When", when.long()), ("Reference", reference(a["id"]))],
        links=[("Open the schedule", f"{f.public_url}{'/doctor' if f.recipient == 'doctor' else '/admin'}")],
        signature=f.organisation_name,
    )
    was = f.when(f.previous["start"], f.previous["end"]) if f.previous else None
    if kind == "appointment.booked" and a.get("status") == "pending_approval":
        letter.subject = f"Booking request: {patient}, {when.short()}"
        letter.lead = "A new booking waits for approval."
    elif kind == "appointment.booked":
        letter.subject = f"New booking: {patient}, {when.short()}"
        letter.lead = "A new appointment is booked."
    elif kind == "appointment.cancelled":
        letter.subject = f"Cancelled: {patient}, {when.short()}"
        letter.lead = f"This appointment was cancelled by {_by(_actor(f), f.recipient)}."
        letter.details.append(("Reason", _reason(f)))
    elif _moved_away(f):
        letter.subject = f"Moved to another doctor: {patient}, {was.short() if was else when.short()}"
        letter.lead = "This appointment has moved to another doctor: it is no longer in your schedule."
        letter.details[2:3] = [("Was", was.long() if was else "(unknown)"), ("Now", when.long())]
    elif kind == "appointment.rescheduled":
        letter.subject = f"Moved: {patient}, now {when.short()}"
        letter.lead = "An appointment has moved to a new time."
        letter.details[2] = ("New time", when.long())
        if was is not None and f.previous is not None:
            letter.details.insert(3, ("Was", f"{was.long()}, with {f.previous['doctor_name']}"))
    elif kind == "appointment.reminder":
        letter.subject = f"Reminder: {patient}, {when.short()}"
        letter.lead = "A reminder of an upcoming appointment."
    elif kind == "review.low_rating":
        review: dict[str, Any] = f.data.get("review") or {}
        letter.subject = f"Low rating: {review.get('rating')}/5 for {f.what}"
        letter.lead = "A patient rated a consultation at or under the organisation's alert threshold."
        comment = str(review.get("comment") or "(none)")
        letter.details[:0] = [("Rating", f"{review.get('rating')} of 5"), ("Comment", comment)]
    else:
        return None
    return letter


def _webhook_letter(f: Facts) -> Letter:
    hook: dict[str, Any] = f.data.get("webhook") or {}
    return Letter(
        subject=f"Webhook disabled: {hook.get('url')}",
        greeting="Hello,",
        lead="A webhook subscription kept failing and has been disabled: no events go to it now.",
        details=[
            ("URL", str(hook.get("url"))),
            ("Description", str(hook.get("description") or "(none)")),
            ("Why", str(hook.get("disabled_reason") or "(not recorded)")),
        ],
        paragraphs=["Fix the receiver, then enable the subscription again on the admin page."],
        links=[("Open the admin page", f"{f.public_url}/admin")],
        signature=f.organisation_name,
    )


def email(f: Facts) -> Letter | None:
    """The email ``f`` makes, or ``None`` when this recipient is not told of this event by email."""
    if f.event_type == "webhook.disabled":
        return _webhook_letter(f)
    if not f.appointment:
        return None
    return _patient_letter(f) if f.recipient == "patient" else _staff_letter(f)


def _fit(parts: list[str], extra: str = "") -> str:
    """``parts`` joined, the longest shortened until the body fits one SMS; ``extra`` only if it fits too."""
    parts = list(parts)
    while len(body := "".join(parts)) > SMS_LIMIT:
        longest = max(range(len(parts)), key=lambda i: len(parts[i]))
        if len(parts[longest]) <= 12:
            break
        parts[longest] = parts[longest][: max(12, len(parts[longest]) - (len(body) - SMS_LIMIT) - 3)] + "..."
    return body + extra if len(body + extra) <= SMS_LIMIT else body


def sms(f: Facts) -> str | None:
    """The SMS ``f`` makes (reminders only), short enough for one segment where the names allow."""
    if f.event_type != "appointment.reminder" or f.recipient not in ("patient", "doctor"):
        return None
    when = f.when()
    ref = f" Ref {reference(f.appointment['id'])}"
    if f.recipient == "patient":
        doctor = f.doctor.name if f.doctor else "your doctor"
        parts = ["Reminder: ", f.type_name or "appointment", " with ", doctor, f", {when.short()} ({when.zone}).", ref]
        return _fit(parts, f" {f.manage_url}" if f.manage_url else "")
    parts = ["Reminder: ", f.patient.get("name") or "a patient", ", ", f.type_name or "appointment"]
    return _fit([*parts, f", {when.short()} ({when.zone}).", ref])
