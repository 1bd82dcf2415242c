// The booked result: when, with whom, the meeting link, and what happens next.

import { t } from "../common/i18n.js";

const $ = (id) => document.getElementById(id);

/** Show the confirmed appointment, in the patient's zone, with its meeting link. */
export function showAppointment(clock, appointment) {
  $("done-time").textContent = `${clock.span(appointment.start, appointment.end)} (${clock.zone})`;
  $("done-reference").textContent = appointment.reference || "";
  const link = $("done-link");
  const url = appointment.meeting_url;
  if (url && /^https?:\/\//i.test(url)) {
    const anchor = Object.assign(document.createElement("a"), { href: url, textContent: url, rel: "noopener" });
    link.replaceChildren(anchor);
  } else {
    link.textContent = t("done.linkLater");
  }
  $("done-note").textContent =
    appointment.status === "pending_approval" ? t("done.pending", appointment.patient.email) : t("done.sent", appointment.patient.email);
  $("done").hidden = false;
  $("done-heading").textContent = appointment.status === "pending_approval" ? t("done.request") : t("done.heading");
  $("done-heading").focus();
}
