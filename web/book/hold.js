// The held slot: countdown to expires_at, the confirm form (name, email), and the booked result.

import { countdown } from "./time.js";

const $ = (id) => document.getElementById(id);
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class HoldPanel {
  constructor(clock, { onSubmit, onRelease, onLapse, onBack }) {
    this.clock = clock;
    this.root = $("hold");
    this.form = $("confirm-form");
    this.fields = {
      name: { input: $("patient-name"), error: $("patient-name-error") },
      email: { input: $("patient-email"), error: $("patient-email-error") },
    };
    this.hold = null;
    this.timer = null;
    this.onLapse = onLapse;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const patient = this.validate();
      if (patient) onSubmit(this.hold, patient);
    });
    $("release-button").addEventListener("click", () => onRelease(this.hold));
    $("lapsed-back").addEventListener("click", onBack);
  }

  /** Show a new hold; `offset` is the gateway's clock minus ours, so the countdown is the gateway's. */
  show(hold, offset) {
    this.hold = hold;
    this.deadline = Date.parse(hold.expires_at) - offset;
    $("hold-time").textContent = this.clock.span(hold.start, hold.end);
    this.form.hidden = false;
    $("hold-countdown-line").hidden = false;
    $("hold-lapsed").hidden = true;
    this.busy(false);
    this.root.hidden = false;
    this.tick();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 250);
    $("hold-heading").focus();
  }

  tick() {
    const left = this.deadline - Date.now();
    $("hold-countdown").textContent = countdown(left);
    $("hold-countdown-line").classList.toggle("urgent", left < 60_000);
    if (left <= 0) this.lapse();
  }

  /** The hold ran out (by our clock, or the gateway said 410). */
  lapse() {
    if (!this.hold) return;
    clearInterval(this.timer);
    this.hold = null;
    this.form.hidden = true;
    $("hold-countdown-line").hidden = true;
    $("hold-lapsed").hidden = false;
    $("hold-heading").textContent = "Your hold has lapsed";
    $("lapsed-back").focus();
    this.onLapse();
  }

  hide() {
    clearInterval(this.timer);
    this.hold = null;
    this.root.hidden = true;
    $("hold-heading").textContent = "This time is held for you";
  }

  busy(on) {
    for (const button of this.root.querySelectorAll("button")) button.disabled = on;
    this.form.setAttribute("aria-busy", String(on));
    $("confirm-button").textContent = on ? "Confirming…" : "Confirm booking";
  }

  validate() {
    const name = this.fields.name.input.value.trim();
    const email = this.fields.email.input.value.trim();
    const problems = {
      name: name ? "" : "Please enter your name.",
      email: !email ? "Please enter your email." : EMAIL.test(email) ? "" : "Please enter an email like name@example.com.",
    };
    let first = null;
    for (const [key, message] of Object.entries(problems)) {
      const { input, error } = this.fields[key];
      input.setAttribute("aria-invalid", String(Boolean(message)));
      error.textContent = message;
      error.hidden = !message;
      if (message && !first) first = input;
    }
    if (first) {
      first.focus();
      return null;
    }
    return { name, email };
  }
}

/** Show the confirmed appointment, in the patient's zone, with its meeting link. */
export function showAppointment(clock, appointment) {
  $("done-time").textContent = `${clock.span(appointment.start, appointment.end)} (${clock.zone})`;
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
