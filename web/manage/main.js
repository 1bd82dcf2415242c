// The "manage my booking" page: one appointment, opened by the signed link the patient was emailed.
// The link's token (the last part of the address) is the bearer token of every call, and opens this
// appointment only. The page shows the appointment in the patient's zone and lets them join it
// (inside the join window), add it to a calendar, move it to another free time or cancel it; the
// gateway decides every rule (notice, limits, window) and the page only follows its answers.

import { joinWindow } from "../common/appointments.js";
import { el } from "../common/dom.js";
import { Gateway } from "../common/http.js";
import { Notice } from "../common/notice.js";
import { LANG, LOCALE, explainIn, t, translate } from "../common/i18n.js";
import { chosenClock } from "../common/prefs.js";
import { Clock, browserZone } from "../common/time.js";
import { downloadIcs, eventTitle, googleUrl, outlookUrl } from "./calendar.js";
import { Rescheduler } from "./reschedule.js";

const $ = (id) => document.getElementById(id);
const ACTIVE = ["confirmed", "pending_approval"];
// One language per page, the booking page's (common/i18n.js): its words and its dates; the clock
// (12/24 hours) the patient chose there.
const CLOCK = { locale: LOCALE, hour12: chosenClock().hour12 };
const REFRESH_MS = 30_000; // the join button opens and closes with the clock

const MESSAGES = { slot_taken: t("error.someoneElse") };

const root = $("manage");
const page = {
  token: decodeURIComponent(location.pathname.split("/").pop()),
  id: root.dataset.appointmentId,
  appointment: null,
  doctor: null,
  type: null,
  clock: new Clock(browserZone(), CLOCK),
};
const api = new Gateway({ token: () => page.token });
const notice = new Notice();

const rescheduler = new Rescheduler({
  api,
  say: (text) => notice.say(text),
  alert: (error) => failed(error),
  onMoved: (appointment) => moved(appointment),
  onClose: () => {
    $("reschedule-button").setAttribute("aria-expanded", "false");
    $("reschedule-button").focus();
  },
});

// --- loading and showing ----------------------------------------------------------------------

async function load() {
  const a = await api.get(`/v1/appointments/${encodeURIComponent(page.id)}`);
  // Public profile routes: a doctor or type deleted since leaves its line plain, not the page broken.
  const [doctor, type] = await Promise.all([
    api.get(`/v1/doctors/${encodeURIComponent(a.doctor_id)}`, undefined, { auth: false }).catch(() => null),
    api.get(`/v1/appointment-types/${encodeURIComponent(a.appointment_type_id)}`, undefined, { auth: false })
      .catch(() => null),
  ]);
  Object.assign(page, { appointment: a, doctor, type });
  page.clock = new Clock(a.patient.timezone || browserZone(), CLOCK);
  render();
}

function render(now = Date.now()) {
  const { appointment: a, doctor, type, clock } = page;
  if (!a) return;
  const active = ACTIVE.includes(a.status);
  const ended = now > Date.parse(a.end);
  const title = eventTitle(type?.name, doctor?.name);

  document.title = `${title}: ${clock.span(a.start, a.end)}`;
  $("fact-type").textContent = type ? t("m.typeLine", type.name, type.duration_minutes) : t("m.video");
  $("fact-doctor").textContent = doctor?.name || t("m.yourDoctor");
  $("fact-when").textContent = clock.span(a.start, a.end);
  $("fact-zone").textContent = clock.zoneLabel(Date.parse(a.start));
  $("fact-status").replaceChildren(
    el("span", { className: `badge badge-${a.status}`, textContent: t(`m.st.${a.status}`) }),
  );
  $("fact-reference").textContent = a.reference || a.id.slice(0, 8).toUpperCase();
  showStateNote(a, ended);
  $("appointment").setAttribute("aria-busy", "false");

  $("actions").hidden = !active;
  if (!active) return;
  showJoin(a, now);
  $("calendar-group").hidden = ended;
  $("google-link").href = googleUrl(title, a);
  $("outlook-link").href = outlookUrl(title, a);
  showChange(a, type, now);
}

