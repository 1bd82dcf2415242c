// The booking page: free slots that stay true live, hold one, confirm it. Built from the same
// common modules as the widget (web/common/); the page's own parts are its markup, the open
// day-by-day layout (live.js), the anonymous patient session (api.js) and the booked panel (done.js).

import { BOOKING_MESSAGES } from "../common/booking.js";
import { HoldForm } from "../common/holdform.js";
import { clockOffset } from "../common/http.js";
import { LANG, explainIn, t, translate } from "../common/i18n.js";
import { Notice } from "../common/notice.js";
import { dueText, payInWindow, paymentDue } from "../common/payment.js";
import { chosenClock, clockControls } from "../common/prefs.js";
import { bookingClient } from "./api.js";
import { showAppointment } from "./done.js";
import { liveSlotList } from "./live.js";

const $ = (id) => document.getElementById(id);

const MESSAGES = { ...BOOKING_MESSAGES, unauthorized: t("error.session") };
const say = (error) => explainIn(error, MESSAGES);

const root = $("booking");
const api = bookingClient({
  doctorId: root.dataset.doctorId,
  appointmentTypeId: root.dataset.appointmentTypeId,
  organisationSlug: root.dataset.organisationSlug,
});
let clock = chosenClock();
const notice = new Notice();
const asked = new URLSearchParams(location.search);
// Deep links: ?day=YYYY-MM-DD opens that day; ?start=<UTC ISO> opens its day and holds it when free.
// A link written by hand may carry "+00:00" unencoded, which the query string reads as a space.
const startText = (asked.get("start") || "").replace(" ", "+");
const askedStart = Number.isNaN(Date.parse(startText)) ? null : new Date(startText).toISOString().replace(".000Z", "Z");
const askedDay = /^\d{4}-\d{2}-\d{2}$/.test(asked.get("day") || "") ? asked.get("day") : null;

let current = null; // the hold this page owns
let picking = false;

// --- the slot list, kept true by the live feed --------------------------------------------------

const { board, live } = liveSlotList(api, clock, {
  day: askedStart ? clock.dayKey(askedStart) : askedDay,
  onPick: (start, end, button) => pick(start, button),
  onFocusLost: () => {
    if (picking) return; // our own hold, announced before its answer came: pick() moves focus
    notice.say(t("status.taken"));
    $("slots-heading").focus();
  },
  explain: (error) => `${t("error.load")} ${say(error)}`,
});

// --- holding and confirming ---------------------------------------------------------------------

const holdForm = new HoldForm(
  document,
  clock,
  {
    onSubmit: (hold, patient) => confirm(hold, patient),
    onRelease: (hold) => release(hold),
    onLapse: () => {
      current = null;
      board.hold(null);
      notice.say(t("status.lapsed"));
    },
    onBack: () => backToSlots(),
    onTick: (left) => board.tick(left),
  },
  {
    ids: {
      countdownLine: "hold-countdown-line",
      countdown: "hold-countdown",
      lapsed: "hold-lapsed",
      name: "patient-name",
      email: "patient-email",
      confirm: "confirm-button",
      release: "release-button",
    },
  },
);

async function pick(start, button) {
  if (picking) return;
  picking = true;
  button.setAttribute("aria-busy", "true");
  notice.clear();
  notice.say(t("status.holding", clock.time(start)));
  try {
    const { hold, response } = await api.hold(start);
    const previous = current;
    current = hold;
    board.hold(hold);
    showPayment();
    $("intro").hidden = true;
    // The countdown is the gateway's: its deadline, corrected for our clock's error.
    holdForm.show(hold, Date.parse(hold.expires_at) - clockOffset(response));
    $("hold").hidden = false;
    $("hold-heading").focus();
    notice.say(t("status.held", clock.span(hold.start, hold.end)));
    if (previous) api.release(previous).catch(() => undefined);
  } catch (error) {
    notice.say("");
    notice.alert(say(error));
    if (error.code === "slot_taken" || error.code === "not_bookable") {
      if (button.isConnected) board.drop(button);
      $("slots-heading").focus();
      live.refresh();
    }
  } finally {
    picking = false;
    button.removeAttribute("aria-busy");
  }
}

