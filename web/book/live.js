// The page's free slots, kept true live: a month calendar marking the days with free times and
// the chosen day's times (common/monthslots.js), with the common live slot logic under it. The
// page loads 60 days ahead (the gateway's longest default notice); the month moves within them.

import { LiveSlots } from "../common/liveslots.js";
import { MonthSlots } from "../common/monthslots.js";
import { LIVE_LABELS } from "../common/i18n.js";
import { showLiveState } from "../common/stream.js";

export const DAYS_AHEAD = 60;

/**
 * @param {import("../common/booking.js").BookingClient} api
 * @param {import("../common/time.js").Clock} clock  the patient's zone and clock
 * @param {{onPick: Function, onFocusLost: Function, onDay?: Function, explain: (error: Error) => string, day?: string|null}} handlers
 * @returns {{board: MonthSlots, live: LiveSlots}}
 */
export function liveSlotList(api, clock, { onPick, onFocusLost, onDay, explain, day = null }) {
  const from = Date.now();
  const until = from + DAYS_AHEAD * 86_400_000;
  const board = new MonthSlots(document.getElementById("slot-days"), clock, { onPick, onFocusLost, onDay, day, until });
  const live = new LiveSlots({
    fetchSlots: () => api.slots({ from: Date.now(), to: until }),
    board,
    eventsUrl: api.eventsUrl,
    onState: (state) => showLiveState(document.getElementById("live-state"), state, LIVE_LABELS),
    explain,
  });
  return { board, live };
}
