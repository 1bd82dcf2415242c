// One of the doctor's appointments in a modal dialog (web/common/appointmentdialog.js): its
// facts, its history and, while it is active, cancel with a reason. The gateway decides whether a
// reason is enough (422 reason_required); its answer is shown at the field.

import { AppointmentDialog } from "../common/appointmentdialog.js";

export class AppointmentDetail extends AppointmentDialog {
  /** @param {{api, clock, typeNames: Map, onChanged: () => void, onError}} ctx */
  constructor(ctx) {
    super(ctx);
    this.cancelledText = "Cancelled. The patient is told, and the time is free again on booking pages.";
  }

  describe(a) {
    return [
      ["Type", this.ctx.typeNames.get(a.appointment_type_id) || a.appointment_type_id],
      ["Patient", [a.patient.name, a.patient.email, a.patient.phone].filter(Boolean).join(" · ")],
    ];
  }
}
