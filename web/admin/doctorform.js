// Adding a doctor, editing one (name, zone, contact details) and their sign-in tokens for /doctor.
// A refused field is explained at that field and nothing is saved. A new token is shown once, in
// one place on the page, until hidden; it never goes into the URL or storage.

import { el, fieldError } from "../common/dom.js";
import { explain } from "../common/http.js";

const $ = (id) => document.getElementById(id);
const ADD_FIELDS = ["doctor-add-name", "doctor-add-zone"];
const EDIT_FIELDS = ["doctor-edit-name", "doctor-edit-zone", "doctor-edit-email", "doctor-edit-mobile"];

const MESSAGES = {
  invalid_timezone: "This is not a time zone we know. Please pick one from the list, like Europe/Berlin.",
  invalid_email: "This is not an email address. Please check it.",
  invalid_phone: "Please write the number in international form: + and the country code, like +4915123456789.",
  not_found: "This doctor is no longer there. Please reload the page.",
};

const TOKEN_MESSAGES = {
  not_found: "This doctor or token is no longer there. Please reload the page.",
};

/** The field a 422 is about (nothing was saved), by its code or the API field its detail names. */
function fieldOf(error, prefix) {
  if (error.status !== 422) return null;
  if (error.code === "invalid_timezone") return `${prefix}-zone`;
  if (error.code === "invalid_email") return `${prefix}-email`;
  if (error.code === "invalid_phone") return `${prefix}-mobile`;
  const detail = error.detail || "";
  if (/\bname\b/.test(detail)) return `${prefix}-name`;
  if (/\btimezone\b/.test(detail)) return `${prefix}-zone`;
  if (/\bemail\b/.test(detail)) return `${prefix}-email`;
  if (/\bmobile_phone\b/.test(detail)) return `${prefix}-mobile`;
  return null;
}

export class DoctorForms {
  /** @param {{api, organisationId: string, doctors: Map, clock, notice, onError, onDoctorsChanged: () => void}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.doctor = null;
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    $("zone-names").replaceChildren(...zones.map((zone) => el("option", { value: zone })));
    $("doctor-add-form").onsubmit = (event) => {
      event.preventDefault();
      this.add();
    };
    $("doctor-edit-form").onsubmit = (event) => {
      event.preventDefault();
      this.save();
    };
    $("doctor-manage-close").onclick = () => this.close();
    $("credential-create").onclick = () => this.issue();
    $("token-hide").onclick = () => this.hideToken();
  }

  /** A token call refused: a lost sign-in signs out; the rest is said in the page's alert. */
  tokenFailed(error) {
    if (error.status === 401) this.ctx.onError(error);
    else this.ctx.notice.alert(explain(error, TOKEN_MESSAGES));
  }

  /** A refusal: at its field when it names one, else in the page's alert. */
  refused(error, prefix) {
    const field = fieldOf(error, prefix);
    if (field) fieldError(field, MESSAGES[error.code] || explain(error));
    else this.ctx.notice.alert(explain(error, MESSAGES));
  }

  async add() {
    for (const id of ADD_FIELDS) fieldError(id, "", { focus: false });
    this.ctx.notice.clear();
    this.ctx.notice.say("");
    const name = $("doctor-add-name").value.trim();
    const timezone = $("doctor-add-zone").value.trim();
    if (!name) return fieldError("doctor-add-name", "Please give the doctor's name.");
    if (!timezone) return fieldError("doctor-add-zone", "Please give the doctor's time zone, like Europe/Berlin.");
    $("doctor-add-save").disabled = true;
    try {
      const made = await this.ctx.api.post("/v1/admin/doctors", { organisation_id: this.ctx.organisationId, name, timezone });
      this.ctx.doctors.set(made.id, made);
      $("doctor-add-form").reset();
      this.ctx.onDoctorsChanged();
      this.ctx.notice.say(`${made.name} added. Give them a sign-in token so they can set their hours.`);
      this.open(made);
    } catch (error) {
      if (error.status === 401) this.ctx.onError(error);
      else this.refused(error, "doctor-add");
    } finally {
      $("doctor-add-save").disabled = false;
    }
  }

  /** Show one doctor's details and tokens under the list, and move there. */
  open(doctor) {
    this.doctor = doctor;
    this.hideToken({ focus: false });
    $("doctor-manage-heading").textContent = doctor.name;
    $("doctor-edit-name").value = doctor.name;
    $("doctor-edit-zone").value = doctor.timezone;
    $("doctor-edit-email").value = doctor.email || "";
    $("doctor-edit-mobile").value = doctor.mobile_phone || "";
    for (const id of EDIT_FIELDS) fieldError(id, "", { focus: false });
    $("doctor-manage").hidden = false;
    $("doctor-manage-heading").focus();
    this.loadCredentials();
  }

