// The clinic page, /clinic/{slug}: pick a service, then a doctor (their booking page) or "any
// doctor" (the first free times across the service's doctors, live), then a time. The booking
// itself happens on the booking page, /book/{doctor}?appointment_type_id=…[&start=…].

import { el } from "../common/dom.js";
import { pickLanguage, translator } from "./strings.js";
import { AnyDoctorTimes } from "./times.js";

const $ = (id) => document.getElementById(id);
const root = $("clinic");
const slug = root.dataset.slug;
const language = pickLanguage();
const t = translator(language);
// the browser's own regional variant when it speaks the page's language (12/24 h, date order)
const locale = [...(navigator.languages || []), navigator.language].find((tag) => tag && tag.toLowerCase().startsWith(language)) || language;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const formats = {
  key: new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }),
  chip: new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: "short", day: "numeric", month: "short" }),
  day: new Intl.DateTimeFormat(locale, { timeZone: zone, weekday: "long", day: "numeric", month: "long" }),
  time: new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit" }),
};

const state = { directory: null, service: null, times: null, day: null };

// --- words ------------------------------------------------------------------------------------

document.documentElement.lang = language;
for (const node of document.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
$("zone-line").textContent = t("zone", { zone });

function say(text) {
  $("status").textContent = text;
}

function alarm(text) {
  $("alert").textContent = text;
  $("alert").hidden = !text;
}

function money(cents, currency) {
  return new Intl.NumberFormat(locale, { style: "currency", currency }).format(cents / 100);
}

function serviceDetails(service) {
  const parts = [t("minutes", { n: service.duration_minutes })];
  const amount = service.fee_cents !== null ? money(service.fee_cents, service.currency) : null;
  if (service.payment_mode === "full" && amount) parts.push(t("pay_full", { amount }));
  if (service.payment_mode === "advance" && amount) parts.push(t("pay_advance", { amount, percent: service.advance_percent }));
  if (service.payment_mode === "token" && service.token_amount_cents !== null) {
    parts.push(t("pay_token", { amount: money(service.token_amount_cents, service.currency) }));
  }
  if (service.requires_approval) parts.push(t("approval"));
  return parts.join(" · ");
}

function dayLabel(ms, format) {
  const key = formats.key.format(new Date(ms));
  const label = format.format(new Date(ms));
  if (key === formats.key.format(new Date())) return `${t("today")}, ${label}`;
  if (key === formats.key.format(new Date(Date.now() + 86_400_000))) return `${t("tomorrow")}, ${label}`;
  return label;
}

// --- the address keeps the choices (a reload, or a link, opens the same step) ------------------

function remember() {
  const query = new URLSearchParams();
  if (state.service) query.set("service", state.service.id);
  if (state.times) query.set("doctor", "any");
  const search = query.toString();
  history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
}

// --- step 1: services ---------------------------------------------------------------------------

function renderServices() {
  const list = $("services");
  list.removeAttribute("aria-busy");
  const { services } = state.directory;
  if (!services.length) {
    list.replaceChildren(el("li", { className: "muted" }, t("no_services")));
    return;
  }
  list.replaceChildren(
    ...services.map((service) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", className: "choice", dataset: { serviceId: service.id }, attrs: { "aria-pressed": "false" }, onclick: () => chooseService(service, true) },
          el("span", { className: "choice-name" }, service.name),
          el("span", { className: "choice-detail" }, serviceDetails(service)),
        ),
      ),
    ),
  );
}

function chooseService(service, focus) {
  stopTimes();
  state.service = service;
  for (const button of $("services").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.serviceId === service.id));
  }
  renderDoctors();
  $("step-doctor").hidden = false;
  $("step-time").hidden = true;
  remember();
  if (focus) {
    say(t("chosen_service", { name: service.name }));
    $("doctors-heading").focus();
  }
}

// --- step 2: doctors ----------------------------------------------------------------------------

function doctorsOf(service) {
  const byId = new Map(state.directory.doctors.map((d) => [d.id, d]));
  return service.doctor_ids.map((id) => byId.get(id)).filter(Boolean);
}

function renderDoctors() {
  const service = state.service;
  const doctors = doctorsOf(service);
  const any = el(
    "button",
    { type: "button", className: "choice any", id: "any-doctor", attrs: { "aria-pressed": String(Boolean(state.times)) }, onclick: () => chooseAny(true) },
    el("span", { className: "choice-name" }, t("any_doctor")),
    el("span", { className: "choice-detail" }, t(doctors.length === 1 ? "any_doctor_hint_one" : "any_doctor_hint", { n: doctors.length })),
  );
  const links = doctors.map((doctor) =>
    el(
      "li",
      {},
      el(
        "a",
        { className: "choice", href: `/book/${encodeURIComponent(doctor.id)}?${new URLSearchParams({ appointment_type_id: service.id })}`, dataset: { doctorId: doctor.id } },
        el("span", { className: "choice-name" }, doctor.name),
        el("span", { className: "choice-detail" }, t("doctor_hint", { name: doctor.name })),
      ),
    ),
  );
  $("doctors").replaceChildren(el("li", {}, any), ...links);
}

// --- step 3: any doctor's free times ------------------------------------------------------------