/** The payment reference a paid type needs (the clinic's payment page, in a window), or null. */
async function pay(hold) {
  if (!due) return null;
  if (!root.dataset.paymentPage) throw Object.assign(new Error(t("payment.unavailable")), { code: "payment_unavailable" });
  const paying = payInWindow(root.dataset.paymentPage, hold, due); // opens now, inside the click
  holdForm.busy(true);
  notice.say(t("status.paying"));
  return { reference: await paying };
}

async function confirm(hold, patient) {
  notice.clear();
  let payment;
  try {
    payment = await pay(hold);
  } catch (error) {
    holdForm.busy(false);
    notice.say("");
    notice.alert(say(error));
    return;
  }
  holdForm.busy(true);
  notice.say(t("status.confirming"));
  try {
    const appointment = await api.confirm(hold, { ...patient, timezone: clock.zone }, payment);
    current = null;
    if (appointment.manage_url) {
      // The booking is kept on its own page: the signed manage link survives a reload and a bookmark.
      const path = new URL(appointment.manage_url, location.href).pathname;
      notice.say(t("status.booked", clock.span(appointment.start, appointment.end)));
      location.assign(`${path}?booked=1`);
      return;
    }
    hideHold();
    $("slots").hidden = true;
    root.dataset.view = "done";
    showAppointment(clock, appointment);
    notice.say(t("status.booked", clock.span(appointment.start, appointment.end)));
  } catch (error) {
    holdForm.busy(false);
    notice.say("");
    notice.alert(say(error));
    if (error.code === "hold_expired" || error.code === "not_found") holdForm.lapse();
    else if (error.code === "slot_taken") backToSlots();
  }
}

async function release(hold) {
  holdForm.busy(true);
  notice.clear();
  try {
    await api.release(hold);
    notice.say(t("status.released"));
    backToSlots();
  } catch (error) {
    holdForm.busy(false);
    notice.alert(say(error));
  }
}

function hideHold() {
  holdForm.stop();
  board.hold(null);
  $("hold").hidden = true;
}

function backToSlots() {
  current = null;
  hideHold();
  $("done").hidden = true;
  $("intro").hidden = false;
  $("slots").hidden = false;
  delete root.dataset.view;
  $("slots-heading").focus();
}

// --- start ------------------------------------------------------------------------------------

$("book-another").addEventListener("click", () => {
  backToSlots();
  live.refresh();
});
// Closing the page lets its hold go at once, rather than when it lapses.
window.addEventListener("pagehide", () => {
  if (current) api.releaseOnExit(current);
});

// --- payment: a type that asks for one shows its amount and mode before confirming -----------

let due = null;
api.appointmentType().then((type) => {
  due = paymentDue(type);
  showPayment();
}).catch(() => undefined);

function showPayment() {
  $("hold-payment").hidden = !due;
  if (!due) return;
  $("hold-payment-text").textContent = root.dataset.paymentPage ? dueText(due) : `${dueText(due)} ${t("payment.unavailable")}`;
}

function showClock() {
  $("zone-name").textContent = clock.zoneLabel();
}

clockControls({ zone: $("zone-select"), cycle: $("cycle-select") }, clock, root.dataset.doctorTimezone, (next) => {
  clock = next;
  holdForm.clock = next;
  board.setClock(next);
  showClock();
});

/** A deep link's ?start: hold it at once when it is free; else say so and show its day. */
async function pickAsked() {
  if (!askedStart) return;
  const button = board.button(new Date(askedStart).toISOString().replace(".000Z", "Z")) || board.button(askedStart);
  if (button) await pick(button.dataset.slotStart, button);
  else notice.alert(t("error.startGone"));
}

// One language per page: the browser's, when we ship it (common/i18n.js).
document.documentElement.lang = LANG;
translate(document);
const names = root.dataset;
$("page-title").textContent = t("page.title", names.doctorName);
$("page-lead").textContent = t("page.lead", names.appointmentTypeName, names.durationMinutes);
document.title = t("page.docTitle", names.appointmentTypeName, names.doctorName);

showClock();
live.start().then(pickAsked);
