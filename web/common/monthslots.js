// A doctor's free slots as a month: a calendar that marks the days with free times, and the chosen
// day's times beside it (under it on a phone). It opens on the first day with free times (or the
// day it is told), moves by month, and is a keyboard grid (arrows, Home/End, Page Up/Down). Every
// free slot of every loaded day is a <button data-slot-start="<UTC start>"> in the DOM (only the
// chosen day's are shown); one that stops being free is removed and its day's mark follows. The
// slot this face holds stays, marked as held, with its countdown. The same board interface as
// SlotList (render, removeOverlapping, drop, button, showError), so LiveSlots keeps it true.
// Works inside a shadow root (the widget) as well as on a page.

import { el, focusedIn } from "./dom.js";
import { LOCALE, t } from "./i18n.js";
import { addDays, weekdayOf } from "./zones.js";

const utcDay = (key) => {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d, 12));
};
const monthOf = (key) => key.slice(0, 7);
const firstOf = (month) => `${month}-01`;
const shiftMonth = (month, by) => {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1 + by, 1, 12)).toISOString().slice(0, 7);
};
const daysIn = (month) => {
  const [y, m] = month.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
};

export class MonthSlots {
  /**
   * @param {HTMLElement} container  where the board goes
   * @param {import("./time.js").Clock} clock  the viewer's zone and clock
   * @param {{onPick: Function, onFocusLost?: Function, onDay?: Function, day?: string|null,
   *          until?: number, idPrefix?: string}} options
   *   `day`: the day to open on ("YYYY-MM-DD"); `until`: the last instant loaded (epoch ms).
   */
  constructor(container, clock, { onPick, onFocusLost = () => undefined, onDay = () => undefined, day = null, until = Date.now() + 60 * 86_400_000, idPrefix = "cal" }) {
    this.container = container;
    this.onFocusLost = onFocusLost;
    this.onDay = onDay;
    this.wanted = day; // the day asked for (deep link), until the viewer picks another
    this.until = until;
    this.chosen = null;
    this.month = null;
    this.held = null; // {start, end} of the slot this face holds
    this.heldClock = "";
    this.rendered = false;
    this.ids = { title: `${idPrefix}-title`, day: `${idPrefix}-day` };
    this.build();
    this.setClock(clock);
    container.addEventListener("click", (event) => {
      const slotButton = event.target.closest("button[data-slot-start]");
      if (slotButton && !slotButton.disabled && !slotButton.classList.contains("held")) {
        onPick(slotButton.dataset.slotStart, slotButton.dataset.slotEnd, slotButton);
        return;
      }
      const dayButton = event.target.closest("button[data-date]");
      if (dayButton) this.choose(dayButton.dataset.date, { focus: true });
      const nav = event.target.closest("button[data-nav]");
      if (nav && !nav.disabled) this.turn(Number(nav.dataset.nav));
    });
    this.grid.addEventListener("keydown", (event) => this.key(event));
  }

  build() {
    this.prev = el("button", { type: "button", className: "month-nav secondary", textContent: "‹", dataset: { nav: "-1" } });
    this.next = el("button", { type: "button", className: "month-nav secondary", textContent: "›", dataset: { nav: "1" } });
    this.title = el("h3", { id: this.ids.title, className: "month-title", attrs: { "aria-live": "polite" } });
    this.head = el("thead");
    this.body = el("tbody");
    this.grid = el("table", { className: "month-grid", attrs: { role: "grid", "aria-labelledby": this.ids.title } }, this.head, this.body);
    this.legend = el("p", { className: "month-legend" });
    this.dayTitle = el("h3", { id: this.ids.day, className: "day-title", tabIndex: -1 });
    this.lists = el("div", { className: "day-lists" });
    this.empty = el("p", { className: "muted day-empty", hidden: true });
    this.container.replaceChildren(
      el("div", { className: "month-board" },
        el("div", { className: "month" }, el("div", { className: "month-head" }, this.prev, this.title, this.next), this.grid, this.legend),
        el("section", { className: "day-times", attrs: { "aria-labelledby": this.ids.day } }, this.dayTitle, this.empty, this.lists)),
    );
  }

