// Free slots grouped by the viewer's calendar day. In a small space (the widget, a dialog) each day
// is a collapsible <details>, so keyboard users tab through days, not through hundreds of times;
// the booking page has the room to show every day open, as a <section> under its own heading.
// Every free slot is a <button data-slot-start="<UTC start as the API gives it>">; one that stops
// being free is removed. Works inside a shadow root (the widget) as well as on a page.

import { el, focusedIn } from "./dom.js";

export class SlotList {
  /**
   * @param {HTMLElement} container  where the days go
   * @param {import("./time.js").Clock} clock  the viewer's zone
   * @param {{onPick: Function, onFocusLost?: Function, emptyText?: string, collapsible?: boolean}} options
   */
  constructor(container, clock, { onPick, onFocusLost = () => undefined, emptyText = "No free times right now.", collapsible = true }) {
    this.container = container;
    this.clock = clock;
    this.onFocusLost = onFocusLost;
    this.emptyText = emptyText;
    this.collapsible = collapsible;
    this.openDays = null; // null until the viewer opens or closes a day: then the first day is open
    container.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-slot-start]");
      if (button && !button.disabled) onPick(button.dataset.slotStart, button.dataset.slotEnd, button);
    });
    // toggle does not bubble; listen while it travels down
    container.addEventListener("toggle", (event) => {
      if (event.target.matches?.("details.day") && event.isTrusted) this.rememberOpenDays();
    }, true);
  }

  rememberOpenDays() {
    this.openDays = new Set([...this.container.querySelectorAll("details.day[open]")].map((d) => d.dataset.day));
  }

  /** Show these slots (from GET /slots), keeping the focus on the same slot while it is free. */
  render(slots) {
    const focused = focusedIn(this.container)?.dataset?.slotStart;
    const days = new Map();
    for (const slot of slots) {
      const key = this.clock.dayKey(slot.start);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(slot);
    }
    const sections = [...days].map(([key, daySlots], index) => this.day(key, daySlots, index === 0));
    this.container.replaceChildren(...(sections.length ? sections : [this.empty()]));
    this.container.setAttribute("aria-busy", "false");
    if (focused) this.button(focused)?.focus();
  }

  day(key, slots, first) {
    const label = this.clock.dayLabel(slots[0].start);
    const buttons = slots.map((slot) => el("li", {}, this.slotButton(slot)));
    const count = el("span", { className: "count" }, `${slots.length} free`);
    if (!this.collapsible) {
      return el(
        "section",
        { className: "day", dataset: { day: key } },
        el("h3", { id: `day-${key}` }, label, " ", count),
        el("ul", { className: "slot-grid", attrs: { role: "list" } }, buttons),
      );
    }
    const open = this.openDays ? this.openDays.has(key) : first;
    return el(
      "details",
      { className: "day", open, dataset: { day: key } },
      el("summary", {}, el("span", { className: "day-name" }, label), " ", count),
      el("ul", { className: "slot-grid", attrs: { role: "list", "aria-label": label } }, buttons),
    );
  }

  slotButton(slot) {
    return el("button", {
      type: "button",
      className: "slot",
      textContent: this.clock.time(slot.start),
      dataset: { slotStart: slot.start, slotEnd: slot.end },
      attrs: { "aria-label": `${this.clock.dayLabel(slot.start)}, ${this.clock.time(slot.start)} to ${this.clock.time(slot.end)}` },
    });
  }

  empty() {
    return el("p", { className: "muted empty" }, this.emptyText);
  }

  button(start) {
    return this.container.querySelector(`button[data-slot-start="${CSS.escape(start)}"]`);
  }

  /** Remove every slot overlapping [start, end): a 60-minute hold also takes 30-minute slots. */
  removeOverlapping(start, end) {
    const from = Date.parse(start);
    const to = Date.parse(end);
    const focused = focusedIn(this.container);
    let lostFocus = false;
    for (const button of this.container.querySelectorAll("button[data-slot-start]")) {
      if (Date.parse(button.dataset.slotStart) < to && from < Date.parse(button.dataset.slotEnd)) {
        lostFocus ||= button === focused;
        this.drop(button);
      }
    }
    if (!this.container.querySelector("button[data-slot-start]")) this.container.replaceChildren(this.empty());
    if (lostFocus) this.onFocusLost();
  }

  drop(button) {
    const day = button.closest(".day");
    button.closest("li").remove();
    const left = day.querySelectorAll("button[data-slot-start]").length;
    if (left === 0) day.remove();
    else day.querySelector(".count").textContent = `${left} free`;
  }

  showError(message, retry) {
    const again = el("button", { type: "button", className: "secondary", textContent: "Try again" });
    again.addEventListener("click", retry);
    this.container.replaceChildren(el("div", { className: "load-error" }, el("p", {}, message), again));
    this.container.setAttribute("aria-busy", "false");
  }
}
