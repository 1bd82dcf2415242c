// The organisation's services (appointment types): the list with what matters most when booking
// (length, notice, approval, payment, who offers it), and one form to add or edit one. The rarer
// rules sit behind "More rules" with the gateway's defaults. A refused field is explained at that
// field and nothing is saved.

import { el, fieldError } from "../common/dom.js";
import { explain } from "../common/http.js";

const $ = (id) => document.getElementById(id);

/** The form's fields by the API field they send; a refusal naming the API field is shown at ours. */
const FIELDS = {
  name: "service-name",
  duration_minutes: "service-duration",
  min_notice_minutes: "service-notice",
  payment_mode: "service-payment",
  fee_cents: "service-price",
  advance_percent: "service-percent",
  token_amount_cents: "service-deposit",
  doctor_ids: "service-doctors",
  buffer_minutes: "service-buffer",
  max_advance_days: "service-advance",
  cancellation_notice_minutes: "service-cancel-notice",
  max_reschedules: "service-reschedules",
  hold_ttl_seconds: "service-hold",
};
const PAYMENT_FIELDS = { full: ["service-price-field"], advance: ["service-price-field", "service-percent-field"], token: ["service-deposit-field"] };

const MESSAGES = {
  doctor_not_in_organisation: "One of these doctors is not in this clinic any more. Please reload the page.",
  not_found: "This service is no longer there. Please reload the page.",
};

const number = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
const cents = (id) => (number(id) === null ? null : Math.round(number(id) * 100));
const money = (amount, currency) => `${(amount / 100).toFixed(2)} ${currency}`;

/** "90 min", "2 h", "1 day": a number of minutes as people say it. */
function minutesText(minutes) {
  if (minutes % 1440 === 0) return `${minutes / 1440} day${minutes === 1440 ? "" : "s"}`;
  if (minutes >= 120 && minutes % 60 === 0) return `${minutes / 60} h`;
  return `${minutes} min`;
}

export class Services {
  /** @param {{api, organisationId: string, doctors: Map, types: Map, notice, onError, onTypesChanged: () => void}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.editing = null;
    this.path = `/v1/organisations/${encodeURIComponent(ctx.organisationId)}/appointment-types`;
    $("service-form").onsubmit = (event) => {
      event.preventDefault();
      this.save();
    };
    $("service-payment").onchange = () => this.showPaymentFields();
    $("service-cancel").onclick = () => this.stopEditing();
  }

  async load() {
    try {
      const types = await this.ctx.api.get(this.path);
      this.ctx.types.clear();
      for (const type of types) this.ctx.types.set(type.id, type);
    } catch (error) {
      this.ctx.onError(error);
      return;
    }
    this.render();
  }

  paymentText(type) {
    switch (type.payment_mode) {
      case "full": return `pays ${money(type.fee_cents, type.currency)} when booking`;
      case "advance": return `pays ${type.advance_percent}% of ${money(type.fee_cents, type.currency)} when booking`;
      case "token": return `pays a ${money(type.token_amount_cents, type.currency)} deposit when booking`;
      default: return "no payment";
    }
  }

  doctorsText(type) {
    if (!type.doctor_ids?.length) return "every doctor";
    return type.doctor_ids.map((id) => this.ctx.doctors.get(id)?.name || "a doctor no longer listed").join(", ");
  }

  render() {
    const items = [...this.ctx.types.values()].map((type) => {
      const facts = [
        minutesText(type.duration_minutes),
        type.min_notice_minutes ? `book ${minutesText(type.min_notice_minutes)} ahead` : "no notice needed",
        type.requires_approval ? "needs approval" : "confirmed at once",
        this.paymentText(type),
      ].join(" · ");
      const edit = el("button", {
        type: "button", className: "secondary small", textContent: "Edit",
        attrs: { "aria-label": `Edit ${type.name}` }, onclick: () => this.edit(type),
      });
      return el("li", { className: "doctor service", dataset: { typeId: type.id } },
        el("div", { className: "doctor-head" },
          el("div", {},
            el("p", { className: "doctor-name" }, type.name),
            el("p", { className: "small-text" }, facts),
            el("p", { className: "muted small-text" }, `Offered by ${this.doctorsText(type)}`)),
          el("div", { className: "row-actions" }, edit)));
    });
    $("service-list").replaceChildren(items.length ? el("ul", { className: "doctors", attrs: { role: "list" } }, items) : el("p", { className: "muted" }, "No services yet."));
    $("service-list").setAttribute("aria-busy", "false");
    this.renderDoctorChecks(); // keeps what is ticked, unsaved or not
  }

  /** One box per doctor; the ones ticked before stay ticked (a new doctor may have joined). */
  renderDoctorChecks(chosen = null) {
    const ticked = chosen || [...document.querySelectorAll("#service-doctor-checks input:checked")].map((box) => box.value);
    $("service-doctor-checks").replaceChildren(...[...this.ctx.doctors.values()].map((d) =>
      el("label", { className: "check" },
        el("input", { type: "checkbox", value: d.id, checked: ticked.includes(d.id) }), d.name)));
  }