function showStateNote(a, ended) {
  const note = $("state-note");
  const cancellation = a.cancellation || {};
  const noted = ["cancelled", "completed", "no_show", "rescheduled", "pending_approval"].includes(a.status);
  const text = noted ? t(`m.note.${a.status}`, cancellation.reason) : ended ? t("m.note.ended") : "";
  note.textContent = text;
  note.dataset.tone = ["cancelled", "no_show", "rescheduled"].includes(a.status) ? "bad" : "";
  note.hidden = !text;
}

function showJoin(a, now) {
  const { opens, closes } = joinWindow(a);
  const button = $("join-button");
  const hint = $("join-hint");
  $("join-group").hidden = a.status !== "confirmed" || now > closes;
  button.disabled = !(opens <= now && now <= closes);
  if (now < opens) hint.textContent = t("m.joinFrom", page.clock.dayLabel(opens), page.clock.time(opens));
  else hint.textContent = t("m.joinUntil", page.clock.time(closes));
}

function showChange(a, type, now) {
  const deadline = Date.parse(a.start) - (type?.cancellation_notice_minutes || 0) * 60_000;
  const limit = type?.max_reschedules;
  const canChange = now < deadline;
  const canMove = canChange && (limit === null || limit === undefined || a.reschedule_count < limit);
  $("change-group").hidden = now > Date.parse(a.start);
  $("cancel-button").disabled = !canChange;
  $("reschedule-button").disabled = !canMove;
  const until = `${page.clock.dayLabel(deadline)}, ${page.clock.time(deadline)}`;
  let hint = canChange ? t("m.changeUntil", until) : t("m.tooLate");
  if (canChange && !canMove) hint += ` ${t("m.noMoreMoves")}`;
  $("change-hint").textContent = hint;
}

// --- when the link no longer opens the appointment ------------------------------------------------

const REFUSED = {
  manage_link_expired: [t("m.expired"), t("m.expiredText")],
  manage_link_invalid: [t("m.invalid"), t("m.invalidText")],
  manage_link_moved: [t("m.moved"), t("m.movedText")],
};

/** Show why the link opens nothing (expired, moved, not a link); true when that was the error. */
function refused(error) {
  const words = REFUSED[error.code];
  if (!words) return false;
  let [heading, text] = words;
  const to = error.body?.moved_to;
  if (error.code === "manage_link_moved" && to) {
    const clock = new Clock(to.timezone || page.clock.zone, CLOCK);
    text = t("m.movedTo", clock.span(to.start, to.end), clock.zone);
    if (to.status === "cancelled") text += ` ${t("m.movedCancelled")}`;
  }
  rescheduler.close({ quiet: true });
  for (const id of ["appointment", "actions", "cancel"]) $(id).hidden = true;
  $("gone-heading").textContent = heading;
  $("gone-text").textContent = text;
  $("gone").hidden = false;
  notice.say("");
  $("gone-heading").focus();
  return true;
}

function failed(error) {
  if (refused(error)) return;
  notice.alert(explainIn(error, MESSAGES));
  if (error.code === "invalid_transition") load().catch((again) => refused(again) || undefined);
}

// --- join ---------------------------------------------------------------------------------------

