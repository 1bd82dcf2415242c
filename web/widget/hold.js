// The widget's held slot: countdown to the hold's deadline, the confirm form, the lapse.

import { countdown } from "../book/time.js";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export class HoldView {
  constructor(root, clock, { onSubmit, onRelease, onLapse, onBack }) {
    this.$ = (id) => root.getElementById(id);
    this.clock = clock;
    this.onLapse = onLapse;
    this.hold = null;
    this.timer = null;
    this.$("confirm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const patient = this.validate();
      if (patient) onSubmit(this.hold, patient);
    });
    this.$("release").addEventListener("click", () => onRelease(this.hold));
    this.$("lapsed-back").addEventListener("click", onBack);
  }

  /** Show a new hold; `deadline` is when it lapses, by our clock. Fill in what the token knows. */
  show(hold, deadline, known = {}) {
    const $ = this.$;
    this.hold = hold;
    this.deadline = deadline;
    $("hold-heading").textContent = "This time is held for you";
    $("hold-time").textContent = `${this.clock.span(hold.start, hold.end)} (${this.clock.zone})`;
    for (const key of ["name", "email"]) {
      if (!$(key).value && typeof known[key] === "string") $(key).value = known[key];
    }
    $("confirm-form").hidden = false;
    $("countdown-line").hidden = false;
    $("lapsed").hidden = true;
    this.busy(false);
    this.tick();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 250);
  }

  tick() {
    const left = this.deadline - Date.now();
    this.$("countdown").textContent = countdown(left);
    this.$("countdown-line").classList.toggle("urgent", left < 60_000);
    if (left <= 0) this.lapse();
  }

  /** The hold ran out (by our clock, or the gateway said 410). */
  lapse() {
    if (!this.hold) return;
    clearInterval(this.timer);
    this.hold = null;
    this.$("confirm-form").hidden = true;
    this.$("countdown-line").hidden = true;
    this.$("lapsed").hidden = false;
    this.$("hold-heading").textContent = "Your hold has lapsed";
    this.$("lapsed-back").focus();
    this.onLapse();
  }

  stop() {
    clearInterval(this.timer);
    this.hold = null;
  }

  busy(on) {
    for (const button of this.$("hold").querySelectorAll("button")) button.disabled = on;
    this.$("confirm-form").setAttribute("aria-busy", String(on));
    this.$("confirm").textContent = on ? "Confirming…" : "Confirm booking";
  }

  validate() {
    const name = this.$("name").value.trim();
    const email = this.$("email").value.trim();
    const problems = {
      name: name ? "" : "Please enter your name.",
      email: !email ? "Please enter your email." : EMAIL.test(email) ? "" : "Please enter an email like name@example.com.",
    };
    let first = null;
    for (const [key, message] of Object.entries(problems)) {
      const input = this.$(key);
      const error = this.$(`${key}-error`);
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