  close() {
    const id = this.doctor?.id;
    this.doctor = null;
    this.hideToken({ focus: false });
    $("doctor-manage").hidden = true;
    // back to the button that opened it, or the section
    const back = id && document.querySelector(`[data-doctor-id="${CSS.escape(id)}"] button[aria-label^="Manage"]`);
    (back || $("doctors-heading")).focus();
  }

  async save() {
    const doctor = this.doctor;
    for (const id of EDIT_FIELDS) fieldError(id, "", { focus: false });
    this.ctx.notice.clear();
    this.ctx.notice.say("");
    const name = $("doctor-edit-name").value.trim();
    const timezone = $("doctor-edit-zone").value.trim();
    if (!name) return fieldError("doctor-edit-name", "Please give the doctor's name.");
    if (!timezone) return fieldError("doctor-edit-zone", "Please give the doctor's time zone, like Europe/Berlin.");
    const body = {
      name,
      timezone,
      email: $("doctor-edit-email").value.trim() || null,
      mobile_phone: $("doctor-edit-mobile").value.replace(/[\s()-]/g, "") || null,
    };
    $("doctor-edit-save").disabled = true;
    try {
      const saved = await this.ctx.api.patch(`/v1/admin/doctors/${encodeURIComponent(doctor.id)}`, body);
      this.ctx.doctors.set(saved.id, saved);
      this.ctx.onDoctorsChanged();
      this.doctor = saved;
      $("doctor-manage-heading").textContent = saved.name;
      this.ctx.notice.say(`${saved.name} saved.`);
      $("doctor-manage-heading").focus();
    } catch (error) {
      if (error.status === 401) this.ctx.onError(error);
      else this.refused(error, "doctor-edit");
    } finally {
      $("doctor-edit-save").disabled = false;
    }
  }

  credentialsPath() {
    return `/v1/admin/doctors/${encodeURIComponent(this.doctor.id)}/credentials`;
  }

  async loadCredentials() {
    const doctor = this.doctor;
    let credentials;
    try {
      credentials = await this.ctx.api.get(this.credentialsPath());
    } catch (error) {
      this.tokenFailed(error);
      return;
    }
    if (this.doctor !== doctor) return; // another doctor was opened meanwhile
    const { clock } = this.ctx;
    const items = credentials.map((c, index) => {
      const label = `token ${index + 1}, created ${clock.dayLabel(c.created_at)} ${clock.time(c.created_at)}`;
      const state = c.active ? el("span", { className: "badge" }, "Active") : el("span", { className: "badge badge-off" }, "Revoked");
      const revoke = c.active
        ? el("button", {
          type: "button", className: "danger small", textContent: "Revoke",
          attrs: { "aria-label": `Revoke ${label}` }, onclick: (event) => this.revoke(c.id, label, event.currentTarget),
        })
        : null;
      return el("li", { className: "secret", dataset: { credentialId: c.id } },
        el("div", { className: "window-main" }, el("span", {}, `Token ${index + 1}`), state,
          el("span", { className: "muted small-text" }, `created ${clock.dayLabel(c.created_at)} ${clock.time(c.created_at)}`)),
        revoke ? el("div", { className: "row-actions" }, revoke) : null);
    });
    $("credential-list").replaceChildren(items.length
      ? el("ul", { className: "windows", attrs: { role: "list", "aria-labelledby": "credentials-heading" } }, items)
      : el("p", { className: "muted" }, "No sign-in tokens yet."));
  }

  async issue() {
    this.ctx.notice.clear();
    try {
      const made = await this.ctx.api.post(this.credentialsPath(), {});
      await this.loadCredentials();
      this.ctx.notice.say(`A sign-in token for ${this.doctor.name} was issued. It is shown once.`);
      $("token-value").textContent = made.token;
      $("token-reveal").hidden = false;
      $("token-reveal").focus();
    } catch (error) {
      this.tokenFailed(error);
    }
  }

  hideToken({ focus = true } = {}) {
    $("token-value").textContent = "";
    $("token-reveal").hidden = true;
    if (focus) $("credentials-heading").focus();
  }

  /** Revoking signs the doctor out at once: the first press asks, the second revokes. */
  async revoke(credentialId, label, button) {
    this.ctx.notice.clear();
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = "Really revoke?";
      button.setAttribute("aria-label", `Really revoke ${label}?`);
      this.ctx.notice.say(`Press “Really revoke?” to revoke ${label}: the doctor's page stops accepting it at once.`);
      return;
    }
    try {
      await this.ctx.api.delete(`${this.credentialsPath()}/${encodeURIComponent(credentialId)}`);
      this.hideToken({ focus: false });
      await this.loadCredentials();
      this.ctx.notice.say(`Sign-in token revoked: ${this.doctor.name}'s page stops accepting it now.`);
      $("credentials-heading").focus();
    } catch (error) {
      this.tokenFailed(error);
    }
  }
}
