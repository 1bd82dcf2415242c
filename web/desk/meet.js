// "Meet now": an appointment starting this minute when the doctor is free, and its room at once.

import { el, fieldError } from "../common/dom.js";
import { explain } from "../common/http.js";
import { fill, fillTypes, patientOf } from "./book.js";

const $ = (id) => document.getElementById(id);

export class MeetNow {
  constructor({ api, clock, doctors, types, notice, onError }) {
    Object.assign(this, { api, clock, doctors, types, notice, onError });
    fill($("meet-doctor"), [...doctors.values()]);
    fillTypes($("meet-type"), [...types.values()], $("meet-doctor").value);
    $("meet-doctor").onchange = () => fillTypes($("meet-type"), [...types.values()], $("meet-doctor").value);
    $("meet-form").onsubmit = (event) => {
      event.preventDefault();
      this.submit();
    };
  }

  async submit() {
    const patient = patientOf("meet");
    if (!patient) return;
    const doctor = this.doctors.get($("meet-doctor").value)?.name || "The doctor";
    let appointment;
    try {
      appointment = await this.api.post("/v1/admin/meet-now", {
        doctor_id: $("meet-doctor").value,
        appointment_type_id: $("meet-type").value,
        patient,
      });
    } catch (error) {
      if (error.status === 401) return this.onError(error);
      const messages = {
        doctor_busy: `${doctor} has an appointment now or too soon for this one.`,
        slot_taken: `Someone is holding or booking a time with ${doctor} right now. Please try again in a moment.`,
      };
      this.notice.alert(explain(error, messages));
      return;
    }
    // The room is asked for at once, so the link below opens it on the first click (no popup).
    let room = null;
    try {
      room = await this.api.get(`/v1/appointments/${encodeURIComponent(appointment.id)}/join`);
    } catch {
      room = null;
    }
    const box = $("meet-done");
    box.replaceChildren(
      el("h3", {}, "Started"),
      el("p", {}, `${appointment.patient.name} with ${doctor}, ${this.clock.span(appointment.start, appointment.end)}.`),
      room
        ? el(
            "p",
            {},
            el("a", { className: "button-link", href: room.meeting_url, target: "_blank", rel: "noopener noreferrer" },
              "Open the consultation room"),
          )
        : el("p", { className: "muted" }, "The room opens from the appointment's join link."),
    );
    box.hidden = false;
    for (const id of ["meet-name", "meet-email"]) {
      $(id).value = "";
      fieldError(id, "", { focus: false });
    }
    this.notice.say(`Started a meeting for ${appointment.patient.name} with ${doctor}.`);
    box.focus();
  }
}
