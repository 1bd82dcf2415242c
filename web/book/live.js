// The page's free slots, kept true live: the common slot list laid out with every day open (the
// page has the room; the skip link jumps past them) and the common live slot logic under it.

import { LiveSlots } from "../common/liveslots.js";
import { SlotList } from "../common/slotlist.js";
import { showLiveState } from "../common/stream.js";

const EMPTY = "No free times in the next two weeks. New times show up here the moment they open.";

/**
 * @param {import("../common/booking.js").BookingClient} api
 * @param {import("../common/time.js").Clock} clock  the patient's zone
 * @param {{onPick: Function, onFocusLost: Function, explain: (error: Error) => string}} handlers
 * @returns {{board: SlotList, live: LiveSlots}}
 */
export function liveSlotList(api, clock, { onPick, onFocusLost, explain }) {
  const board = new SlotList(document.getElementById("slot-days"), clock, {
    onPick,
    onFocusLost,
    emptyText: EMPTY,
    collapsible: false,
  });
  const live = new LiveSlots({
    fetchSlots: () => api.slots(),
    board,
    eventsUrl: api.eventsUrl,
    onState: (state) => showLiveState(document.getElementById("live-state"), state),
    explain,
  });
  return { board, live };
}
