// Calendar days and wall clocks in a named IANA zone. Window times are minutes since the doctor's
// local midnight; days are "YYYY-MM-DD" keys. Instants are epoch milliseconds.

import { Clock } from "./time.js";

export const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

const wallFormats = new Map();

function wallParts(zone, ms) {
  if (!wallFormats.has(zone)) {
    wallFormats.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    }));
  }
  const parts = Object.fromEntries(wallFormats.get(zone).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return parts;
}

/** The zone's offset from UTC at an instant, in ms (Berlin in summer: +7_200_000). */
export function offsetAt(zone, ms) {
  const p = wallParts(zone, ms);
  const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The zone's calendar day of an instant, "2026-05-04". */
export function dayKeyOf(zone, ms = Date.now()) {
  return new Clock(zone).dayKey(ms);
}

/** "2026-05-04" plus `days` days. */
export function addDays(key, days) {
  const [y, m, d] = key.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** The instant a day starts in a zone (its first existing minute, when DST skips midnight). */
export function startOfDay(zone, key) {
  const [y, m, d] = key.split("-").map(Number);
  const wall = Date.UTC(y, m - 1, d);
  let guess = wall - offsetAt(zone, wall);
  guess = wall - offsetAt(zone, guess); // once more: the offset may differ at the day's start
  return dayKeyOf(zone, guess) === key ? guess : guess + 3_600_000;
}

/** The ISO weekday (1 = Monday … 7 = Sunday) of a day key. */
export function weekdayOf(key) {
  const [y, m, d] = key.split("-").map(Number);
  return ((new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7) + 1;
}

/** 540 → "09:00"; 1440 → "24:00". */
export function hhmm(minutes) {
  return `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
}

/** "09:30" → 570 (what an <input type="time"> gives); "" → NaN. */
export function minutesOf(text) {
  const match = /^(\d{1,2}):(\d{2})/.exec(text || "");
  return match ? Number(match[1]) * 60 + Number(match[2]) : Number.NaN;
}
