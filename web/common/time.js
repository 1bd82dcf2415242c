// Showing instants in the patient's zone. The API speaks UTC; people read their own wall clock.
// A booking face passes its language's locale and the patient's 12/24-hour choice; the staff
// pages keep the browser's defaults.

import { wordIn } from "./i18n.js";

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export class Clock {
  /**
   * @param {string} zone  an IANA zone
   * @param {{locale?: string, hour12?: boolean}} options  `locale` also names Today / Tomorrow
   */
  constructor(zone, { locale = undefined, hour12 = undefined } = {}) {
    this.zone = zone;
    this.locale = locale;
    this.hour12 = hour12;
    this.dayKeyFormat = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    });
    this.dayFormat = new Intl.DateTimeFormat(locale, {
      timeZone: zone, weekday: "long", day: "numeric", month: "long",
    });
    const cycle = hour12 === undefined ? {} : { hourCycle: hour12 ? "h12" : "h23" };
    this.timeFormat = new Intl.DateTimeFormat(locale, { timeZone: zone, hour: "2-digit", minute: "2-digit", ...cycle });
    this.fullFormat = new Intl.DateTimeFormat(locale, {
      timeZone: zone, weekday: "long", day: "numeric", month: "long", year: "numeric",
    });
  }

  /** "2026-05-04": the patient's calendar day of an instant, for grouping. */
  dayKey(instant) {
    return this.dayKeyFormat.format(new Date(instant));
  }

  /** "Monday, 4 May", prefixed with Today / Tomorrow where it is. */
  dayLabel(instant, now = Date.now()) {
    const key = this.dayKey(instant);
    const label = this.dayFormat.format(new Date(instant));
    if (key === this.dayKey(now)) return `${wordIn(this.locale, "day.today")}, ${label}`;
    if (key === this.dayKey(now + 86_400_000)) return `${wordIn(this.locale, "day.tomorrow")}, ${label}`;
    return label;
  }

  time(instant) {
    return this.timeFormat.format(new Date(instant));
  }

  /** "Monday, 4 May 2026, 09:00 – 09:30" */
  span(start, end) {
    return `${this.fullFormat.format(new Date(start))}, ${this.time(start)} – ${this.time(end)}`;
  }

  /** "Europe/Berlin (GMT+2)" */
  zoneLabel(at = Date.now()) {
    const parts = new Intl.DateTimeFormat("en-GB", { timeZone: this.zone, timeZoneName: "shortOffset" })
      .formatToParts(new Date(at));
    const offset = parts.find((p) => p.type === "timeZoneName");
    return offset ? `${this.zone} (${offset.value})` : this.zone;
  }
}

/** mm:ss (or h:mm:ss) left until a deadline in ms. */
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}
