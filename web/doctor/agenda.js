// The doctor's appointments today and the six days after, by day, in the doctor's zone. The page
// refetches the list whenever the doctor's live stream says a slot changed; buttons follow the
// clock (join inside the join window, no-show after it, complete once started).

import { ACTIVE, actionsAt, joinWindow, statusBadge } from "../common/appointments.js";
import { coalesce, el } from "../common/dom.js";
import { addDays, dayKeyOf, startOfDay } from "../common/zones.js";

const DAYS = 7;
const SHOWN = [...ACTIVE, "completed", "no_show"];
const TICK_MS = 15_000;

export class Agenda {
  constructor(container, { api, clock, doctor, typeNames, notice, onError }) {
    Object.assign(this, { container, api, clock, doctor, typeNames, notice, onError });
    this.items = null;
    this.today = null;
    this.joined = new Map(); // appointment id -> meeting URL the gateway gave
    this.shownKey = "";
    this.refresh = coalesce(() => this.load());
    this.timer = setInterval(() => this.tick(), TICK_MS);
    container.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (button && !button.disabled) this.act(button.dataset.action, button.closest("[data-appointment-id]").dataset.appointmentId);
    });
  }

  stop() {
    clearInterval(this.timer);
  }

  async load() {
    const zone = this.doctor.timezone;
    const today = dayKeyOf(zone);
    const query = {
      doctor_id: this.doctor.id,
      from: new Date(startOfDay(zone, today)).toISOString(),
      to: new Date(startOfDay(zone, addDays(today, DAYS))).toISOString(),
      status: SHOWN,
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
    const byDay = new Map();
    for (let i = 0; i < DAYS; i += 1) byDay.set(addDays(this.today, i), []);
    for (const a of this.items) byDay.get(this.clock.dayKey(a.start))?.push(a);
    this.container.replaceChildren(...[...byDay].map(([key, list]) => this.day(key, list)));
    this.container.setAttribute("aria-busy", "false");
    this.shownKey = this.stateKey();
    this.fresh = null; // highlighted once, when they arrive
    if (focused) {
      this.container.querySelector(`[data-appointment-id="${focused[0]}"] [data-action="${focused[1]}"]`)?.focus();
    }
  }

  day(key, list) {
    const first = startOfDay(this.doctor.timezone, key);
    const label = this.clock.dayLabel(first + 12 * 3_600_000); // midday: safe from DST edges
    const count = list.length ? `${list.length} booked` : "nothing booked";
    return el(
      "section",
      { className: `agenda-day${key === this.today ? " today" : ""}`, dataset: { day: key } },
      el("h3", {}, label, " ", el("span", { className: "count" }, count)),
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
    if (may.complete) actions.push(button("complete", "Complete", "Mark as completed:"));
    if (may.noShow) actions.push(button("no-show", "No-show", "Record a no-show:"));
    if (may.approve) actions.push(button("approve", "Approve", "Approve the appointment with", true));
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
    this.notice.clear();
    try {
      if (action === "join") {
        const { meeting_url: url } = await this.api.get(`${path}/join`);
        this.joined.set(id, url);
        this.notice.say(`Opening the call with ${who}.`);
        window.open(url, "_blank", "noopener,noreferrer");
        this.render(); // the button becomes a link, in case the new tab was blocked
        return;
      }
      const done = { complete: "completed", "no-show": "a no-show", approve: "approved" }[action];
      await this.api.post(`${path}/${action}`, {});
      this.notice.say(`${who}: marked as ${done}.`);
      await this.refresh();
    } catch (error) {
      this.onError(error);
    }
  }
}
