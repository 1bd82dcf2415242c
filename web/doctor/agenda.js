// The doctor's appointments today and the six days after, by day, in the doctor's zone. The page
// refetches the list whenever the doctor's live stream says a slot changed; buttons follow the
// clock (join inside the join window, no-show after it, complete once started).

import { ACTIVE, STATUS_LABELS, actionsAt, joinWindow, statusBadge } from "../common/appointments.js";
import { coalesce, el } from "../common/dom.js";
import { addDays, dayKeyOf, hhmm, startOfDay } from "../common/zones.js";

const DAYS = 7;
const SHOWN = [...ACTIVE, "completed", "no_show"];
const TICK_MS = 15_000;
const MAX_DAYS = 366; // a filtered range; longer ones are refused at the form
const EVERY_DAY_UP_TO = 14; // longer ranges list only the days with appointments

const $ = (id) => document.getElementById(id);

export class Agenda {
  constructor(container, { api, clock, doctor, typeNames, notice, onError, onDetails }) {
    Object.assign(this, { container, api, clock, doctor, typeNames, notice, onError, onDetails });
    this.items = null;
    this.today = null;
    this.filter = null; // {first, last, statuses}; null: today and the six days after
    this.overrides = new Map(); // date -> the doctor's override of that day (day off, custom hours)
    $("agenda-statuses").replaceChildren(...Object.entries(STATUS_LABELS).map(([value, label]) =>
      el("label", { className: "check" }, el("input", { type: "checkbox", name: "status", value }), ` ${label}`)));
    // handler properties, not listeners: a second sign-in in this tab replaces them (and starts
    // from this week again)
    $("agenda-filters").onreset = null;
    $("agenda-filters").reset();
    $("agenda-filters").onsubmit = (event) => {
      event.preventDefault();
      this.applyFilters();
    };
    $("agenda-filters").onreset = () => setTimeout(() => this.applyFilters(), 0); // after the form clears
    this.joined = new Map(); // appointment id -> meeting URL the gateway gave
    this.shownKey = "";
    this.refresh = coalesce(() => this.load());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    container.onclick = (event) => {
      const button = event.target.closest("button[data-action]");
      if (button && !button.disabled) this.act(button.dataset.action, button.closest("[data-appointment-id]").dataset.appointmentId);
    };
  }

  stop() {
    clearInterval(this.timer);
  }

  /** Read the filter form: whole days in the doctor's zone ("last day" included), statuses. */
  applyFilters() {
    const first = $("agenda-first").value;
    const last = $("agenda-last").value;
    const statuses = [...document.querySelectorAll("#agenda-statuses input:checked")].map((box) => box.value);
    let problem = "";
    if ((first && !last) || (!first && last)) problem = "Please give both the first and the last day, or neither.";
    else if (first && last < first) problem = "The last day must not be before the first day.";
    else if (first && Date.parse(last) - Date.parse(first) > MAX_DAYS * 86_400_000) problem = "Please choose at most a year at a time.";
    $("agenda-filter-error").textContent = problem;
    $("agenda-filter-error").hidden = !problem;
    for (const id of ["agenda-first", "agenda-last"]) $(id).setAttribute("aria-invalid", String(Boolean(problem)));
    if (problem) {
      $("agenda-first").focus();
      return;
    }
    this.filter = first || statuses.length ? { first, last, statuses } : null;
    this.items = null; // a new question: nothing to announce as "new"
    this.refresh();
  }

  /** The days shown, as [first, last] day keys in the doctor's zone. */
  range(today) {
    if (this.filter?.first) return [this.filter.first, this.filter.last];
    return [today, addDays(today, DAYS - 1)];
  }

  async load() {
    const zone = this.doctor.timezone;
    const today = dayKeyOf(zone);
    const [first, last] = this.range(today);
    const query = {
      doctor_id: this.doctor.id,
      from: new Date(startOfDay(zone, first)).toISOString(),
      to: new Date(startOfDay(zone, addDays(last, 1))).toISOString(),
      status: this.filter?.statuses.length ? this.filter.statuses : SHOWN,
      limit: 50,
    };
    let items;
    try {
      items = await this.api.all("/v1/appointments", query);
    } catch (error) {
      this.onError(error);
      return;
    }
    this.announce(items);
    this.items = items;
    this.today = today;
    this.render();
  }

