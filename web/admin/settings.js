// The organisation's settings: the partner sites that may embed the widget (allowed origins), where
// admin notices go, which ratings alert the admins, and its own payment page. One form, one PATCH:
// every field is saved or none, and a refused one is explained at that field.

import { fieldError } from "../common/dom.js";
import { explain } from "../common/http.js";

const $ = (id) => document.getElementById(id);
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/;
const FIELDS = ["settings-origins", "settings-emails", "settings-threshold", "settings-payment"];

const lines = (id) => $(id).value.split("\n").map((line) => line.trim()).filter(Boolean);

export class Settings {
  /** @param {{api, organisationId: string, notice, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.path = `/v1/admin/organisations/${encodeURIComponent(ctx.organisationId)}`;
    // set, not added: a sign-in after a sign-out builds this again, and must not save twice
    $("settings-form").onsubmit = (event) => {
      event.preventDefault();
      this.save();
    };
  }

  /** Fill the form from the organisation as the gateway has it. */
  show(organisation) {
    $("settings-origins").value = organisation.allowed_origins.join("\n");
    $("settings-emails").value = organisation.admin_emails.join("\n");
    $("settings-threshold").value = String(organisation.low_rating_threshold);
    $("settings-payment").value = organisation.payment_page_url || "";
    for (const id of FIELDS) fieldError(id, "", { focus: false });
    $("settings-form").setAttribute("aria-busy", "false");
  }

  /** What is wrong with the form before anything is sent: [field, text], or null. */
  problem(origins) {
    // an origin is a scheme and a host (and port) only, lower case: "https://partner.example"
    const bad = origins.find((origin) => !ORIGIN.test(origin));
    if (bad) return ["settings-origins", `“${bad}” is not a site address like https://partner.example (no path, lower case).`];
    if (origins.length > 50) return ["settings-origins", "At most 50 partner sites."];
    if (lines("settings-emails").length > 20) return ["settings-emails", "At most 20 addresses."];
    return null;
  }

  async save() {
    for (const id of FIELDS) fieldError(id, "", { focus: false });
    this.ctx.notice.clear();
    this.ctx.notice.say("");
    const origins = lines("settings-origins").map((origin) => origin.replace(/\/+$/, "").toLowerCase());
    const wrong = this.problem(origins);
    if (wrong) {
      fieldError(...wrong);
      return;
    }
    const body = {
      allowed_origins: origins,
      admin_emails: lines("settings-emails"),
      low_rating_threshold: Number($("settings-threshold").value),
      payment_page_url: $("settings-payment").value.trim() || null,
    };
    $("settings-save").disabled = true;
    try {
      this.show(await this.ctx.api.patch(this.path, body));
      this.ctx.notice.say("Clinic settings saved. Partner sites and the booking page follow them at once.");
      $("settings-heading").focus();
    } catch (error) {
      const field = this.fieldOf(error);
      // the gateway names the API's field ("payment_page_url must use https…"); the form names its own
      const said = (error.detail || explain(error)).replace(/^payment_page_url /, "The payment page ");
      if (field) fieldError(field, said);
      else this.ctx.onError(error);
    } finally {
      $("settings-save").disabled = false;
    }
  }

  /** The field a refusal is about (nothing was saved): by its code, or the field its detail names. */
  fieldOf(error) {
    if (error.status !== 422) return null;
    if (error.code === "invalid_payment_page_url") return "settings-payment";
    if (error.code === "invalid_email") return "settings-emails";
    const detail = error.detail || "";
    if (detail.includes("allowed_origins")) return "settings-origins";
    if (detail.includes("admin_emails")) return "settings-emails";
    if (detail.includes("low_rating_threshold")) return "settings-threshold";
    if (detail.includes("payment_page_url")) return "settings-payment";
    return null;
  }
}
