// "Any doctor": the free times of one service merged across the doctors who offer it, kept live.
//
// Each doctor's slots come from GET /v1/doctors/{id}/slots (the next 14 days); one stream,
// GET /v1/events?doctor_id=…&doctor_id=…, says when any of them changes. A held or booked event
// takes the doctor's overlapping slots out at once (the time disappears when no doctor is free at
// it any more), then that doctor's slots are fetched again (buffers, rules); a released or freed
// time or a resync refetches. After every (re)connect everything is fetched again (events may
// have been missed), and while the stream is down the page polls (common/stream.js).

import { coalesce } from "../common/dom.js";
import { Watch, combinedState, streamGroups } from "../common/stream.js";

const KEEP_EVENTS = 200; // recent held/booked events per doctor, to correct a fetch that raced them

export class AnyDoctorTimes {
  /**
   * @param {{doctorIds: string[], typeId: string, onChange: () => void, onState: (s: string) => void,
   *          onError: (error: Error) => void}} options  doctorIds in the order a time prefers them
   */
  constructor({ doctorIds, typeId, onChange, onState, onError }) {
    this.doctorIds = doctorIds;
    this.typeId = typeId;
    this.onChange = onChange;
    this.onError = onError;
    this.slots = new Map(doctorIds.map((id) => [id, []])); // doctor → [{start, end, iso}]
    this.loaded = new Set();
    this.recent = new Map(doctorIds.map((id) => [id, []])); // doctor → held/booked events
    this.refreshers = new Map(doctorIds.map((id) => [id, coalesce(() => this.load(id))]));
    // one stream follows at most STREAM_DOCTORS doctors (GATEWAY_LIVE_MAX_DOCTORS): a large
    // clinic gets a few streams, shown as one state
    const groups = streamGroups(doctorIds);
    const stateOf = combinedState(groups.length, onState);
    this.watches = groups.map((group, index) => {
      const query = new URLSearchParams(group.map((id) => ["doctor_id", id]));
      return new Watch(`/v1/events?${query}`, {
        onChange: (event) => (event ? this.apply(event) : group.forEach((id) => this.refreshers.get(id)())),
        onState: stateOf(index),
      });
    });
    this.stopped = false;
  }

  start() {
    this.refreshAll(); // at once; again when a stream opens (then nothing between is missed)
    for (const watch of this.watches) watch.start();
  }

  stop() {
    this.stopped = true;
    for (const watch of this.watches) watch.stop();
  }

  get ready() {
    return this.loaded.size === this.doctorIds.length;
  }

  refreshAll() {
    for (const refresh of this.refreshers.values()) refresh();
  }

  async load(doctorId) {
    const query = new URLSearchParams({ appointment_type_id: this.typeId });
    let slots = [];
    try {
      const response = await fetch(`/v1/doctors/${encodeURIComponent(doctorId)}/slots?${query}`, {
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      const data = await response.json().catch(() => null);
      if (response.ok && data) {
        // events newer than this answer may already have taken some of it
        const taken = this.recent.get(doctorId).filter((e) => e.seq === undefined || e.seq > data.seq);
        slots = data.slots
          .map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end), iso: s.start }))
          .filter((s) => !taken.some((e) => overlaps(s, e)));
      } else if (!(data && data.code === "not_bookable")) {
        // not_bookable: the doctor no longer offers this service; anything else is worth saying
        throw new Error((data && data.detail) || `HTTP ${response.status}`);
      }
    } catch (error) {
      if (!this.stopped) this.onError(error);
      return;
    }
    if (this.stopped) return;
    this.slots.set(doctorId, slots);
    this.loaded.add(doctorId);
    this.onChange();
  }

  apply(event) {
    const doctorId = event.doctor_id;
    if (!this.slots.has(doctorId)) {
      if (event.type === "resync") this.refreshAll();
      return;
    }
    if ((event.type === "slot.held" || event.type === "slot.booked") && event.start && event.end) {
      const taken = { start: Date.parse(event.start), end: Date.parse(event.end), seq: event.seq };
      const recent = this.recent.get(doctorId);
      recent.push(taken);
      if (recent.length > KEEP_EVENTS) recent.splice(0, recent.length - KEEP_EVENTS);
      const before = this.slots.get(doctorId);
      const after = before.filter((s) => !overlaps(s, taken));
      if (after.length !== before.length) {
        this.slots.set(doctorId, after);
        this.onChange();
      }
    }
    this.refreshers.get(doctorId)(); // buffers and rules: the gateway knows exactly what is free
  }

  /** Every free time, earliest first: {iso, start, end, doctors} with doctors in preference order. */
  merged() {
    const byStart = new Map();
    for (const doctorId of this.doctorIds) {
      for (const slot of this.slots.get(doctorId)) {
        const found = byStart.get(slot.start);
        if (found) found.doctors.push(doctorId);
        else byStart.set(slot.start, { ...slot, doctors: [doctorId] });
      }
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }
}

function overlaps(slot, taken) {
  return slot.start < taken.end && taken.start < slot.end;
}