  /** Say what changed since the last list (new, moved away, cancelled), for everyone. */
  announce(items) {
    if (!this.items) return;
    const before = new Map(this.items.map((a) => [a.id, a]));
    const now = new Set(items.map((a) => a.id));
    const added = items.filter((a) => !before.has(a.id));
    const gone = this.items.filter((a) => !now.has(a.id));
    const when = (a) => `${this.clock.dayLabel(a.start)} ${this.clock.time(a.start)}`;
    const parts = [
      ...added.map((a) => `New: ${when(a)}, ${a.patient.name}.`),
      ...gone.map((a) => `No longer booked: ${when(a)}, ${a.patient.name}.`),
    ];
    this.fresh = new Set(added.map((a) => a.id));
    if (parts.length) this.notice.say(parts.join(" "));
  }

  tick() {
    if (this.today && this.today !== dayKeyOf(this.doctor.timezone)) this.refresh(); // past midnight
    else if (this.items && this.stateKey() !== this.shownKey) this.render(); // a button's time came
  }

  /** What the buttons depend on; the list is drawn again only when this changes. */
  stateKey() {
    const now = Date.now();
    return this.items.map((a) => `${a.id}:${a.status}:${Object.values(actionsAt(a, now))}:${now < joinWindow(a).opens}`).join();
  }

  render() {
    const active = document.activeElement;
    const row = active?.dataset?.action ? active.closest("[data-appointment-id]") : null;
    const focused = row ? [row.dataset.appointmentId, active.dataset.action] : null;
    const [first, last] = this.range(this.today);
    const byDay = new Map();
    const days = Math.round((Date.parse(last) - Date.parse(first)) / 86_400_000) + 1;
    if (days <= EVERY_DAY_UP_TO) for (let i = 0; i < days; i += 1) byDay.set(addDays(first, i), []);
    for (const a of this.items) {
      const key = this.clock.dayKey(a.start);
      if (!byDay.has(key) && days > EVERY_DAY_UP_TO) byDay.set(key, []);
      byDay.get(key)?.push(a);
    }
    const shown = [...byDay].map(([key, list]) => this.day(key, list));
    this.container.replaceChildren(...(shown.length ? shown : [el("p", { className: "muted" }, "No appointments match.")]));
    $("schedule-heading").textContent = this.filter ? "Your appointments" : "Today and this week";
    const statuses = this.filter?.statuses.length ? this.filter.statuses.map((s) => STATUS_LABELS[s]).join(", ") : "booked, completed and no-shows";
    $("agenda-range").textContent = this.filter
      ? `${this.items.length} appointment${this.items.length === 1 ? "" : "s"} from ${this.dayName(first)} to ${this.dayName(last)}: ${statuses}.`
      : "";
    this.container.setAttribute("aria-busy", "false");
    this.shownKey = this.stateKey();
    this.fresh = null; // highlighted once, when they arrive
    if (focused) {
      this.container.querySelector(`[data-appointment-id="${focused[0]}"] [data-action="${focused[1]}"]`)?.focus();
    }
  }

  /** The doctor's date overrides, to mark days off and custom-hour days in the agenda. */
  showOverrides(overrides) {
    this.overrides = new Map(overrides.map((o) => [o.date, o]));
    if (this.items) this.render();
  }

  dayName(key) {
    return this.clock.dayLabel(startOfDay(this.doctor.timezone, key) + 12 * 3_600_000); // midday: safe from DST edges
  }

  day(key, list) {
    const label = this.dayName(key);
    const count = list.length ? `${list.length} booked` : "nothing booked";
    const override = this.overrides.get(key);
    const hours = override?.available ? override.windows.map((w) => `${hhmm(w.start_minute)}–${hhmm(w.end_minute)}`).join(", ") : "";
    const note = !override ? null : el("span", { className: "day-note" }, override.available ? `Custom hours ${hours}` : "Day off");
    return el(
      "section",
      { className: `agenda-day${key === this.today ? " today" : ""}`, dataset: override ? { day: key, override: override.available ? "custom" : "off" } : { day: key } },
      el("h3", {}, label, " ", note, note ? " " : null, el("span", { className: "count" }, count)),
      list.length ? el("ul", { className: "appts", attrs: { role: "list" } }, list.map((a) => this.row(a))) : null,
    );
  }

