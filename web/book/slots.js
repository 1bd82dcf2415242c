// The list of free slots, grouped by the patient's calendar day. Every free slot is a
// <button data-slot-start="<UTC start as the API gives it>">; a slot that stops being free is
// removed, and a refetch renders the list again.

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

export class SlotBoard {
  constructor(container, clock, { onPick, onFocusLost }) {
    this.container = container;
    this.clock = clock;
    this.onFocusLost = onFocusLost;
    container.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-slot-start]");
      if (button && !button.disabled) onPick(button.dataset.slotStart, button.dataset.slotEnd, button);
    });
  }

  /** Show these slots (from GET /slots), keeping the keyboard focus on the same slot if it is still free. */
  render(slots) {
    const focused = document.activeElement?.dataset?.slotStart;
    const days = new Map();
    for (const slot of slots) {
      const key = this.clock.dayKey(slot.start);
      if (!days.has(key)) days.set(key, []);
      days.get(key).push(slot);
    }
    const sections = [...days].map(([key, daySlots]) => this.day(key, daySlots));
    this.container.replaceChildren(...(sections.length ? sections : [this.empty()]));
    this.container.setAttribute("aria-busy", "false");
    if (focused) this.button(focused)?.focus();
  }

  day(key, slots) {
    const headingId = `day-${key}`;
    const items = slots.map((slot) => el("li", {}, this.slotButton(slot)));
    const count = el("span", { className: "count" }, `${slots.length} free`);
    return el(
      "section",
      { className: "day" },
      el("h3", { id: headingId }, this.clock.dayLabel(slots[0].start), " ", count),
      el("ul", { className: "slot-grid", role: "list" }, ...items),
    );
  }

  slotButton(slot) {
    const button = el("button", { type: "button", className: "slot", textContent: this.clock.time(slot.start) });
    button.dataset.slotStart = slot.start;
    button.dataset.slotEnd = slot.end;
    button.setAttribute("aria-label", `${this.clock.dayLabel(slot.start)}, ${this.clock.time(slot.start)} to ${this.clock.time(slot.end)}`);
    return button;
  }

  empty() {
    return el(
      "p",
      { className: "muted empty" },
      "No free times in the next two weeks. New times show up here the moment they open.",
    );
  }

  button(start) {
    return this.container.querySelector(`button[data-slot-start="${CSS.escape(start)}"]`);
  }

  /** Remove every slot overlapping [start, end): a 60-minute hold also takes 30-minute slots. */
  removeOverlapping(start, end) {
    const from = Date.parse(start);
    const to = Date.parse(end);
    let lostFocus = false;
    for (const button of this.container.querySelectorAll("button[data-slot-start]")) {
      if (Date.parse(button.dataset.slotStart) < to && from < Date.parse(button.dataset.slotEnd)) {
        lostFocus ||= button === document.activeElement;
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
