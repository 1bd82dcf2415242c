// The organisation's appointments: filters (doctor, patient, status, dates), a table, cursor
// paging ("Show more"). Live: the page calls refresh() on every slot event of its doctors; the
// pages shown so far are fetched again.

import { STATUS_LABELS, statusBadge } from "../common/appointments.js";
import { coalesce, el } from "../common/dom.js";
import { addDays, startOfDay } from "../common/zones.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;

export class AppointmentList {
  /** @param {{api, clock, doctors: Map, types: Map, onOpen: (id: string) => void, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.filters = {};
    this.pages = 1;
    this.items = [];
    this.next = null;
    this.refresh = coalesce(() => this.load());
    const doctors = $("filter-doctor"); // its first option, "All doctors", is the page's own
    doctors.replaceChildren(doctors.options[0], ...[...ctx.doctors.values()].map((d) => el("option", { value: d.id, textContent: d.name })));
    $("filter-statuses").replaceChildren(...Object.entries(STATUS_LABELS).map(([value, label]) =>
      el("label", { className: "check" }, el("input", { type: "checkbox", name: "status", value }), ` ${label}`)));
    // handler properties, not listeners: a second sign-in in this tab builds this again, and
    // must not run every search (or open every dialog) twice
    $("filters").onsubmit = (event) => {
      event.preventDefault();
      this.apply();
    };
    $("filters").onreset = () => setTimeout(() => this.apply(), 0); // after the form clears
    $("load-more").onclick = () => this.more();
    $("appointment-list").onclick = (event) => {
      const button = event.target.closest("button[data-open]");
      if (button) ctx.onOpen(button.dataset.open);
    };
  }

  /** Read the filter form; dates are whole days in the admin's zone ("until" includes its day). */
  readFilters() {
    const zone = this.ctx.clock.zone;
    const from = $("filter-from").value;
    const to = $("filter-to").value;
    const problem = from && to && to < from ? "“Until” must not be before “From”." : "";
    $("filter-dates-error").textContent = problem;
    $("filter-dates-error").hidden = !problem;
    for (const id of ["filter-from", "filter-to"]) $(id).setAttribute("aria-invalid", String(Boolean(problem)));
    if (problem) return null;
    return {
      doctor_id: $("filter-doctor").value,
      patient: $("filter-patient").value.trim(),
      status: [...document.querySelectorAll("#filter-statuses input:checked")].map((box) => box.value),
      from: from ? new Date(startOfDay(zone, from)).toISOString() : "",
      to: to ? new Date(startOfDay(zone, addDays(to, 1))).toISOString() : "",
    };
  }

  apply() {
    const filters = this.readFilters();
    if (!filters) {
      $("filter-from").focus();
      return;
    }
    this.filters = filters;
    this.pages = 1;
    this.refresh();
  }

  async load() {
    const items = [];
    let cursor = null;
    try {
      for (let page = 0; page < this.pages; page += 1) {
        const data = await this.ctx.api.get("/v1/appointments", { ...this.filters, cursor, limit: PAGE_SIZE });
        items.push(...data.items);
        cursor = data.next_cursor;
        if (!cursor) break;
      }
    } catch (error) {
      this.ctx.onError(error);
      return;
    }
    this.items = items;
    this.next = cursor;
    this.render();
  }

  async more() {
    if (!this.next) return;
    const first = this.items.length;
    this.pages += 1;
    await this.refresh();
    // keep the keyboard where the new rows start
    $("appointment-list").querySelectorAll("tbody tr")[first]?.querySelector("button")?.focus();
  }

  summary() {
    const active = !this.filters.status?.length && !this.filters.from && !this.filters.to;
    const what = active ? "upcoming active appointment" : "appointment";
    const count = this.items.length;
    return `${count}${this.next ? "+" : ""} ${what}${count === 1 ? "" : "s"}${this.next ? " (more below)" : ""}.`;
  }

  render() {
    const focusedId = document.activeElement?.dataset?.open;
    const { clock, doctors, types } = this.ctx;
    $("result-summary").textContent = this.summary();
    $("load-more").hidden = !this.next;
    const list = $("appointment-list");
    list.setAttribute("aria-busy", "false");
    if (!this.items.length) {
      list.replaceChildren(el("p", { className: "muted" }, "No appointments match."));
      return;
    }
    // one wrapper per cell: on a phone each cell is a two-column grid (its label, its content)
    const cell = (label, ...content) => el("td", { dataset: { label } }, el("div", { className: "cell" }, ...content));
    const rows = this.items.map((a) => el("tr", { dataset: { appointmentId: a.id, status: a.status } },
      cell("When", el("span", { className: "when" }, clock.dayLabel(a.start)), el("br"), `${clock.time(a.start)} – ${clock.time(a.end)}`),
      cell("Doctor", doctors.get(a.doctor_id)?.name || "Unknown doctor"),
      cell("Patient", a.patient.name, el("br"), el("span", { className: "muted small-text" }, a.patient.email)),
      cell("Type", types.get(a.appointment_type_id)?.name || ""),
      cell("Status", statusBadge(a.status)),
      cell("", el("button", {
        type: "button", className: "secondary small", textContent: "Details", dataset: { open: a.id },
        attrs: { "aria-label": `Details: ${a.patient.name}, ${clock.dayLabel(a.start)} ${clock.time(a.start)}` },
      }))));
    const head = el("tr", {}, ["When", "Doctor", "Patient", "Type", "Status"].map((h) => el("th", { scope: "col", textContent: h })));
    // the buttons' column: named for screen readers, no visible heading
    head.append(el("th", { scope: "col" }, el("span", { className: "visually-hidden" }, "Actions")));
    list.replaceChildren(el("table", { className: "staff-table appointment-table" },
      el("caption", { className: "visually-hidden" }, `Appointments, times in ${clock.zone}`),
      el("thead", {}, head), el("tbody", {}, rows)));
    if (focusedId) list.querySelector(`button[data-open="${focusedId}"]`)?.focus();
  }
}
