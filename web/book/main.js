// The booking page: free slots that stay true live, hold one, confirm it.

import { BookingApi, clockOffset } from "./api.js";
import { HoldPanel, showAppointment } from "./hold.js";
import { LiveFeed } from "./live.js";
import { SlotBoard } from "./slots.js";
import { Clock, browserZone } from "./time.js";

const $ = (id) => document.getElementById(id);
const POLL_WHILE_OFFLINE_MS = 20_000;
const RETRY_LOAD_MS = 3_000;

const MESSAGES = {
  slot_taken: "Someone was faster: that time was just taken. Please pick another one.",
  hold_expired: "Your hold lapsed before you confirmed, so the time is open to everyone again. Please pick a time again.",
  not_bookable: "That time can no longer be booked. Please pick another one.",
  rate_limited: "Too many tries in a short time. Please wait a moment and try again.",
  network: "We could not reach the clinic. Please check your connection and try again.",
};

const explain = (error) =>
  MESSAGES[error.code] || (error.status === 422 && error.detail) || "Something went wrong on our side. Please try again.";

const root = $("booking");
const api = new BookingApi({
  doctorId: root.dataset.doctorId,
  appointmentTypeId: root.dataset.appointmentTypeId,
  organisationSlug: root.dataset.organisationSlug,
});
const clock = new Clock(browserZone());

// --- messages ---------------------------------------------------------------------------------

function say(text) {
  $("status").textContent = text;
}

function alertUser(text) {
  $("alert").hidden = false;
  $("alert-text").textContent = text;
}

function clearAlert() {
  $("alert").hidden = true;
  $("alert-text").textContent = "";
}

// --- the slot list, kept true by the live feed --------------------------------------------------

const board = new SlotBoard($("slot-days"), clock, {
  onPick: (start, end, button) => pick(start, end, button),
  onFocusLost: () => {
    if (picking) return; // our own hold, announced before its answer came: pick() moves focus
    say("The time you were on was just taken by someone else.");
    $("slots-heading").focus();
  },
});

// `seq` is the doctor's event number the list reflects. Events that arrive while a refetch is in
// flight are kept and replayed over the new list if they are newer than it.
const sync = { seq: 0, loading: null, again: false, buffered: [], poll: null, live: false };
const takes = (event) => event.type === "slot.held" || event.type === "slot.booked";

function refresh() {
  if (sync.loading) {
    sync.again = true;
    return sync.loading;
  }
  sync.loading = load().finally(() => {
    sync.loading = null;
    if (sync.again) {
      sync.again = false;
      refresh();
    }
  });
  return sync.loading;
}

async function load() {
  sync.buffered = [];
  let snapshot;
  try {
    snapshot = await api.slots();
  } catch (error) {
    if (!sync.live) board.showError(`We could not load the free times. ${explain(error)}`, () => refresh());
    else setTimeout(refresh, RETRY_LOAD_MS); // keep the list we have; the next try will correct it
    return;
  }
  board.render(snapshot.slots);
  sync.seq = snapshot.seq;
  if (!sync.live) {
    sync.live = true; // the feed starts after the first list, from its seq
    feed.start();
  }
  const newer = sync.buffered.filter((event) => !(event.seq <= sync.seq)).sort((a, b) => a.seq - b.seq);
  sync.buffered = [];
  for (const event of newer) apply(event);
}

function receive(event) {
  if (sync.loading) {
    sync.buffered.push(event);
    if (takes(event)) board.removeOverlapping(event.start, event.end); // show it at once
    return;
  }
  apply(event);
}

function apply(event) {
  if (event.type === "resync" || typeof event.seq !== "number") return void refresh();
  if (event.seq <= sync.seq) return undefined; // already in the list
  if (event.seq > sync.seq + 1) return void refresh(); // we missed some: start over
  sync.seq = event.seq;
  if (takes(event)) board.removeOverlapping(event.start, event.end);
  // A released or freed slot may come back as several slots (or none, under the type's rules):
  // the gateway decides, so ask it.
  else refresh();
  return undefined;
}

function showLive(state) {
  const labels = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };
  $("live-state").dataset.state = state;
  $("live-label").textContent = labels[state];
  // While the feed is down, fall back to asking now and then, so the list does not go stale.
  if (state === "live") {
    clearInterval(sync.poll);
    sync.poll = null;
  } else if (state === "reconnecting" && !sync.poll) {
    sync.poll = setInterval(() => refresh(), POLL_WHILE_OFFLINE_MS);
  }
}

const feed = new LiveFeed(api.eventsPath, () => sync.seq, { onEvent: receive, onState: showLive });

// --- holding and confirming ---------------------------------------------------------------------

let current = null; // the hold this page owns
let picking = false;

const holdPanel = new HoldPanel(clock, {
  onSubmit: (hold, patient) => confirm(hold, patient),
  onRelease: (hold) => release(hold),
  onLapse: () => {
    current = null;
    say("Your hold lapsed, so the time is open to everyone again.");
  },
  onBack: () => backToSlots(),
});

async function pick(start, end, button) {
  if (picking) return;
  picking = true;
  button.setAttribute("aria-busy", "true");
  clearAlert();
  say(`Holding ${clock.time(start)}…`);
  try {
    const { data, response } = await api.hold(start);
    const previous = current;
    current = data;
    $("intro").hidden = true;
    holdPanel.show(data, clockOffset(response));
    say(`${clock.span(data.start, data.end)} is held for you. Enter your name and email to confirm.`);
    if (previous) api.release(previous).catch(() => undefined);
  } catch (error) {
    say("");
    alertUser(explain(error));
    if (error.code === "slot_taken" || error.code === "not_bookable") {
      if (button.isConnected) board.drop(button);
      $("slots-heading").focus();
      refresh();
    }
  } finally {
    picking = false;
    button.removeAttribute("aria-busy");
  }
}

async function confirm(hold, patient) {
  holdPanel.busy(true);
  clearAlert();
  say("Confirming your booking…");
  try {
    const appointment = await api.confirm(hold, { ...patient, timezone: clock.zone });
    current = null;
    holdPanel.hide();
    $("slots").hidden = true;
    root.dataset.view = "done";
    showAppointment(clock, appointment);
    say(`Booked: ${clock.span(appointment.start, appointment.end)}.`);
  } catch (error) {
    holdPanel.busy(false);
    say("");
    alertUser(explain(error));
    if (error.code === "hold_expired" || error.code === "not_found") holdPanel.lapse();
    else if (error.code === "slot_taken") backToSlots();
  }
}

async function release(hold) {
  holdPanel.busy(true);
  clearAlert();
  try {
    await api.release(hold);
    say("Hold cancelled. The time is free again.");
    backToSlots();
  } catch (error) {
    holdPanel.busy(false);
    alertUser(explain(error));
  }
}

function backToSlots() {
  current = null;
  holdPanel.hide();
  $("done").hidden = true;
  $("intro").hidden = false;
  $("slots").hidden = false;
  delete root.dataset.view;
  $("slots-heading").focus();
}

// --- start ------------------------------------------------------------------------------------

$("alert-close").addEventListener("click", clearAlert);
$("book-another").addEventListener("click", () => {
  backToSlots();
  refresh();
});
// Closing the page lets its hold go at once, rather than when it lapses.
window.addEventListener("pagehide", () => {
  if (current) api.releaseOnExit(current);
});

$("zone-name").textContent = clock.zoneLabel();
refresh();
