// Moving the appointment: the doctor's free times for the next two weeks, kept true live (the
// public slots and events routes), one picked and confirmed, then held and moved onto in one go.
// A hold that could not be used is let go at once.

import { LiveSlots } from "../common/liveslots.js";
import { LIVE_LABELS, explainIn, t } from "../common/i18n.js";
import { MonthSlots } from "../common/monthslots.js";
import { showLiveState } from "../common/stream.js";

const $ = (id) => document.getElementById(id);
const DAYS_AHEAD = 60; // the month view moves within them

export class Rescheduler {
  /**
   * @param {{api: import("../common/http.js").Gateway, say: (text: string) => void,
   *          alert: (error: Error) => void, onMoved: (appointment: object) => void,
   *          onClose: () => void}} ctx
   */
  constructor(ctx) {
    this.ctx = ctx;
    this.live = null;
    this.list = null;
    this.chosen = null;
    this.busy = false;
    $("move-button").addEventListener("click", () => this.move());
    $("move-back").addEventListener("click", () => this.unpick());
    $("reschedule-close").addEventListener("click", () => this.close());
  }

  get isOpen() {
    return !$("reschedule").hidden;
  }

  /** Show the free times of the appointment's doctor and type, in `clock`'s zone. */
  open(appointment, clock, doctorName) {
    this.appointment = appointment;
    this.chosen = null;
    $("move-confirm").hidden = true;
    $("reschedule-doctor").textContent = doctorName || t("m.yourDoctor");
    $("reschedule-zone").textContent = clock.zoneLabel();
    $("slot-days").setAttribute("aria-busy", "true");
    const until = Date.now() + DAYS_AHEAD * 86_400_000;
    if (this.list) this.list.setClock(clock);
    else {
      this.list = new MonthSlots($("slot-days"), clock, {
        onPick: (start, end, button) => this.pick(start, end, button),
        onFocusLost: () => $("reschedule-heading").focus(),
        idPrefix: "move-cal",
        until,
      });
    }
    const doctor = encodeURIComponent(appointment.doctor_id);
    const range = () => ({ from: new Date().toISOString(), to: new Date(until).toISOString() });
    const query = () => ({ appointment_type_id: appointment.appointment_type_id, ...range() });
    this.live?.stop();
    this.live = new LiveSlots({
      fetchSlots: () => this.ctx.api.get(`/v1/doctors/${doctor}/slots`, query(), { auth: false }),
      board: this.list,
      eventsUrl: this.ctx.api.url(`/v1/doctors/${doctor}/events`),
      onState: (state) => showLiveState($("live-state"), state, LIVE_LABELS),
      explain: (error) => `${t("error.load")} ${explainIn(error)}`,
    });
    this.clock = clock;
    $("reschedule").hidden = false;
    this.live.start();
    $("reschedule-heading").focus();
  }

  close({ quiet = false } = {}) {
    this.live?.stop();
    this.live = null;
    this.chosen = null;
    $("reschedule").hidden = true;
    if (!quiet) this.ctx.onClose();
  }

  pick(start, end, button) {
    if (this.busy) return;
    this.pressed()?.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    this.chosen = { start, end };
    $("move-time").textContent = this.clock.span(start, end);
    $("move-confirm").hidden = false;
    $("move-question").focus();
  }

  unpick() {
    const button = this.pressed();
    button?.setAttribute("aria-pressed", "false");
    this.chosen = null;
    $("move-confirm").hidden = true;
    (button || $("reschedule-heading")).focus();
  }

  pressed() {
    return $("slot-days").querySelector('button[aria-pressed="true"]');
  }

  async move() {
    if (this.busy || !this.chosen) return;
    this.busy = true;
    $("move-button").disabled = true;
    const { api } = this.ctx;
    const a = this.appointment;
    const { start } = this.chosen;
    this.ctx.say(t("m.moving", this.clock.span(start, this.chosen.end)));
    let hold = null;
    try {
      hold = await api.post("/v1/holds", { doctor_id: a.doctor_id, appointment_type_id: a.appointment_type_id, start });
      const moved = await api.post(
        `/v1/appointments/${encodeURIComponent(a.id)}/reschedule`,
        { hold_id: hold.hold_id, reason: "Rescheduled by the patient" },
        { headers: { "X-Hold-Token": hold.hold_token } },
      );
      hold = null;
      this.close({ quiet: true });
      this.ctx.onMoved(moved);
    } catch (error) {
      this.ctx.say("");
      this.ctx.alert(error);
      if (error.code === "slot_taken" || error.code === "not_bookable") {
        this.chosen = null;
        $("move-confirm").hidden = true;
        this.live?.refresh();
        $("reschedule-heading").focus();
      }
    } finally {
      if (hold) {
        const path = `/v1/holds/${encodeURIComponent(hold.hold_id)}`;
        api.delete(path, { auth: false, headers: { "X-Hold-Token": hold.hold_token } }).catch(() => undefined);
      }
      this.busy = false;
      $("move-button").disabled = false;
    }
  }
}
