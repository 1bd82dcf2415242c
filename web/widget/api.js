// What the widget asks the gateway, from the partner's page (cross-origin; the organisation lists
// the partner's origin in allowed_origins). Holds and confirms carry the partner's booking token,
// which the partner's backend mints and the widget fetches from data-token-endpoint; the rest is
// the booking client the booking page uses too (common/booking.js).

import { BookingClient } from "../common/booking.js";
import { ApiError } from "../common/http.js";

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

export class WidgetApi extends BookingClient {
  constructor({ base, doctorId, appointmentTypeId, tokenEndpoint }) {
    const tokens = new TokenSource(tokenEndpoint);
    super({ base, doctorId, appointmentTypeId, patientToken: tokens });
    this.tokens = tokens;
  }
}