async function join() {
  // Open the window while the click still counts as the patient's own: a window opened after an
  // await is a popup the browser blocks. It gets the room's address once the gateway gives it.
  const room = window.open("", "_blank");
  notice.clear();
  notice.say(t("m.opening"));
  try {
    const { meeting_url: url } = await api.get(`/v1/appointments/${encodeURIComponent(page.id)}/join`);
    if (!/^https?:\/\//i.test(url)) throw new Error(t("m.noRoom"));
    if (room) {
      room.opener = null;
      room.location.href = url;
      notice.say(t("m.opened"));
    } else {
      location.assign(url); // popups blocked: this tab goes to the room
    }
  } catch (error) {
    room?.close();
    notice.say("");
    failed(error);
  }
}

// --- add to calendar ------------------------------------------------------------------------------

async function calendarFile() {
  notice.clear();
  try {
    await downloadIcs(page.id, page.token, `appointment-${page.appointment.id.slice(0, 8)}.ics`);
    notice.say(t("m.downloading"));
  } catch (error) {
    failed(error);
  }
}

// --- cancel ---------------------------------------------------------------------------------------

function openCancel() {
  rescheduler.close({ quiet: true });
  $("reschedule-button").setAttribute("aria-expanded", "false");
  notice.clear();
  $("cancel").hidden = false;
  $("cancel-button").setAttribute("aria-expanded", "true");
  $("cancel-reason").focus();
}

function closeCancel({ focus = true } = {}) {
  $("cancel").hidden = true;
  $("cancel-button").setAttribute("aria-expanded", "false");
  reasonError("");
  if (focus) $("cancel-button").focus();
}

function reasonError(text) {
  const field = $("cancel-reason");
  $("cancel-reason-error").textContent = text;
  $("cancel-reason-error").hidden = !text;
  if (text) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
}

async function cancel(event) {
  event.preventDefault();
  const reason = $("cancel-reason").value.trim();
  if (!reason) {
    reasonError(t("m.reasonMissing"));
    $("cancel-reason").focus();
    return;
  }
  reasonError("");
  $("cancel-confirm").disabled = true;
  notice.clear();
  notice.say(t("m.cancelling"));
  try {
    page.appointment = await api.post(`/v1/appointments/${encodeURIComponent(page.id)}/cancel`, { reason });
    closeCancel({ focus: false });
    render();
    notice.say(t("m.cancelled"));
    $("title").focus();
  } catch (error) {
    notice.say("");
    failed(error);
  } finally {
    $("cancel-confirm").disabled = false;
  }
}

// --- reschedule -----------------------------------------------------------------------------------

function openReschedule() {
  closeCancel({ focus: false });
  notice.clear();
  $("reschedule-button").setAttribute("aria-expanded", "true");
  rescheduler.open(page.appointment, page.clock, page.doctor?.name);
}

/** The appointment moved: this page now manages the new one, under the new one's own link. */
function moved(appointment) {
  page.appointment = appointment;
  page.id = appointment.id;
  $("reschedule-button").setAttribute("aria-expanded", "false");
  const link = $("new-link");
  if (appointment.manage_url) {
    // only the path: the page stays on the origin it was opened from
    const path = new URL(appointment.manage_url, location.href).pathname;
    page.token = decodeURIComponent(path.split("/").pop());
    root.dataset.appointmentId = appointment.id;
    history.replaceState(null, "", path);
    link.replaceChildren(
      t("m.newAddress"),
      el("a", { href: path, textContent: t("m.bookmarkLink") }),
      ".",
    );
    link.hidden = false;
  }
  render();
  notice.say(t("m.movedNow", page.clock.span(appointment.start, appointment.end)));
  $("title").focus();
}

// --- start ----------------------------------------------------------------------------------------

$("join-button").addEventListener("click", join);
$("ics-button").addEventListener("click", calendarFile);
$("cancel-button").addEventListener("click", openCancel);
$("cancel-back").addEventListener("click", () => closeCancel());
$("cancel-form").addEventListener("submit", cancel);
$("reschedule-button").addEventListener("click", () => (rescheduler.isOpen ? rescheduler.close() : openReschedule()));
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  if (!$("cancel").hidden) closeCancel();
  else if (rescheduler.isOpen) rescheduler.close();
});
setInterval(() => render(), REFRESH_MS);

/** Just booked (the booking page sent the patient here): say so once; a reload shows the plain page. */
function welcome() {
  const query = new URLSearchParams(location.search);
  if (!query.has("booked")) return;
  history.replaceState(null, "", location.pathname);
  const a = page.appointment;
  $("booked-heading").textContent = a.status === "pending_approval" ? t("done.request") : t("done.heading");
  $("booked-text").textContent = a.status === "pending_approval"
    ? t("m.bookedPending", a.patient.email, a.reference)
    : t("m.bookedSent", a.patient.email, a.reference);
  $("booked").hidden = false;
  $("booked-heading").focus();
}

document.documentElement.lang = LANG;
translate(document);
document.title = t("m.title");

load().then(welcome).catch((error) => {
  $("appointment").setAttribute("aria-busy", "false");
  failed(error);
});
