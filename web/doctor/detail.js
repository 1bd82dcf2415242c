// One of the doctor's appointments in a modal dialog: its facts, its history (who changed what,
// when, why) and, while it is active, cancel with a reason. The gateway decides whether a reason
// is enough (422 reason_required); its answer is shown at the field.

import { ACTIVE, STATUS_LABELS, statusBadge } from "../common/appointments.js";
import { el } from "../common/dom.js";
import { explain } from "../common/http.js";

const $ = (id) => document.getElementById(id);

export class AppointmentDetail {
  /** @param {{api, clock, typeNames: Map, onChanged: () => void, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.dialog = $("detail");
    this.appointment = null;
    this.opener = null;
    // handler properties, not listeners: a second sign-in in this tab replaces them
    $("detail-close").onclick = () => this.dialog.close();
    this.dialog.onclose = () => {
      this.appointment = null;
      this.opener?.focus?.();
    };
    $("cancel-form").onsubmit = (event) => {
      event.preventDefault();
      this.cancel();
    };
    $("cancel-reason").oninput = () => {
      if ($("cancel-reason").value.trim()) this.reasonProblem("");
    };
    $("detail-facts").onclick = (event) => {
      const button = event.target.closest("button[data-open]");
      if (button) this.open(button.dataset.open);
    };
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
    if (!(await this.load(id))) return;
    if (!this.dialog.open) this.dialog.showModal();
    $("detail-heading").focus();
  }

  /** Fetch and show one appointment; of loads that overlap (live refreshes), only the last shows. */
  async load(id) {
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

  /** Live: the open appointment may have been moved or cancelled elsewhere. */
  refresh() {
    if (this.dialog.open && this.appointment) this.load(this.appointment.id);
  }

  render(a, history) {
    const { clock, typeNames } = this.ctx;
    $("detail-heading").textContent = `${a.patient.name}, ${clock.dayLabel(a.start)}`;
    const facts = [
      ["Status", statusBadge(a.status)],
      ["When", `${clock.span(a.start, a.end)} (${clock.zone})`],
      ["Type", typeNames.get(a.appointment_type_id) || a.appointment_type_id],
      ["Patient", [a.patient.name, a.patient.email, a.patient.phone].filter(Boolean).join(" · ")],
      ["Booked", `${clock.dayLabel(a.created_at)} ${clock.time(a.created_at)}`],
    ];
    if (a.cancellation?.reason) facts.push(["Cancelled because", a.cancellation.reason]);
    if (a.previous_appointment_id) {
      facts.push(["Moved from", el("button", { type: "button", className: "link-button", textContent: "the earlier appointment", dataset: { open: a.previous_appointment_id } })]);
    }
    $("detail-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    $("cancel-form").hidden = !ACTIVE.includes(a.status);
    const label = (status) => STATUS_LABELS[status] || status;
    $("history").replaceChildren(...history.map((h) => el("li", {},
      el("span", { className: "history-when" }, `${clock.dayLabel(h.at)} ${clock.time(h.at)}`),
      " ",
      el("span", {}, `${h.from ? `${label(h.from)} → ` : ""}${label(h.to)}`),
      el("span", { className: "muted" }, ` by ${h.actor}`),
      h.reason ? el("span", { className: "history-reason" }, `: “${h.reason}”`) : null)));
  }

  reasonProblem(text) {
    $("cancel-reason-error").textContent = text;
    $("cancel-reason-error").hidden = !text;
    $("cancel-reason").setAttribute("aria-invalid", String(Boolean(text)));
  }

  async cancel() {
    const a = this.appointment;
    if (!a) return;
    this.reasonProblem("");
    this.alert("");
    try {
      await this.ctx.api.post(`/v1/appointments/${encodeURIComponent(a.id)}/cancel`, { reason: $("cancel-reason").value.trim() });
    } catch (error) {
      if (error.status === 422) {
        this.reasonProblem(error.code === "reason_required" ? "Please give a reason: the patient is told why." : explain(error));
        $("cancel-reason").focus();
      } else {
        this.alert(explain(error));
      }
      return;
    }
    $("cancel-reason").value = "";
    await this.load(a.id);
    this.say("Cancelled. The patient is told, and the time is free again on booking pages.");
    $("detail-heading").focus();
    this.ctx.onChanged();
  }
}