  row(a) {
    const time = `${this.clock.time(a.start)} – ${this.clock.time(a.end)}`;
    const who = `${a.patient.name} at ${this.clock.time(a.start)}`;
    const may = actionsAt(a);
    const button = (action, text, label, primary = false) =>
      el("button", { type: "button", className: primary ? "primary small" : "secondary small", textContent: text, dataset: { action }, attrs: { "aria-label": `${label} ${who}` } });
    const actions = [];
    if (a.status === "confirmed") actions.push(...this.joinControls(a, may, button));
    if (may.complete) actions.push(button("complete", "Complete", "Complete the appointment with"));
    if (may.noShow) actions.push(button("no-show", "No-show", "Record a no-show:"));
    if (may.approve) actions.push(button("approve", "Approve", "Approve the appointment with", true));
    actions.push(button("details", "Details", "Details, history and cancelling:"));
    const details = [this.typeNames.get(a.appointment_type_id), a.patient.email].filter(Boolean).join(" · ");
    return el(
      "li",
      { className: `appt${this.fresh?.has(a.id) ? " fresh" : ""}`, dataset: { appointmentId: a.id, status: a.status } },
      el("p", { className: "appt-time" }, time),
      el("div", { className: "appt-body" },
        el("p", { className: "appt-patient" }, a.patient.name, " ", statusBadge(a.status)),
        el("p", { className: "muted small-text" }, details)),
      actions.length ? el("div", { className: "row-actions" }, actions) : null,
    );
  }

  /** Join: a button inside the join window (a link once the gateway gave the URL), else why not. */
  joinControls(a, may, button) {
    const url = this.joined.get(a.id);
    if (may.join && url) {
      return [el("a", { className: "button-link primary small", href: url, target: "_blank", rel: "noopener noreferrer", textContent: "Open the call", dataset: { action: "join" } })];
    }
    const join = button("join", "Join", "Join the call with", may.join);
    if (may.join) return [join];
    const { opens } = joinWindow(a);
    const hint = el("span", { className: "hint small-text", id: `join-hint-${a.id}` },
      Date.now() < opens ? `Join opens ${this.clock.time(opens)}` : "The call window has closed");
    join.disabled = true;
    join.setAttribute("aria-describedby", hint.id);
    return [join, hint];
  }

  async act(action, id) {
    const a = this.items.find((item) => item.id === id);
    if (!a) return;
    const path = `/v1/appointments/${encodeURIComponent(id)}`;
    const who = `${a.patient.name} (${this.clock.time(a.start)})`;
    if (action === "details") {
      this.onDetails?.(id);
      return;
    }
    // Open the window while the click still counts as the doctor's own (before any await): a
    // window opened after the fetch is a popup the browser blocks. It is sent to the room once
    // the gateway gives the address, and closed again when it does not.
    const room = action === "join" ? window.open("", "_blank") : null;
    this.notice.clear();
    try {
      if (action === "join") {
        this.notice.say(`Opening the call with ${who}…`);
        const { meeting_url: url } = await this.api.get(`${path}/join`);
        if (!/^https?:\/\//i.test(url)) throw new Error("The clinic gave no usable room address.");
        this.joined.set(id, url);
        if (room) {
          room.opener = null; // the room cannot reach back into this page
          room.location.href = url;
          this.notice.say(`The call with ${who} opened in a new window.`);
        } else {
          this.notice.say(`Your browser blocked the new window: use “Open the call” for ${who}.`);
        }
        this.render(); // the button becomes a link, to open the call again
        return;
      }
      const done = { complete: "completed", "no-show": "a no-show", approve: "approved" }[action];
      await this.api.post(`${path}/${action}`, {});
      this.notice.say(`${who}: marked as ${done}.`);
      await this.refresh();
    } catch (error) {
      room?.close();
      if (action === "join") this.notice.say("");
      this.onError(error);
    }
  }
}
