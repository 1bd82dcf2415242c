// Adding the appointment to a calendar: the gateway's .ics file (fetched with the link's token, as
// every call of this page is), or a new event in Google Calendar or Outlook on the web, built here.
// The events name no link: the page's address is the patient's key to the appointment, and a
// calendar is shared and synced; they say where to join from instead.

import { ApiError } from "../common/http.js";
import { el } from "../common/dom.js";
import { t } from "../common/i18n.js";

const JOIN_NOTE = t("m.joinNote");
const LOCATION = t("m.video");

/** 2026-05-04T09:00:00Z -> 20260504T090000Z (Google's form of a UTC instant). */
function compact(instant) {
  return new Date(instant).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

/** 2026-05-04T09:00:00Z (Outlook's form). */
function utc(instant) {
  return new Date(instant).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The event's title: "30-minute consultation with Dr. Ada Test". */
export function eventTitle(typeName, doctorName) {
  return t("m.eventTitle", typeName || t("m.appointment"), doctorName || "");
}

export function googleUrl(title, appointment) {
  const query = new URLSearchParams({
    action: "TEMPLATE",
    text: title,
    dates: `${compact(appointment.start)}/${compact(appointment.end)}`,
    details: JOIN_NOTE,
    location: LOCATION,
  });
  return `https://calendar.google.com/calendar/render?${query}`;
}

export function outlookUrl(title, appointment) {
  const query = new URLSearchParams({
    path: "/calendar/action/compose",
    rru: "addevent",
    subject: title,
    startdt: utc(appointment.start),
    enddt: utc(appointment.end),
    body: JOIN_NOTE,
    location: LOCATION,
  });
  return `https://outlook.live.com/calendar/0/deeplink/compose?${query}`;
}

/**
 * Download the appointment's .ics file. A link cannot carry the token in a header, so the file is
 * fetched and handed to the browser as a download of its own.
 */
export async function downloadIcs(appointmentId, token, fileName) {
  let response;
  try {
    response = await fetch(`/v1/appointments/${encodeURIComponent(appointmentId)}.ics`, {
      headers: { Accept: "text/calendar", Authorization: `Bearer ${token}` },
    });
  } catch {
    throw new ApiError(0, "network", "The gateway could not be reached.");
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    throw new ApiError(response.status, (data && data.code) || `http_${response.status}`, data && data.detail, data);
  }
  const url = URL.createObjectURL(await response.blob());
  const anchor = el("a", { href: url, download: fileName, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
