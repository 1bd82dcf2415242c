// One appointment in the staff pages' modal dialog (/doctor, /admin): its facts, its history (who
// changed what, when, why) and, while it is active, cancel with a reason. Kept live: the page
// calls refresh() on slot events. A page adds what is its own by overriding the hooks below
// (describe, activeChanged, reasonAccepted, cancelFailed, closed).

import { ACTIVE, STATUS_LABELS, statusBadge } from "./appointments.js";
import { el } from "./dom.js";
import { explain } from "./http.js";

const $ = (id) => document.getElementById(id);
const label = (status) => STATUS_LABELS[status] || status;

export class AppointmentDialog {
  /** @param {{api, clock, onChanged: () => void, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.dialog = $("detail");
    this.appointment = null;
    this.currentId = null;
    this.opener = null;
    /** What the dialog says once an appointment is cancelled. */
    this.cancelledText = "Cancelled. The time is free again on every booking page.";
    // handler properties, not listeners: a second sign-in in this tab replaces them
    $("detail-close").onclick = () => this.dialog.close();
    this.dialog.onclose = () => this.closed();
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
    this.opening();
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
    this.appointment = null;
    this.currentId = null;
    this.opener?.focus?.();
  }

  render(a, history) {
    const { clock } = this.ctx;
    $("detail-heading").setAttribute("tabindex", "-1");
    $("detail-heading").textContent = `${a.patient.name}, ${clock.dayLabel(a.start)}`;
    const facts = [
      ["Status", statusBadge(a.status)],
      ["When", `${clock.span(a.start, a.end)} (${clock.zone})`],
      ...this.describe(a),
      ["Booked", `${clock.dayLabel(a.created_at)} ${clock.time(a.created_at)}`],
    ];
    if (a.cancellation?.reason) facts.push(["Cancelled because", a.cancellation.reason]);
    if (a.previous_appointment_id) {
      facts.push(["Moved from", el("button", { type: "button", className: "link-button", textContent: "the earlier appointment", dataset: { open: a.previous_appointment_id } })]);
    }
    $("detail-facts").replaceChildren(...facts.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
    const active = ACTIVE.includes(a.status);
    $("cancel-form").hidden = !active;
    this.activeChanged(active);
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
    const reason = $("cancel-reason").value.trim();
    if (!this.reasonAccepted(reason)) return;
    this.reasonProblem("");
    this.alert("");
    try {
      await this.ctx.api.post(`/v1/appointments/${encodeURIComponent(a.id)}/cancel`, { reason });
    } catch (error) {
      this.cancelFailed(error);
      return;
    }
    $("cancel-reason").value = "";
    await this.load(a.id);
    this.say(this.cancelledText);
    $("detail-heading").focus();
    this.ctx.onChanged();
  }

  // --- hooks ------------------------------------------------------------------------------------

  /** Rows between "When" and "Booked": [term, value] pairs. */
  describe(a) {
    return [["Patient", [a.patient.name, a.patient.email, a.patient.phone].filter(Boolean).join(" · ")]];
  }

  /** Called before an appointment is loaded into the dialog. */
  opening() {}

  /** Called on every render with whether the appointment is active (confirmed or awaiting approval). */
  activeChanged(_active) {}

  /** Whether to send the cancel with this reason (the gateway judges it otherwise). */
  reasonAccepted(_reason) {
    return true;
  }

  /** A refused cancel: a reason the gateway finds wanting is shown at the field. */
  cancelFailed(error) {
    if (error.status === 422) {
      this.reasonProblem(error.code === "reason_required" ? "Please give a reason: the patient is told why." : explain(error));
      $("cancel-reason").focus();
    } else {
      this.alert(explain(error));
    }
  }
}
