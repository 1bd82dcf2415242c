// The booking page's side of the API: the common booking client, with an anonymous patient
// session of the clinic's organisation as its patient token.

import { BookingClient } from "../common/booking.js";
import { Gateway } from "../common/http.js";

/**
 * The patient token of the public page: a session (POST /v1/sessions) opened at the first hold,
 * not on page view, since sessions are rate limited per address. Without an organisation the
 * page books without a token (and the gateway says what it thinks of that).
 */
export class PatientSession {
  constructor(organisationSlug, gateway = new Gateway()) {
    this.organisationSlug = organisationSlug;
    this.gateway = gateway;
    this.token = null;
    this.pending = null;
  }

  async get() {
    if (this.token || !this.organisationSlug) return this.token;
    this.pending ||= this.gateway
      .post("/v1/sessions", { organisation_slug: this.organisationSlug }, { auth: false })
      .then((session) => {
        this.token = session.token;
        return this.token;
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  forget() {
    this.token = null;
  }
}

/** The client for the doctor and type named on the page's root element. */
export function bookingClient({ doctorId, appointmentTypeId, organisationSlug }) {
  return new BookingClient({ doctorId, appointmentTypeId, patientToken: new PatientSession(organisationSlug) });
}
