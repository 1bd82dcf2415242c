// One appointment in a modal dialog: its facts, its history, cancel (with a required reason),
// and rebook on the patient's behalf. Kept live: the page calls refresh() on slot events.

import { Clock } from "../common/time.js";
import { ACTIVE, STATUS_LABELS, statusBadge } from "../common/appointments.js";
import { el } from "../common/dom.js";
import { explain } from "../common/http.js";
import { Rebooker } from "./rebook.js";

const $ = (id) => document.getElementById(id);

export class DetailDialog {
  /** @param {{api, clock, doctors: Map, types: Map, onChanged: () => void, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.dialog = $("detail");
    this.appointment = null;
    this.opener = null;
    this.rebooker = new Rebooker({
      ...ctx,
      say: (text) => this.say(text),
      alert: (text) => this.alert(text),
      onMoved: (moved) => this.moved(moved),
    });
    $("detail-close").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => this.closed());
    $("cancel-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.cancel();
    });
    $("cancel-reason").addEventListener("input", () => {
      if ($("cancel-reason").value.trim()) this.reasonProblem("");
    });
    $("rebook-open").addEventListener("click", () => this.rebooker.show(this.appointment));
    $("rebook-close").addEventListener("click", () => {
      this.rebooker.hide();
      $("rebook-open").focus();
    });
    $("detail-facts").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-open]");
      if (button) this.open(button.dataset.open);
    });
  }

  say(text) {
    $("detail-status").textContent = text;
  }

  alert(text) {
    $("detail-alert-text").textContent = text;
    $("detail-alert").hidden = !text;
  }

  async open(id) {
    if (!this.dialog.open) this.opener = document.activeElement;
    this.say("");
    this.alert("");
    this.reasonProblem("");
    $("cancel-reason").value = "";
    this.rebooker.hide();
    if (!(await this.load(id))) return;
    if (!this.dialog.open) this.dialog.showModal();
    $("detail-heading").focus();
  }

  /** Fetch and show an appointment; of loads that overlap (live refreshes), only the last one shows. */
  async load(id) {
    this.currentId = id;
    const ticket = (this.ticket = (this.ticket || 0) + 1);
    const path = `/v1/appointments/${encodeURIComponent(id)}`;
    try {
      const [appointment, history] = await Promise.all([this.ctx.api.get(path), this.ctx.api.get(`${path}/history`)]);
      if (ticket !== this.ticket) return true;
      this.appointment = appointment;
      this.render(appointment, history.items);
      return true;
    } catch (error) {
      if (ticket === this.ticket) this.ctx.onError(error);
      return false;
    }
  }

  /** Live: fetch the open appointment again (it may have been cancelled or moved elsewhere). */
  refresh() {
    if (this.dialog.open && this.currentId) this.load(this.currentId);
  }

  closed() {
    this.rebooker.hide();
    this.appointment = null;
    this.currentId = null;
    this.opener?.focus?.();
  }

  render(a, history) {
    const { clock, doctors, types } = this.ctx;
    const doctor = doctors.get(a.doctor_id);
    const type = types.get(a.appointment_type_id);
    $("detail-heading").setAttribute("tabindex", "-1");
    $("detail-heading").textContent = `${a.patient.name}, ${clock.dayLabel(a.start)}`;
    const when = `${clock.span(a.start, a.end)} (${clock.zone})`;
    const facts = [
      ["Status", statusBadge(a.status)],
      ["When", when],
      ["With", doctor ? `${doctor.name} (${new Clock(doctor.timezone).time(a.start)} in ${doctor.timezone})` : a.doctor_id],
      ["Type", type ? `${type.name}, ${type.duration_minutes} minutes` : a.appointment_type_id],
      ["Patient", [a.patient.name, a.patient.email, a.patient.phone, a.patient.ref && `ref ${a.patient.ref}`].filter(Boolean).join(" · ")],
      ["Booked", `${clock.dayLabel(a.created_at)} ${clock.time(a.created_at)}`],
    ];
    if (a.cancellation?.reason) facts.push(["Cancelled because", a.cancellation.reason]);
    if (a.previous_appointment_id) {
      facts.push(["Moved from", el("button", { type: "button", className: "link-button", textContent: "the earlier appointment", dataset: { open: a.previous_appointment_id } })]);
    }
    $("detail-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));

    const active = ACTIVE.includes(a.status);
    $("detail-actions").hidden = !active;
    $("cancel-form").hidden = !active;
    if (!active) this.rebooker.hide();

    const entries = history.map((h) => el("li", {},
      el("span", { className: "history-when" }, `${clock.dayLabel(h.at)} ${clock.time(h.at)}`),
      " ",
      el("span", {}, `${h.from ? `${STATUS_LABELS[h.from] || h.from} → ` : ""}${STATUS_LABELS[h.to] || h.to}`),
      el("span", { className: "muted" }, ` by ${h.actor}`),
      h.reason ? el("span", { className: "history-reason" }, `: “${h.reason}”`) : null));
    $("history").replaceChildren(...entries);
  }

  reasonProblem(text) {
    $("cancel-reason-error").textContent = text;
    $("cancel-reason-error").hidden = !text;
    $("cancel-reason").setAttribute("aria-invalid", String(Boolean(text)));
  }

  async cancel() {
    const reason = $("cancel-reason").value.trim();
    if (!reason) {
      this.reasonProblem("Please give a reason for the cancellation.");
      $("cancel-reason").focus();
      return;
    }
    this.reasonProblem("");
    this.alert("");
    const a = this.appointment;
    try {
      await this.ctx.api.post(`/v1/appointments/${encodeURIComponent(a.id)}/cancel`, { reason });
    } catch (error) {
      this.alert(explain(error));
      return;
    }
    $("cancel-reason").value = "";
    await this.load(a.id);
    this.say("Cancelled. The time is free again on every booking page.");
    $("detail-heading").focus();
    this.ctx.onChanged();
  }

  async moved(appointment) {
    await this.load(appointment.id);
    this.say(`Moved to ${this.ctx.clock.span(appointment.start, appointment.end)} (${this.ctx.clock.zone}).`);
    $("detail-heading").focus();
    this.ctx.onChanged();
  }
}
