// The organisation's booking secrets: create, reveal (an active one), revoke. A revealed value is
// shown in one place on the page until hidden; it never goes into the URL or storage.

import { coalesce, el } from "../common/dom.js";

const $ = (id) => document.getElementById(id);

export class Secrets {
  /** @param {{api, organisationId: string, clock, notice, onError}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.path = `/v1/organisations/${encodeURIComponent(ctx.organisationId)}/booking-secrets`;
    this.refresh = coalesce(() => this.load());
    // handlers set, not added: a sign-in after a sign-out builds this again, and must not double them
    $("secret-create").onclick = () => this.create();
    $("reveal-hide").onclick = () => this.hide();
  }

  async load() {
    let secrets;
    try {
      secrets = await this.ctx.api.get(this.path);
    } catch (error) {
      this.ctx.onError(error);
      return;
    }
    const { clock } = this.ctx;
    const items = secrets.map((s) => {
      const when = `created ${clock.dayLabel(s.created_at)} ${clock.time(s.created_at)}`;
      const state = s.active ? el("span", { className: "badge" }, "Active") : el("span", { className: "badge badge-off" }, "Revoked");
      const actions = s.active
        ? [
          this.button("Reveal", `Reveal ${s.key_id}`, () => this.reveal(s.key_id)),
          this.button("Revoke", `Revoke ${s.key_id}`, (event) => this.revoke(s.key_id, event.currentTarget), "danger small"),
        ]
        : [];
      return el("li", { className: "secret", dataset: { keyId: s.key_id } },
        el("div", { className: "window-main" }, el("code", {}, s.key_id), state, el("span", { className: "muted small-text" }, when)),
        actions.length ? el("div", { className: "row-actions" }, actions) : null);
    });
    $("secret-list").replaceChildren(items.length ? el("ul", { className: "windows", attrs: { role: "list" } }, items) : el("p", { className: "muted" }, "No booking secrets yet."));
    $("secret-list").setAttribute("aria-busy", "false");
  }

  button(text, label, handler, className = "secondary small") {
    return el("button", { type: "button", className, textContent: text, onclick: handler, attrs: { "aria-label": label } });
  }

  show(keyId, value) {
    $("reveal-key").textContent = keyId;
    $("reveal-value").textContent = value;
    $("secret-reveal").hidden = false;
    $("secret-reveal").focus();
  }

  hide() {
    $("reveal-value").textContent = "";
    $("secret-reveal").hidden = true;
    $("secrets-heading").focus();
  }

  async create() {
    this.ctx.notice.clear();
    try {
      const made = await this.ctx.api.post(this.path, {});
      await this.load();
      this.ctx.notice.say(`Booking secret ${made.key_id} created.`);
      this.show(made.key_id, made.secret);
    } catch (error) {
      this.ctx.onError(error);
    }
  }

  async reveal(keyId) {
    this.ctx.notice.clear();
    try {
      const found = await this.ctx.api.get(`${this.path}/${encodeURIComponent(keyId)}`);
      this.show(found.key_id, found.secret);
    } catch (error) {
      this.ctx.onError(error);
    }
  }

  /** Revoking breaks the partner's bookings at once: the first press asks, the second revokes. */
  async revoke(keyId, button) {
    this.ctx.notice.clear();
    if (button.dataset.armed !== "true") {
      button.dataset.armed = "true";
      button.textContent = "Really revoke?";
      button.setAttribute("aria-label", `Really revoke ${keyId}?`);
      this.ctx.notice.say(`Press “Really revoke?” to revoke ${keyId}: tokens signed with it stop working at once.`);
      return;
    }
    try {
      await this.ctx.api.delete(`${this.path}/${encodeURIComponent(keyId)}`);
      if ($("reveal-key").textContent === keyId) this.hide();
      await this.load();
      this.ctx.notice.say(`Booking secret ${keyId} revoked: tokens signed with it stop working now.`);
      $("secrets-heading").focus();
    } catch (error) {
      this.ctx.onError(error);
    }
  }
}
