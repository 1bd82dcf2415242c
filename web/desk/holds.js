// The organisation's live holds: who holds which time, for how much longer, and Release (staff let
// a hold go without its token; the time is free again on every page at once).

import { el } from "../common/dom.js";
import { explain } from "../common/http.js";
import { countdown } from "../common/time.js";

export class HoldList {
  constructor(root, { api, clock, doctors, notice, organisationId, onError }) {
    Object.assign(this, { root, api, clock, doctors, notice, organisationId, onError });
    this.holds = [];
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop() {
    clearInterval(this.timer);
  }

  async refresh() {
    try {
      const data = await this.api.get(`/v1/admin/organisations/${encodeURIComponent(this.organisationId)}/holds`);
      this.holds = data.holds;
      this.render();
    } catch (error) {
      this.onError(error);
    }
  }

  doctorName(id) {
    return this.doctors.get(id)?.name || "A doctor";
  }

  render() {
    const focusedId = document.activeElement?.dataset?.holdId;
    this.root.setAttribute("aria-busy", "false");
    if (!this.holds.length) {
      this.root.replaceChildren(el("p", { className: "muted" }, "No one is holding a time right now."));
      return;
    }
    const rows = this.holds.map((hold) => {
      const who = this.doctorName(hold.doctor_id);
      const when = `${this.clock.dayLabel(hold.start)}, ${this.clock.time(hold.start)} – ${this.clock.time(hold.end)}`;
      const release = el(
        "button",
        {
          type: "button",
          className: "secondary small",
          dataset: { holdId: hold.hold_id },
          attrs: { "aria-label": `Release the hold on ${who}, ${when}` },
          onclick: () => this.release(hold, who, when),
        },
        "Release",
      );
      return el(
        "tr",
        { dataset: { holdId: hold.hold_id } },
        el("td", { attrs: { "data-label": "Doctor" } }, who),
        el("td", { className: "when", attrs: { "data-label": "Time" } }, when),
        el("td", { attrs: { "data-label": "Held for" } }, el("span", { className: "left", dataset: { expires: hold.expires_at } })),
        el("td", {}, release),
      );
    });
    const table = el(
      "table",
      { className: "staff-table desk-table" },
      el("caption", { className: "visually-hidden" }, "Live holds"),
      el("thead", {}, el("tr", {}, ...["Doctor", "Time", "Held for", "Action"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows),
    );
    this.root.replaceChildren(table);
    this.tick();
    if (focusedId) this.root.querySelector(`button[data-hold-id="${CSS.escape(focusedId)}"]`)?.focus();
  }

  /** Count every hold down; a lapsed one is gone (the sweeper announces it, which refreshes). */
  tick() {
    for (const node of this.root.querySelectorAll(".left")) {
      const left = Date.parse(node.dataset.expires) - Date.now();
      node.textContent = left > 0 ? countdown(left) : "lapsing…";
    }
  }

  async release(hold, who, when) {
    try {
      await this.api.delete(`/v1/admin/holds/${encodeURIComponent(hold.hold_id)}`, { query: { doctor_id: hold.doctor_id } });
      this.notice.say(`Released the hold on ${who}, ${when}. The time is free again.`);
    } catch (error) {
      if (error.code === "not_found") this.notice.say("That hold was already gone.");
      else if (error.code === "hold_busy") this.notice.alert("The patient is confirming this hold right now; it cannot be released.");
      else if (error.status === 401) return this.onError(error);
      else this.notice.alert(explain(error));
    }
    await this.refresh();
    const next = this.root.querySelector("button[data-hold-id]");
    (next || document.getElementById("holds-heading")).focus();
  }
}
