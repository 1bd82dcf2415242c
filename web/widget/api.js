// What the widget asks the gateway, from the partner's page (cross-origin; the organisation lists
// the partner's origin in allowed_origins). Holds and confirms carry the partner's booking token,
// which the partner's backend mints and the widget fetches from data-token-endpoint.

import { ApiError, Gateway } from "../common/http.js";

const TOKEN_MARGIN_MS = 30_000; // fetch a fresh token this long before the old one expires

function claimsOf(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "=")));
  } catch {
    return {};
  }
}

/** The partner's booking token: fetched from its endpoint (JSON {"token": "…"}), reused until near its exp. */
export class TokenSource {
  constructor(endpoint) {
    this.endpoint = new URL(endpoint, document.baseURI).href;
    this.token = null;
    this.pending = null;
  }

  get claims() {
    return this.token ? claimsOf(this.token) : {};
  }

  async get() {
    const exp = this.claims.exp;
    if (this.token && (!exp || exp * 1000 - TOKEN_MARGIN_MS > Date.now())) return this.token;
    this.pending ||= this.fetchToken().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  async fetchToken() {
    let data = null;
    try {
      const response = await fetch(this.endpoint, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) data = await response.json();
    } catch {
      // below: no token
    }
    if (!data || typeof data.token !== "string") {
      throw new ApiError(0, "token_unavailable", "The site's booking token endpoint gave no token.");
    }
    this.token = data.token;
    return this.token;
  }

  forget() {
    this.token = null;
  }
}

export class WidgetApi extends Gateway {
  constructor({ base, doctorId, appointmentTypeId, tokenEndpoint }) {
    const tokens = new TokenSource(tokenEndpoint);
    super({ base, token: () => tokens.get() });
    this.tokens = tokens;
    this.doctorId = doctorId;
    this.appointmentTypeId = appointmentTypeId;
  }

  get eventsUrl() {
    return this.url(`/v1/doctors/${encodeURIComponent(this.doctorId)}/events`);
  }

  doctor() {
    return this.get(`/v1/doctors/${encodeURIComponent(this.doctorId)}`, undefined, { auth: false });
  }

  appointmentType() {
    return this.get(`/v1/appointment-types/${encodeURIComponent(this.appointmentTypeId)}`, undefined, { auth: false });
  }

  slots() {
    const path = `/v1/doctors/${encodeURIComponent(this.doctorId)}/slots`;
    return this.get(path, { appointment_type_id: this.appointmentTypeId }, { auth: false });
  }

  /** Hold a slot; answers {hold, response}. */
  async hold(start) {
    const body = { doctor_id: this.doctorId, appointment_type_id: this.appointmentTypeId, start };
    const { data, response } = await this.asPatient(() => this.request("POST", "/v1/holds", { body }));
    return { hold: data, response };
  }

  async release(hold) {
    try {
      await this.delete(`/v1/holds/${encodeURIComponent(hold.hold_id)}`, { auth: false, headers: { "X-Hold-Token": hold.hold_token } });
    } catch (error) {
      if (error.code !== "not_found") throw error; // already gone: released is released
    }
  }

  /** Let a hold go while the page closes (the request outlives the page). */
  releaseOnExit(hold) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}`;
    this.request("DELETE", path, { auth: false, keepalive: true, headers: { "X-Hold-Token": hold.hold_token } })
      .catch(() => undefined);
  }

  async confirm(hold, patient) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}/confirm`;
    const headers = { "X-Hold-Token": hold.hold_token };
    const data = await this.asPatient(() => this.post(path, { patient }, { headers }));
    return data.appointment;
  }

  // A token that lapsed or whose secret was rotated (401) is fetched again, once.
  async asPatient(call) {
    try {
      return await call();
    } catch (error) {
      if (error.status !== 401) throw error;
      this.tokens.forget();
      return call();
    }
  }
}
