// A held slot, as the booking faces show it: the countdown to the hold's deadline, the confirm
// form (name, email), and the lapse. The markup is the face's own; `ids` names its elements
// (the booking page and the widget's shadow root use different ids).

import { t } from "./i18n.js";
import { countdown } from "./time.js";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** The widget's ids; a face with other ids passes the ones that differ. */
export const HOLD_IDS = {
  hold: "hold",
  heading: "hold-heading",
  time: "hold-time",
  countdownLine: "countdown-line",
  countdown: "countdown",
  lapsed: "lapsed",
  lapsedBack: "lapsed-back",
  form: "confirm-form",
  name: "name",
  email: "email",
  confirm: "confirm",
  release: "release",
};

export class HoldForm {
  /**
   * @param {Document|ShadowRoot} root  where the ids live
   * @param {import("./time.js").Clock} clock  the patient's zone
   * @param {{onSubmit: Function, onRelease: Function, onLapse: Function, onBack: Function, onTick?: Function}} handlers
   * @param {{ids?: object, zoneInTime?: boolean}} options  `zoneInTime` adds the zone's name to the held time
   */
  constructor(root, clock, { onSubmit, onRelease, onLapse, onBack, onTick = () => undefined }, { ids = {}, zoneInTime = false } = {}) {
    const names = { ...HOLD_IDS, ...ids };
    this.$ = (key) => root.getElementById(names[key]);
    this.errorOf = (key) => root.getElementById(`${names[key]}-error`);
    this.clock = clock;
    this.zoneInTime = zoneInTime;
    this.onLapse = onLapse;
    this.onTick = onTick; // the countdown's text, every tick (the face shows it on the held slot too)
    this.hold = null;
    this.timer = null;
    this.$("form").addEventListener("submit", (event) => {
      event.preventDefault();
      const patient = this.validate();
      if (patient) onSubmit(this.hold, patient);
    });
    this.$("release").addEventListener("click", () => onRelease(this.hold));
    this.$("lapsedBack").addEventListener("click", onBack);
  }

  /** Show a new hold; `deadline` is when it lapses, by our clock. Fill in what the token knows. */
  show(hold, deadline, known = {}) {
    this.hold = hold;
    this.deadline = deadline;
    const span = this.clock.span(hold.start, hold.end);
    this.$("heading").textContent = t("hold.heading");
    this.$("time").textContent = this.zoneInTime ? `${span} (${this.clock.zone})` : span;
    for (const key of ["name", "email"]) {
      if (!this.$(key).value && typeof known[key] === "string") this.$(key).value = known[key];
    }
    this.$("form").hidden = false;
    this.$("countdownLine").hidden = false;
    this.$("lapsed").hidden = true;
    this.busy(false);
    this.tick();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), 250);
  }

  tick() {
    const left = this.deadline - Date.now();
    this.$("countdown").textContent = countdown(left);
    this.onTick(countdown(left));
    this.$("countdownLine").classList.toggle("urgent", left < 60_000);
    if (left <= 0) this.lapse();
  }

  /** The hold ran out (by our clock, or the gateway said 410). */
  lapse() {
    if (!this.hold) return;
    clearInterval(this.timer);
    this.hold = null;
    this.$("form").hidden = true;
    this.$("countdownLine").hidden = true;
    this.$("lapsed").hidden = false;
    this.$("heading").textContent = t("hold.lapsedHeading");
    this.$("lapsedBack").focus();
    this.onLapse();
  }

  stop() {
    clearInterval(this.timer);
    this.hold = null;
  }

  busy(on) {
    for (const button of this.$("hold").querySelectorAll("button")) button.disabled = on;
    this.$("form").setAttribute("aria-busy", String(on));
    this.$("confirm").textContent = on ? t("hold.confirming") : t("hold.confirm");
  }

  validate() {
    const name = this.$("name").value.trim();
    const email = this.$("email").value.trim();
    const problems = {
      name: name ? "" : t("form.nameMissing"),
      email: !email ? t("form.emailMissing") : EMAIL.test(email) ? "" : t("form.emailBad"),
    };
    let first = null;
    for (const [key, message] of Object.entries(problems)) {
      const input = this.$(key);
      const error = this.errorOf(key);
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
