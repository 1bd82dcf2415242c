// The booked result: when, with whom, the meeting link, and what happens next.

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
    link.textContent = "We will email it to you before the appointment.";
  }
  $("done-note").textContent =
    appointment.status === "pending_approval"
      ? `The clinic still has to approve this appointment; we will write to ${appointment.patient.email}.`
      : `A confirmation is on its way to ${appointment.patient.email}.`;
  $("done").hidden = false;
  $("done-heading").textContent = appointment.status === "pending_approval" ? "Request sent" : "You are booked";
  $("done-heading").focus();
}
