// What a patient-facing face (the booking page, the widget) asks the gateway about one doctor and
// one appointment type: the free slots and their event stream, holds, releases and confirms.
// Holds and confirms carry a patient token from `patientToken` ({get, forget}): the booking page
// opens an anonymous session, the widget fetches the partner's booking token. A token the gateway
// no longer takes (401: lapsed, revoked, rotated) is forgotten and fetched again, once.

import { Gateway } from "./http.js";
import { t } from "./i18n.js";

/** Problem codes both booking faces explain the same way (in the page's language). */
export const BOOKING_MESSAGES = Object.fromEntries(
  ["slot_taken", "hold_expired", "not_bookable", "network", "rate_limited", "too_many_holds", "too_many_bookings"]
    .map((code) => [code, t(`error.${code}`)]),
);

export class BookingClient extends Gateway {
  /**
   * @param {{base?: string, doctorId: string, appointmentTypeId: string,
   *          patientToken: {get: () => Promise<string|null>, forget: () => void}}} options
   */
  constructor({ base = "", doctorId, appointmentTypeId, patientToken }) {
    super({ base, token: () => patientToken.get() });
    this.patientToken = patientToken;
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

  /**
   * The free slots and the doctor's event `seq` they reflect (GET /slots needs no token);
   * `range` ({from, to}, epoch ms) asks for more than the gateway's default two weeks.
   */
  slots(range = null) {
    const path = `/v1/doctors/${encodeURIComponent(this.doctorId)}/slots`;
    const query = { appointment_type_id: this.appointmentTypeId };
    if (range) Object.assign(query, { from: new Date(range.from).toISOString(), to: new Date(range.to).toISOString() });
    return this.get(path, query, { auth: false });
  }

  /** Hold a slot; answers {hold, response} (the response's Date header corrects our clock). */
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

  /**
   * Let a hold go while the page closes (the request outlives the page). Without `auth`, the
   * request is sent before this returns, still inside the pagehide handler.
   */
  releaseOnExit(hold) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}`;
    this.request("DELETE", path, { auth: false, keepalive: true, headers: { "X-Hold-Token": hold.hold_token } })
      .catch(() => undefined);
  }

  /**
   * Confirm a hold; `payment` ({reference}) when the type asks for one. Answers the appointment,
   * with the answer's `manage_url` (the patient's signed "manage my booking" page) on it.
   */
  async confirm(hold, patient, payment = null) {
    const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}/confirm`;
    const headers = { "X-Hold-Token": hold.hold_token };
    const body = payment ? { patient, payment } : { patient };
    const data = await this.asPatient(() => this.post(path, body, { headers }));
    return { ...data.appointment, manage_url: data.manage_url ?? null };
  }

  async asPatient(call) {
    try {
      return await call();
    } catch (error) {
      if (error.status !== 401) throw error;
      this.patientToken.forget();
      return call();
    }
  }
}
