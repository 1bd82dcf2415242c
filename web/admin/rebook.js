// Rebooking on a patient's behalf: pick a new slot (live), confirm "Move <patient> from X to Y?",
// then the gateway holds it for the clinic and moves the appointment onto the hold in one step
// (which tells the patient). If the move fails, the hold is let go. Back changes nothing.

import { explain } from "../common/http.js";
import { el } from "../common/dom.js";
import { LiveSlots } from "../common/liveslots.js";
import { SlotList } from "../common/slotlist.js";
import { showLiveState } from "../common/stream.js";

const $ = (id) => document.getElementById(id);

export class Rebooker {
  /** @param {{api, clock, doctors: Map, types: Map, say, alert, onMoved: (appointment) => void}} ctx */
  constructor(ctx) {
    this.ctx = ctx;
    this.live = null;
    this.appointment = null;
    this.busy = false;
    this.picked = null; // the start asked about in the confirm step
    this.list = new SlotList($("rebook-slots"), ctx.clock, {
      onPick: (start, end) => this.ask(start, end),
      emptyText: "No free times in the next two weeks.",
    });
    // handler properties, not listeners: a second sign-in in this tab builds this again, and one
    // Confirm must move the appointment once
    $("rebook-doctor").onchange = () => this.follow($("rebook-doctor").value);
    $("rebook-confirm-button").onclick = () => this.move();
    $("rebook-back").onclick = () => this.back();
  }

  /** The confirm step: nothing moves until Confirm. */
  ask(start, end) {
    const { clock, doctors } = this.ctx;
    const a = this.appointment;
    const at = (instant) => `${clock.dayLabel(instant)}, ${clock.time(instant)}`;
    const other = this.doctorId !== a.doctor_id ? ` with ${doctors.get(this.doctorId)?.name || "another doctor"}` : "";
    this.picked = { start, end };
    this.ctx.alert("");
    $("rebook-question").textContent = `Move ${a.patient.name} from ${at(a.start)} to ${at(start)}${other}?`;
    $("rebook-slots").hidden = true;
    $("rebook-doctor-field").dataset.wasHidden = String($("rebook-doctor-field").hidden);
    $("rebook-doctor-field").hidden = true;
    $("rebook-confirm").hidden = false;
    $("rebook-question").focus();
  }

  /** Back to the free times, the picked one focused again when it is still free. */
  back() {
    const start = this.picked?.start;
    this.closeQuestion();
    const again = start && $("rebook-slots").querySelector(`button[data-slot-start="${start}"]`);
    (again && !again.disabled ? again : $("rebook-heading")).focus();
  }

  closeQuestion() {
    this.picked = null;
    $("rebook-confirm").hidden = true;
    $("rebook-slots").hidden = false;
    if ($("rebook-doctor-field").dataset.wasHidden === "false") $("rebook-doctor-field").hidden = false;
  }

  show(appointment) {
    this.appointment = appointment;
    const type = this.ctx.types.get(appointment.appointment_type_id);
    const anyDoctor = type?.rebooking_mode === "any_doctor";
    $("rebook-doctor-field").hidden = !anyDoctor;
    $("rebook-doctor").replaceChildren(...[...this.ctx.doctors.values()]
      .filter((d) => anyDoctor || d.id === appointment.doctor_id)
      .map((d) => el("option", { value: d.id, textContent: d.name, selected: d.id === appointment.doctor_id })));
    $("rebook").hidden = false;
    this.follow(appointment.doctor_id);
    $("rebook-heading").focus();
  }

  follow(doctorId) {
    this.live?.stop();
    this.doctorId = doctorId;
    const typeId = this.appointment.appointment_type_id;
    $("rebook-slots").setAttribute("aria-busy", "true");
    this.live = new LiveSlots({
      fetchSlots: () => this.ctx.api.get(`/v1/doctors/${encodeURIComponent(doctorId)}/slots`, { appointment_type_id: typeId }),
      board: this.list,
      eventsUrl: this.ctx.api.url(`/v1/doctors/${encodeURIComponent(doctorId)}/events`),
      onState: (state) => showLiveState($("rebook-live"), state),
      explain: (error) => `We could not load the free times. ${explain(error)}`,
    });
    this.live.start();
  }

  hide() {
    this.live?.stop();
    this.live = null;
    this.closeQuestion();
    $("rebook").hidden = true;
  }

  async move() {
    if (this.busy || !this.picked) return;
    const { start } = this.picked;
    const button = $("rebook-confirm-button");
    this.busy = true;
    button.setAttribute("aria-busy", "true");
    const { api, clock } = this.ctx;
    const a = this.appointment;
    this.ctx.say(`Moving to ${clock.dayLabel(start)} ${clock.time(start)}…`);
    let hold = null;
    try {
      hold = await api.post("/v1/holds", {
        doctor_id: this.doctorId, appointment_type_id: a.appointment_type_id, start, override_notice: true,
      });
      const moved = await api.post(
        `/v1/appointments/${encodeURIComponent(a.id)}/reschedule`,
        { hold_id: hold.hold_id, reason: "Rebooked by the clinic" },
        { headers: { "X-Hold-Token": hold.hold_token } },
      );
      hold = null;
      this.hide();
      this.ctx.onMoved(moved);
    } catch (error) {
      this.ctx.say("");
      this.ctx.alert(error.code === "slot_taken" ? "Someone else just took that time. Please pick another one." : explain(error));
      if (error.code === "slot_taken" || error.code === "not_bookable") {
        this.closeQuestion();
        this.live?.refresh();
        $("rebook-heading").focus();
      }
    } finally {
      if (hold) api.delete(`/v1/holds/${encodeURIComponent(hold.hold_id)}`, { headers: { "X-Hold-Token": hold.hold_token } }).catch(() => undefined);
      this.busy = false;
      button.removeAttribute("aria-busy");
    }
  }
}