  /** A new zone or 12/24-hour choice: the same slots, shown on the new clock. */
  setClock(clock) {
    this.clock = clock;
    const locale = clock.locale || LOCALE;
    this.monthFormat = new Intl.DateTimeFormat(locale, { timeZone: "UTC", month: "long", year: "numeric" });
    this.dayFormat = new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: "long", day: "numeric", month: "long" });
    const weekday = (style) => new Intl.DateTimeFormat(locale, { timeZone: "UTC", weekday: style });
    this.prev.setAttribute("aria-label", t("month.previous"));
    this.next.setAttribute("aria-label", t("month.next"));
    this.legend.textContent = t("month.legend");
    const monday = Date.UTC(2024, 0, 1, 12); // a Monday
    this.head.replaceChildren(el("tr", {}, Array.from({ length: 7 }, (_, i) => {
      const date = new Date(monday + i * 86_400_000);
      return el("th", { scope: "col", abbr: weekday("long").format(date), textContent: weekday("short").format(date) });
    })));
    if (this.slots) this.render(this.slots);
  }

  get today() {
    return this.clock.dayKey(Date.now());
  }

  get lastDay() {
    return this.clock.dayKey(this.until);
  }

  selectable(key) {
    return key >= this.today && key <= this.lastDay;
  }

  /** Show these slots (from GET /slots), keeping the chosen day and the focus while they exist. */
  render(slots) {
    this.slots = slots;
    const focused = focusedIn(this.container);
    const focusedSlot = focused?.dataset?.slotStart;
    const focusedDay = focused?.dataset?.date;
    const all = [...slots];
    if (this.held && !all.some((s) => s.start === this.held.start)) {
      all.push(this.held);
      all.sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
    }
    const days = new Map();
    for (const slot of all) {
      const key = this.clock.dayKey(slot.start);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(slot);
    }
    this.lists.replaceChildren(...[...days].map(([key, daySlots]) =>
      el("ul", { className: "slot-grid", hidden: true, dataset: { day: key }, attrs: { role: "list", "aria-labelledby": this.ids.day } },
        daySlots.map((slot) => el("li", {}, this.slotButton(slot))))));
    if (this.held) this.markHeld();
    if (!this.chosen || !this.rendered) {
      const first = [...days.keys()].find((key) => this.count(key) > 0);
      this.chosen = this.wanted && this.selectable(this.wanted) ? this.wanted : first || this.today;
      this.month = monthOf(this.chosen);
    }
    this.rendered = true;
    this.draw();
    this.container.setAttribute("aria-busy", "false");
    if (focusedSlot) this.button(focusedSlot)?.focus();
    else if (focusedDay) this.dayButton(focusedDay)?.focus();
  }

  slotButton(slot) {
    const from = this.clock.time(slot.start);
    const label = `${this.clock.dayLabel(slot.start)}, ${t("slot.range", from, this.clock.time(slot.end))}`;
    return el("button", {
      type: "button",
      className: "slot",
      dataset: { slotStart: slot.start, slotEnd: slot.end, label },
      attrs: { "aria-label": label },
    }, el("span", { className: "slot-time" }, from));
  }

  /** How many free (not held by us) times a day has. */
  count(key) {
    const list = this.list(key);
    return list ? list.querySelectorAll("button[data-slot-start]:not(.held)").length : 0;
  }

  list(key) {
    return this.lists.querySelector(`ul[data-day="${key}"]`);
  }

  dayButton(key) {
    return this.body.querySelector(`button[data-date="${key}"]`);
  }

  /** The month's grid, with marks on the days that have free times. */
  draw() {
    this.title.textContent = this.monthFormat.format(utcDay(firstOf(this.month)));
    this.prev.disabled = this.month <= monthOf(this.today);
    this.next.disabled = this.month >= monthOf(this.lastDay);
    const first = firstOf(this.month);
    const lead = weekdayOf(first) - 1;
    const cells = [];
    for (let i = 0; i < lead; i += 1) cells.push(el("td", { className: "pad" }));
    for (let d = 1; d <= daysIn(this.month); d += 1) cells.push(this.cell(addDays(first, d - 1)));
    while (cells.length % 7) cells.push(el("td", { className: "pad" }));
    const rows = [];
    for (let i = 0; i < cells.length; i += 7) rows.push(el("tr", {}, cells.slice(i, i + 7)));
    this.body.replaceChildren(...rows);
    this.showDay();
  }

  cell(key) {
    const number = String(Number(key.slice(8)));
    if (!this.selectable(key)) {
      return el("td", { className: "off", attrs: { "aria-disabled": "true" } }, el("span", { className: "cal-day off" }, number));
    }
    const chosen = key === this.chosen;
    const button = el("button", {
      type: "button",
      className: "cal-day",
      tabIndex: chosen ? 0 : -1,
      dataset: { date: key },
      attrs: { "aria-current": key === this.today ? "date" : null },
    }, el("span", { className: "cal-number" }, number), el("span", { className: "mark", attrs: { "aria-hidden": "true" } }));
    this.mark(button, key);
    return el("td", { attrs: { "aria-selected": String(chosen) } }, button);
  }

  /** A day's mark and label: free times or none. */
  mark(button, key) {
    const n = this.count(key);
    button.classList.toggle("free", n > 0);
    button.setAttribute("aria-label", `${this.dayFormat.format(utcDay(key))}, ${n ? t("day.free", n) : t("day.none")}`);
  }

  /** Show the chosen day's times, and say so when it has none. */
  showDay() {
    const key = this.chosen;
    for (const list of this.lists.querySelectorAll("ul[data-day]")) list.hidden = list.dataset.day !== key;
    const relative = key === this.today ? `${t("day.today")}, ` : key === addDays(this.today, 1) ? `${t("day.tomorrow")}, ` : "";
    this.dayTitle.textContent = `${relative}${this.dayFormat.format(utcDay(key))}`;
    const anyFree = this.lists.querySelector("button[data-slot-start]");
    const list = this.list(key);
    const none = !list || !list.querySelector("button[data-slot-start]");
    this.empty.textContent = anyFree ? t("day.empty") : t("day.emptyAll");
    this.empty.hidden = !none;
    if (list && none) list.hidden = true;
    for (const td of this.body.querySelectorAll("td[aria-selected]")) {
      const selected = td.querySelector("button")?.dataset.date === key;
      td.setAttribute("aria-selected", String(selected));
      td.querySelector("button").tabIndex = selected ? 0 : -1;
    }
  }

  /** Choose a day: its month is shown, its times beside it. */
  choose(key, { focus = false } = {}) {
    if (!this.selectable(key)) return;
    this.chosen = key;
    this.wanted = null;
    if (monthOf(key) !== this.month) {
      this.month = monthOf(key);
      this.draw();
    } else {
      this.showDay();
    }
    if (focus) this.dayButton(key)?.focus();
    this.onDay(key);
  }

  /** Previous or next month: its first day with free times (or its first open day) is chosen. */
  turn(by) {
    const month = shiftMonth(this.month, by);
    const keys = Array.from({ length: daysIn(month) }, (_, i) => addDays(firstOf(month), i)).filter((k) => this.selectable(k));
    if (!keys.length) return;
    const key = keys.find((k) => this.count(k) > 0) || keys[0];
    this.chosen = key;
    this.wanted = null;
    this.month = month;
    this.draw();
    this.onDay(key);
  }

  key(event) {
    const from = event.target.closest("button[data-date]")?.dataset.date;
    if (!from) return;
    const weekday = weekdayOf(from);
    const moves = {
      ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7, Home: 1 - weekday, End: 7 - weekday,
    };
    let to = null;
    if (event.key in moves) to = addDays(from, moves[event.key]);
    else if (event.key === "PageUp" || event.key === "PageDown") {
      const month = shiftMonth(monthOf(from), event.key === "PageUp" ? -1 : 1);
      to = `${month}-${String(Math.min(Number(from.slice(8)), daysIn(month))).padStart(2, "0")}`;
    } else return;
    event.preventDefault();
    if (to < this.today) to = this.today;
    if (to > this.lastDay) to = this.lastDay;
    this.choose(to, { focus: true });
  }

  button(start) {
    return this.lists.querySelector(`button[data-slot-start="${CSS.escape(start)}"]`);
  }

  /** Remove every slot overlapping [start, end) but our own hold: a 60-minute hold also takes 30-minute slots. */
  removeOverlapping(start, end) {
    const from = Date.parse(start);
    const to = Date.parse(end);
    const focused = focusedIn(this.container);
    let lostFocus = false;
    for (const button of this.lists.querySelectorAll("button[data-slot-start]:not(.held)")) {
      if (Date.parse(button.dataset.slotStart) < to && from < Date.parse(button.dataset.slotEnd)) {
        lostFocus ||= button === focused;
        this.drop(button);
      }
    }
    if (lostFocus) this.onFocusLost();
  }

  drop(button) {
    const list = button.closest("ul[data-day]");
    button.closest("li").remove();
    const key = list.dataset.day;
    if (!list.querySelector("button[data-slot-start]")) list.remove();
    const day = this.dayButton(key);
    if (day) this.mark(day, key);
    if (key === this.chosen) this.showDay();
  }

  // --- the slot this face holds -------------------------------------------------------------------

  /** Show `slot` as held by this face (selected, with its countdown), or none. */
  hold(slot) {
    for (const button of this.lists.querySelectorAll("button.held")) this.unmark(button);
    this.held = slot ? { start: slot.start, end: slot.end } : null;
    this.heldClock = "";
    if (!slot) return;
    if (!this.button(slot.start)) this.render(this.slots || []); // the live event took it before the answer came
    this.markHeld();
    const key = this.clock.dayKey(slot.start);
    const day = this.dayButton(key);
    if (day) this.mark(day, key);
  }

  markHeld() {
    const button = this.button(this.held.start);
    if (!button) return;
    button.classList.add("held");
    button.setAttribute("aria-pressed", "true");
    button.setAttribute("aria-label", `${button.dataset.label}, ${t("slot.held")}`);
    // beside the button, not in it: its name stays the time (the hold panel's timer is the one read out)
    const item = button.closest("li");
    if (!item.querySelector(".held-clock")) item.append(el("span", { className: "held-clock", attrs: { "aria-hidden": "true" } }));
    item.querySelector(".held-clock").textContent = this.heldClock;
  }

  unmark(button) {
    button.classList.remove("held");
    button.removeAttribute("aria-pressed");
    button.closest("li")?.querySelector(".held-clock")?.remove();
    button.setAttribute("aria-label", button.dataset.label);
  }

  /** The held slot's countdown ("14:32"), shown on its button. */
  tick(text) {
    this.heldClock = text;
    const clock = this.held && this.button(this.held.start)?.closest("li").querySelector(".held-clock");
    if (clock) clock.textContent = text;
  }

  showError(message, retry) {
    const again = el("button", { type: "button", className: "secondary", textContent: t("load.retry") });
    again.addEventListener("click", retry);
    this.lists.replaceChildren(el("div", { className: "load-error" }, el("p", {}, message), again));
    this.empty.hidden = true;
    this.container.setAttribute("aria-busy", "false");
  }
}
