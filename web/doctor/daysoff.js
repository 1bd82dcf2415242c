// The doctor's date overrides: upcoming days off listed with Remove and a form to add one; days
// with custom hours instead listed apart, as custom hours, with Remove and a form to add some.

import { coalesce, el } from "../common/dom.js";
import { addDays, dayKeyOf, hhmm, minutesOf } from "../common/zones.js";

const $ = (id) => document.getElementById(id);
const dateFormat = new Intl.DateTimeFormat(undefined, { timeZone: "UTC", weekday: "long", day: "numeric", month: "long", year: "numeric" });

/** "Friday, 27 November 2026" for "2026-11-27". */
export const dateLabel = (key) => dateFormat.format(new Date(`${key}T12:00:00Z`));

export class DaysOff {
  constructor({ api, doctor, notice, onError, onLoaded = () => undefined }) {
    Object.assign(this, { api, doctor, notice, onError, onLoaded });
    this.path = `/v1/doctors/${encodeURIComponent(doctor.id)}/date-overrides`;
    this.refresh = coalesce(() => this.load());
    this.overrides = [];
    // handler properties, not listeners: a second sign-in in this tab builds this again
    $("day-off-form").onsubmit = (event) => {
      event.preventDefault();
      this.add();
    };
    $("custom-hours-form").onsubmit = (event) => {
      event.preventDefault();
      this.addHours();
    };
  }

  today() {
    return dayKeyOf(this.doctor.timezone);
  }

  async load() {
    const today = this.today();
    $("day-off-date").min = today;
    $("custom-date").min = today;
    let overrides;
    try {
      overrides = await this.api.get(this.path, { from: today, to: addDays(today, 366) });
    } catch (error) {
      this.onError(error);
      return;
    }
    // A day with other hours is a working day: it is listed under "Custom hours", not as a day off.
    const item = (o) => {
      const hours = o.available ? o.windows.map((w) => `${hhmm(w.start_minute)}–${hhmm(w.end_minute)}`).join(", ") : "";
      const what = o.available ? `Custom hours ${hours}` : "Day off";
      const remove = el("button", {
        type: "button", className: "secondary small", textContent: "Remove",
        attrs: { "aria-label": `Remove ${o.available ? `custom hours ${hours}` : "day off"} on ${dateLabel(o.date)}` },
        onclick: () => this.remove(o),
      });
      return el("li", { className: o.available ? "override custom-day" : "override", dataset: { date: o.date } },
        el("div", { className: "window-main" }, el("span", { className: "window-label" }, dateLabel(o.date)),
          el("span", { className: "muted small-text" }, o.available ? (hours ? `Open ${hours}` : "Open, no hours set") : what)),
        el("div", { className: "row-actions" }, remove));
    };
    const list = (items, empty) => (items.length ? el("ul", { className: "windows", attrs: { role: "list" } }, items.map(item)) : el("p", { className: "muted" }, empty));
    $("override-list").replaceChildren(list(overrides.filter((o) => !o.available), "No days off planned."));
    $("custom-hours-list").replaceChildren(list(overrides.filter((o) => o.available), "No days with custom hours planned."));
    for (const id of ["override-list", "custom-hours-list"]) $(id).setAttribute("aria-busy", "false");
    this.overrides = overrides;
    this.onLoaded(overrides);
  }

  problem(text) {
    $("day-off-error").textContent = text;
    $("day-off-error").hidden = !text;
    $("day-off-date").setAttribute("aria-invalid", String(Boolean(text)));
  }

  async add() {
    const date = $("day-off-date").value;
    this.problem(!date ? "Please pick a date." : date < this.today() ? "Please pick today or a later date." : "");
    if (!date || date < this.today()) {
      $("day-off-date").focus();
      return;
    }
    this.notice.clear();
    try {
      await this.api.post(this.path, { date, available: false });
      this.notice.say(`${dateLabel(date)} is a day off now. Booking pages no longer offer it.`);
      $("day-off-date").value = "";
      await this.load();
    } catch (error) {
      if (error.status === 422) this.problem(error.detail || "This date cannot be a day off.");
      else this.onError(error);
    }
  }

  hoursProblem(text, field = null) {
    $("custom-error").textContent = text;
    $("custom-error").hidden = !text;
    for (const id of ["custom-date", "custom-start", "custom-end"]) {
      $(id).setAttribute("aria-invalid", String(Boolean(text) && (field === null || field === id)));
    }
    if (text) $(field || "custom-date").focus();
  }

  /** Custom hours on a date: one stretch per submission, joining the day's others (a split day). */
  async addHours() {
    const date = $("custom-date").value;
    const start = minutesOf($("custom-start").value);
    const end = $("custom-end").value === "00:00" ? 1440 : minutesOf($("custom-end").value);
    if (!date) return this.hoursProblem("Please pick a date.", "custom-date");
    if (date < this.today()) return this.hoursProblem("Please pick today or a later date.", "custom-date");
    if (Number.isNaN(start) || Number.isNaN(end)) return this.hoursProblem("Please give both times, like 09:00 and 13:00.", "custom-start");
    if (end <= start) return this.hoursProblem("The end must be after the start.", "custom-end");
    if (start % 5 || end % 5) return this.hoursProblem("Times go in steps of 5 minutes.", "custom-start");
    const existing = this.overrides.find((o) => o.date === date);
    const kept = existing?.available ? existing.windows.map((w) => ({ start_minute: w.start_minute, end_minute: w.end_minute })) : [];
    if (kept.some((w) => start < w.end_minute && w.start_minute < end)) {
      return this.hoursProblem("These hours overlap the day's other custom hours.", "custom-start");
    }
    this.hoursProblem("");
    this.notice.clear();
    const windows = [...kept, { start_minute: start, end_minute: end }].sort((a, b) => a.start_minute - b.start_minute);
    try {
      await this.api.post(this.path, { date, windows });
      const hours = windows.map((w) => `${hhmm(w.start_minute)}–${hhmm(w.end_minute)}`).join(", ");
      const instead = existing && !existing.available ? " instead of a day off" : "";
      this.notice.say(`${dateLabel(date)} now has custom hours${instead}: ${hours}. Booking pages offer only these.`);
      $("custom-date").value = "";
      await this.load();
    } catch (error) {
      if (error.status === 422) this.hoursProblem(error.detail || "These hours are not valid.");
      else this.onError(error);
    }
  }

  async remove(o) {
    this.notice.clear();
    try {
      await this.api.delete(`${this.path}/${o.id}`);
      this.notice.say(`${dateLabel(o.date)} follows your weekly hours again.`);
      await this.load();
      $(o.available ? "custom-hours-heading" : "days-off-heading").focus();
    } catch (error) {
      this.onError(error);
    }
  }
}
