// The patient's clock on the booking faces: a time zone (default the browser's; the doctor's zone
// offered first) and a 12/24-hour choice (default the browser's locale), remembered in
// localStorage so the next visit shows the same clock.

import { LOCALE, t } from "./i18n.js";
import { Clock, browserZone } from "./time.js";
import { el } from "./dom.js";

const KEY = "booking-clock";

function stored() {
  try {
    const value = JSON.parse(globalThis.localStorage?.getItem(KEY) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {}; // storage off (private mode, a partner's sandbox): the defaults
  }
}

function store(value) {
  try {
    globalThis.localStorage?.setItem(KEY, JSON.stringify(value));
  } catch {
    // not remembered, still used
  }
}

/** Does the locale read the clock in 12 hours ("en-US": yes, "de": no)? */
export function localeUses12(locale = LOCALE) {
  const cycle = new Intl.DateTimeFormat(locale, { hour: "numeric" }).resolvedOptions().hourCycle;
  return cycle === "h12" || cycle === "h11";
}

function knownZone(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone }).format(0);
    return true;
  } catch {
    return false;
  }
}

/** The zones to offer: the doctor's first, then the browser's, then every IANA zone. */
export function zoneChoices(doctorZone, mine = browserZone()) {
  const all = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return [...new Set([doctorZone, mine, ...all, "UTC"].filter((zone) => zone && knownZone(zone)))];
}

/** The clock the patient chose last time, or the browser's. */
export function chosenClock() {
  const saved = stored();
  const zone = typeof saved.zone === "string" && knownZone(saved.zone) ? saved.zone : browserZone();
  const hour12 = typeof saved.hour12 === "boolean" ? saved.hour12 : localeUses12();
  return new Clock(zone, { locale: LOCALE, hour12 });
}

/**
 * Fill the zone and 12/24-hour selects and call `onChange(clock)` when the patient changes either.
 * @param {{zone: HTMLSelectElement, cycle: HTMLSelectElement}} selects
 */
export function clockControls({ zone, cycle }, clock, doctorZone, onChange) {
  zone.replaceChildren(...zoneChoices(doctorZone, clock.zone).map((name) =>
    el("option", { value: name, textContent: name === doctorZone ? t("prefs.doctorZone", name) : name })));
  zone.value = clock.zone;
  cycle.replaceChildren(
    el("option", { value: "24", textContent: t("prefs.h24") }),
    el("option", { value: "12", textContent: t("prefs.h12") }),
  );
  cycle.value = clock.hour12 ? "12" : "24";
  const changed = () => {
    const next = { zone: zone.value, hour12: cycle.value === "12" };
    store(next);
    onChange(new Clock(next.zone, { locale: LOCALE, hour12: next.hour12 }));
  };
  zone.addEventListener("change", changed);
  cycle.addEventListener("change", changed);
}
