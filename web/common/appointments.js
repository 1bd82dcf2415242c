// What staff pages say about an appointment: its status in words, and what may be done when.
// The join window (10 minutes before the start to 60 minutes after the end) is the gateway's rule;
// it is computed here only to enable buttons, and the gateway still decides.

import { el } from "./dom.js";

export const STATUS_LABELS = {
  confirmed: "Confirmed",
  pending_approval: "Waiting for approval",
  cancelled: "Cancelled",
  completed: "Completed",
  no_show: "No-show",
  rescheduled: "Moved",
};

export const ACTIVE = ["confirmed", "pending_approval"];

const JOIN_OPENS_MS = 10 * 60_000;
const JOIN_CLOSES_MS = 60 * 60_000;

/** The join window of an appointment, in epoch ms. */
export function joinWindow(appointment) {
  return {
    opens: Date.parse(appointment.start) - JOIN_OPENS_MS,
    closes: Date.parse(appointment.end) + JOIN_CLOSES_MS,
  };
}

/** Which actions make sense now: join inside the window, no-show after it, complete once started. */
export function actionsAt(appointment, now = Date.now()) {
  const { opens, closes } = joinWindow(appointment);
  const confirmed = appointment.status === "confirmed";
  return {
    join: confirmed && opens <= now && now <= closes,
    complete: confirmed && now >= Date.parse(appointment.start),
    noShow: confirmed && now > closes,
    approve: appointment.status === "pending_approval",
  };
}

export function statusBadge(status) {
  return el("span", { className: `badge badge-${status}`, textContent: STATUS_LABELS[status] || status });
}