function chooseAny(focus) {
  stopTimes();
  const service = state.service;
  $("any-doctor").setAttribute("aria-pressed", "true");
  $("step-time").hidden = false;
  $("times").setAttribute("aria-busy", "true");
  $("times").replaceChildren(el("li", { className: "muted" }, t("loading_times")));
  $("days").replaceChildren();
  $("day-heading").textContent = "";
  $("day-heading").hidden = true; // no empty heading while there is no day to name
  state.day = null;
  state.times = new AnyDoctorTimes({
    doctorIds: doctorsOf(service).map((d) => d.id),
    typeId: service.id,
    onChange: renderTimes,
    onState: showLive,
    onError: () => alarm(t("times_failed")),
  });
  state.times.start();
  remember();
  if (focus) $("times-heading").focus();
}

function stopTimes() {
  state.times?.stop();
  state.times = null;
  $("any-doctor")?.setAttribute("aria-pressed", "false");
}

function showLive(liveState) {
  $("live-state").dataset.state = liveState;
  $("live-label").textContent = t(`live_${liveState}`);
}

function bookingUrl(doctorId, iso) {
  const query = new URLSearchParams({ appointment_type_id: state.service.id, start: iso });
  return `/book/${encodeURIComponent(doctorId)}?${query}`;
}

function renderTimes() {
  const times = state.times;
  if (!times || !times.ready) return;
  alarm("");
  const focused = document.activeElement;
  const focusedStart = focused?.dataset?.slotStart;
  const focusedDay = focused?.dataset?.day;

  const days = new Map(); // day key → times, in order
  for (const time of times.merged()) {
    const key = formats.key.format(new Date(time.start));
    if (!days.has(key)) days.set(key, []);
    days.get(key).push(time);
  }
  const list = $("times");
  list.removeAttribute("aria-busy");
  if (!days.size) {
    $("days").replaceChildren();
    $("day-heading").textContent = "";
    $("day-heading").hidden = true;
    list.replaceChildren(el("li", { className: "muted" }, t("no_times")));
    if (focusedStart) {
      say(t("gone"));
      $("times-heading").focus();
    }
    return;
  }
  // the page opens on the first day with free times, and stays on the chosen one while it has some
  if (!days.has(state.day)) state.day = days.keys().next().value;
  $("days").replaceChildren(
    ...[...days].map(([key, dayTimes]) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", className: "day", dataset: { day: key }, attrs: { "aria-pressed": String(key === state.day) }, onclick: () => chooseDay(key) },
          el("span", { className: "day-name" }, dayLabel(dayTimes[0].start, formats.chip)),
          el("span", { className: "day-count" }, String(dayTimes.length)),
          el("span", { className: "visually-hidden" }, ` ${t("free_times")}`),
        ),
      ),
    ),
  );
  const dayTimes = days.get(state.day);
  $("day-heading").textContent = dayLabel(dayTimes[0].start, formats.day);
  $("day-heading").hidden = false;
  const pick = spreader(dayTimes);
  list.replaceChildren(
    ...dayTimes.map((time) => {
      const doctorId = pick(time);
      return el(
        "li",
        {},
        el("a", { className: "time", href: bookingUrl(doctorId, time.iso), dataset: { slotStart: time.iso, doctorId } }, formats.time.format(new Date(time.start))),
      );
    }),
  );
  // keep the keyboard where it was; if that time is gone, say so and land on the day's heading
  if (focusedStart) {
    const again = list.querySelector(`[data-slot-start="${CSS.escape(focusedStart)}"]`);
    if (again) again.focus();
    else {
      say(t("gone"));
      $("day-heading").focus();
    }
  } else if (focusedDay) {
    $("days").querySelector(`[data-day="${CSS.escape(focusedDay)}"]`)?.focus();
  }
}

/**
 * Which doctor a time of the day opens: of those free at it, the one with the most free times that
 * day (the least booked), so "any doctor" spreads a day's bookings instead of filling the first
 * doctor's diary; the directory's order (by name) breaks ties.
 */
function spreader(dayTimes) {
  const free = new Map();
  for (const time of dayTimes) for (const id of time.doctors) free.set(id, (free.get(id) || 0) + 1);
  return (time) => time.doctors.reduce((best, id) => (free.get(id) > free.get(best) ? id : best));
}

function chooseDay(key) {
  state.day = key;
  renderTimes();
  $("days").querySelector(`[data-day="${CSS.escape(key)}"]`)?.focus();
}

// --- start ------------------------------------------------------------------------------------

async function start() {
  let directory = null;
  try {
    const response = await fetch(`/v1/clinics/${encodeURIComponent(slug)}`, { headers: { Accept: "application/json" } });
    if (response.ok) directory = await response.json();
  } catch {
    // below
  }
  if (!directory) {
    $("services").removeAttribute("aria-busy");
    $("services").replaceChildren();
    alarm(t("load_failed"));
    return;
  }
  state.directory = directory;
  renderServices();
  const asked = new URLSearchParams(location.search);
  const service = directory.services.find((s) => s.id === asked.get("service"));
  if (service) {
    chooseService(service, false);
    if (asked.get("doctor") === "any") chooseAny(false);
  }
}

window.addEventListener("pagehide", () => state.times?.stop());
window.addEventListener("pageshow", (event) => {
  // back from the booking page out of the browser's page cache: the stream was closed, open it again
  if (event.persisted && new URLSearchParams(location.search).get("doctor") === "any" && state.service) chooseAny(false);
});
start();
