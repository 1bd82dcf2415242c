// The organisation's doctors, each with their booking page, on request their weekly hours
// (read-only here: doctors manage them on /doctor), and a button that opens their details and
// sign-in tokens (doctorform.js).

import { el } from "../common/dom.js";
import { explain } from "../common/http.js";
import { windowList } from "../common/windows.js";
import { Clock } from "../common/time.js";

export class DoctorList {
  /** @param {{api, doctors: Map, types: Map, onManage: (doctor) => void}} ctx */
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
  }

  render() {
    const firstType = [...this.ctx.types.values()][0];
    const items = [...this.ctx.doctors.values()].map((d) => {
      const hours = el("div", { className: "doctor-hours", id: `hours-${d.id}`, hidden: true });
      const toggle = el("button", {
        type: "button", className: "secondary small", textContent: "Show weekly hours",
        attrs: { "aria-expanded": "false", "aria-controls": hours.id, "aria-label": `Show weekly hours of ${d.name}` },
      });
      toggle.addEventListener("click", () => this.toggle(d, toggle, hours));
      const manage = el("button", {
        type: "button", className: "secondary small", textContent: "Manage",
        attrs: { "aria-label": `Manage ${d.name}` }, onclick: () => this.ctx.onManage(d),
      });
      const page = firstType
        ? el("a", { href: `/book/${encodeURIComponent(d.id)}?appointment_type_id=${encodeURIComponent(firstType.id)}`, textContent: "Booking page" })
        : null;
      return el("li", { className: "doctor", dataset: { doctorId: d.id } },
        el("div", { className: "doctor-head" },
          el("div", {}, el("p", { className: "doctor-name" }, d.name), el("p", { className: "muted small-text" }, new Clock(d.timezone).zoneLabel())),
          el("div", { className: "row-actions" }, page, toggle, manage)),
        hours);
    });
    this.container.replaceChildren(items.length ? el("ul", { className: "doctors", attrs: { role: "list" } }, items) : el("p", { className: "muted" }, "No doctors yet."));
    this.container.setAttribute("aria-busy", "false");
  }

  async toggle(doctor, button, region) {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Hide weekly hours" : "Show weekly hours";
    button.setAttribute("aria-label", `${open ? "Hide" : "Show"} weekly hours of ${doctor.name}`);
    region.hidden = !open;
    if (!open) return;
    region.replaceChildren(el("p", { className: "muted" }, "Loading…"));
    try {
      const windows = await this.ctx.api.get(`/v1/doctors/${encodeURIComponent(doctor.id)}/availability-windows`);
      region.replaceChildren(el("p", { className: "muted small-text" }, `In ${doctor.timezone}:`), windowList(windows));
    } catch (error) {
      region.replaceChildren(el("p", { className: "field-error" }, explain(error)));
    }
  }
}