  showPaymentFields() {
    const shown = PAYMENT_FIELDS[$("service-payment").value] || [];
    for (const id of ["service-price-field", "service-percent-field", "service-deposit-field"]) $(id).hidden = !shown.includes(id);
  }

  clearErrors() {
    for (const id of Object.values(FIELDS)) fieldError(id, "", { focus: false });
  }

  /** The form filled from a service (or the gateway's defaults for a new one). */
  fill(type) {
    const minutes = (value) => (value === null || value === undefined ? "" : String(value));
    $("service-name").value = type?.name || "";
    $("service-duration").value = minutes(type?.duration_minutes ?? 30);
    $("service-notice").value = minutes(type?.min_notice_minutes ?? 0);
    $("service-approval").checked = Boolean(type?.requires_approval);
    $("service-payment").value = type?.payment_mode || "none";
    $("service-price").value = type?.fee_cents == null ? "" : (type.fee_cents / 100).toFixed(2);
    $("service-percent").value = minutes(type?.advance_percent);
    $("service-deposit").value = type?.token_amount_cents == null ? "" : (type.token_amount_cents / 100).toFixed(2);
    const currency = type?.currency || "EUR";
    for (const id of ["service-price", "service-deposit"]) {
      const label = document.querySelector(`label[for="${id}"]`);
      label.textContent = label.textContent.replace(/\([A-Z]{3}\)/, `(${currency})`);
    }
    $("service-buffer").value = minutes(type?.buffer_minutes ?? 0);
    $("service-advance").value = minutes(type?.max_advance_days ?? 60);
    $("service-same-day").checked = type ? type.same_day_allowed : true;
    $("service-cancel-notice").value = minutes(type?.cancellation_notice_minutes ?? 0);
    $("service-reschedules").value = minutes(type?.max_reschedules);
    $("service-rebooking").value = type?.rebooking_mode || "same_doctor";
    $("service-hold").value = String(Math.round((type?.hold_ttl_seconds ?? 900) / 60));
    this.renderDoctorChecks(type?.doctor_ids || []);
    this.showPaymentFields();
    this.clearErrors();
  }

  edit(type) {
    this.editing = type;
    this.fill(type);
    $("service-form-heading").textContent = `Edit ${type.name}`;
    $("service-save").textContent = "Save the service";
    $("service-cancel").hidden = false;
    $("service-form-heading").focus();
  }

  stopEditing({ focus = true } = {}) {
    const id = this.editing?.id;
    this.editing = null;
    this.fill(null);
    $("service-form-heading").textContent = "Add a service";
    $("service-save").textContent = "Add the service";
    $("service-cancel").hidden = true;
    if (!focus) return;
    const back = id && document.querySelector(`[data-type-id="${CSS.escape(id)}"] button`);
    (back || $("services-heading")).focus();
  }

