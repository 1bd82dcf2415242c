// The gateway's JSON API, as the booking page uses it. Every failure becomes an ApiError with the
// problem body's stable `code`; a request that never reached the gateway has code "network".

export class ApiError extends Error {
  constructor(status, code, detail) {
    super(detail || code);
    this.status = status;
    this.code = code;
    this.detail = detail || "";
  }
}

async function request(method, path, { body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The gateway could not be reached.");
  }
  if (response.status === 204) return { data: null, response };
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const code = (data && data.code) || `http_${response.status}`;
    throw new ApiError(response.status, code, data && data.detail);
  }
  return { data, response };
}

/**
 * The gateway's clock minus ours, in ms, judged from a response's Date header: 0 unless they are
 * clearly apart (Date has whole seconds, so small differences are noise; NTP keeps most clocks
 * right, and then ours is the better one).
 */
export function clockOffset(response) {
  const served = Date.parse(response.headers.get("Date") || "");
  if (Number.isNaN(served)) return 0;
  const offset = served + 500 - Date.now(); // on average the gateway was half a second further
  return Math.abs(offset) > 2_000 ? offset : 0;
}

export class BookingApi {
  constructor({ doctorId, appointmentTypeId, organisationSlug }) {
    this.doctorId = doctorId;
    this.appointmentTypeId = appointmentTypeId;
    this.organisationSlug = organisationSlug;
    this.session = null; // the patient session token, opened at the first hold
  }

  get eventsPath() {
    return `/v1/doctors/${encodeURIComponent(this.doctorId)}/events`;
  }

  async slots() {
    const query = new URLSearchParams({ appointment_type_id: this.appointmentTypeId });
    const path = `/v1/doctors/${encodeURIComponent(this.doctorId)}/slots?${query}`;
    return (await request("GET", path)).data;
  }

  async hold(start) {
    const body = { doctor_id: this.doctorId, appointment_type_id: this.appointmentTypeId, start };
    return this.asPatient((headers) => request("POST", "/v1/holds", { body, headers }));
  }

  async release(hold) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}`;
    try {
      await request("DELETE", path, { headers: { "X-Hold-Token": hold.hold_token } });
    } catch (error) {
      if (error.code !== "not_found") throw error; // already gone: released is released
    }
  }

  /** Let a hold go while the page closes (the request outlives the page). */
  releaseOnExit(hold) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}`;
    fetch(path, { method: "DELETE", keepalive: true, headers: { ...this.authHeaders(), "X-Hold-Token": hold.hold_token } })
      .catch(() => undefined);
  }

  async confirm(hold, patient) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}/confirm`;
    const headers = { "X-Hold-Token": hold.hold_token };
    const { data } = await this.asPatient((auth) =>
      request("POST", path, { body: { patient }, headers: { ...auth, ...headers } }),
    );
    return data.appointment;
  }

  // Holds and confirms need a patient token: an anonymous session of the clinic's organisation,
  // opened at the first hold (not on page view: sessions are rate limited per address). A session
  // that lapsed or was revoked (401) is replaced once.
  async asPatient(call) {
    await this.openSession();
    try {
      return await call(this.authHeaders());
    } catch (error) {
      if (error.code !== "unauthorized" || !this.session) throw error;
      this.session = null;
      await this.openSession();
      return call(this.authHeaders());
    }
  }

  async openSession() {
    if (this.session || !this.organisationSlug) return;
    const body = { organisation_slug: this.organisationSlug };
    const { data } = await request("POST", "/v1/sessions", { body });
    this.session = data.token;
  }

  authHeaders() {
    return this.session ? { Authorization: `Bearer ${this.session}` } : {};
  }
}
