// One appointment in a modal dialog (web/common/appointmentdialog.js): its facts, its history,
// cancel (with a required reason), and rebook on the patient's behalf. Kept live: the page calls
// refresh() on slot events.

import { AppointmentDialog } from "../common/appointmentdialog.js";
import { explain } from "../common/http.js";
import { Clock } from "../common/time.js";
import { Rebooker } from "./rebook.js";

const $ = (id) => document.getElementById(id);

export class DetailDialog extends AppointmentDialog {
  /** @param {{api, clock, doctors: Map, types: Map, onChanged: () => void, onError}} ctx */
  constructor(ctx) {
    super(ctx);
    this.rebooker = new Rebooker({
      ...ctx,
      say: (text) => this.say(text),
      alert: (text) => this.alert(text),
      onMoved: (moved) => this.moved(moved),
    });
    $("rebook-open").onclick = () => this.rebooker.show(this.appointment);
    $("rebook-close").onclick = () => {
      this.rebooker.hide();
      $("rebook-open").focus();
    };
  }

  opening() {
    this.rebooker.hide();
  }

  closed() {
    this.rebooker.hide();
    super.closed();
  }

  describe(a) {
    const { doctors, types } = this.ctx;
    const doctor = doctors.get(a.doctor_id);
    const type = types.get(a.appointment_type_id);
    return [
      ["With", doctor ? `${doctor.name} (${new Clock(doctor.timezone).time(a.start)} in ${doctor.timezone})` : a.doctor_id],
      ["Type", type ? `${type.name}, ${type.duration_minutes} minutes` : a.appointment_type_id],
      ["Patient", [a.patient.name, a.patient.email, a.patient.phone, a.patient.ref && `ref ${a.patient.ref}`].filter(Boolean).join(" · ")],
    ];
  }

  activeChanged(active) {
    $("detail-actions").hidden = !active;
    if (!active) this.rebooker.hide();
  }

  reasonAccepted(reason) {
    if (reason) return true;
    this.reasonProblem("Please give a reason for the cancellation.");
    $("cancel-reason").focus();
    return false;
  }

  cancelFailed(error) {
    this.alert(explain(error));
  }

  async moved(appointment) {
    await this.load(appointment.id);
    this.say(`Moved to ${this.ctx.clock.span(appointment.start, appointment.end)} (${this.ctx.clock.zone}).`);
    $("detail-heading").focus();
    this.ctx.onChanged();
  }
}