  /** What is wrong before anything is sent: [field, text], or null. */
  problem(body) {
    if (!body.name) return ["service-name", "Please give the service a name."];
    const duration = body.duration_minutes;
    if (!Number.isInteger(duration) || duration < 5 || duration > 720 || duration % 5) {
      return ["service-duration", "Please give a length from 5 to 720 minutes, in steps of 5."];
    }
    if (body.payment_mode === "full" || body.payment_mode === "advance") {
      if (body.fee_cents === null) return ["service-price", "Please give the price."];
    }
    if (body.payment_mode === "advance" && body.advance_percent === null) return ["service-percent", "Please give the share paid in advance, 1 to 100."];
    if (body.payment_mode === "token" && body.token_amount_cents === null) return ["service-deposit", "Please give the deposit."];
    return null;
  }

  body() {
    const mode = $("service-payment").value;
    return {
      name: $("service-name").value.trim(),
      duration_minutes: number("service-duration"),
      min_notice_minutes: number("service-notice") ?? 0,
      requires_approval: $("service-approval").checked,
      payment_mode: mode,
      // only what the chosen payment needs; the others are cleared
      fee_cents: mode === "full" || mode === "advance" ? cents("service-price") : null,
      advance_percent: mode === "advance" ? number("service-percent") : null,
      token_amount_cents: mode === "token" ? cents("service-deposit") : null,
      doctor_ids: [...document.querySelectorAll("#service-doctor-checks input:checked")].map((box) => box.value),
      buffer_minutes: number("service-buffer") ?? 0,
      max_advance_days: number("service-advance") ?? 60,
      same_day_allowed: $("service-same-day").checked,
      cancellation_notice_minutes: number("service-cancel-notice") ?? 0,
      max_reschedules: number("service-reschedules"),
      rebooking_mode: $("service-rebooking").value,
      hold_ttl_seconds: Math.round((number("service-hold") ?? 15) * 60),
    };
  }

  async save() {
    this.clearErrors();
    this.ctx.notice.clear();
    this.ctx.notice.say("");
    const body = this.body();
    const wrong = this.problem(body);
    if (wrong) return this.refuse(...wrong);
    const editing = this.editing;
    $("service-save").disabled = true;
    try {
      const saved = editing
        ? await this.ctx.api.patch(`/v1/admin/appointment-types/${encodeURIComponent(editing.id)}`, body)
        : await this.ctx.api.post("/v1/admin/appointment-types", { organisation_id: this.ctx.organisationId, ...body });
      await this.load();
      this.ctx.onTypesChanged();
      this.stopEditing({ focus: false });
      this.ctx.notice.say(editing ? `${saved.name} saved. Booking pages follow it at once.` : `${saved.name} added.`);
      document.querySelector(`[data-type-id="${CSS.escape(saved.id)}"] button`)?.focus();
    } catch (error) {
      const field = this.fieldOf(error);
      if (field) this.refuse(field, MESSAGES[error.code] || explain(error));
      else if (error.status === 401) this.ctx.onError(error);
      else this.ctx.notice.alert(explain(error, MESSAGES));
    } finally {
      $("service-save").disabled = false;
    }
  }

  /** A field's error; one inside the closed "More rules" opens it first, so it can take the focus. */
  refuse(field, text) {
    if ($("service-more").contains($(field))) $("service-more").open = true;
    fieldError(field, text);
  }

  /** The field a 422 is about (nothing was saved), by its code or the API field its detail names. */
  fieldOf(error) {
    if (error.status !== 422) return null;
    if (error.code === "doctor_not_in_organisation") return "service-doctors";
    const detail = error.detail || "";
    if (detail.startsWith("payment_mode")) return FIELDS[detail.match(/needs (\w+)/)?.[1]] || "service-payment";
    const named = Object.keys(FIELDS).find((field) => new RegExp(`\\b${field}\\b`).test(detail));
    return named ? FIELDS[named] : null;
  }
}
