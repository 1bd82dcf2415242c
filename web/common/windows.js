// A doctor's weekly windows as a list, "Monday 09:00–17:00", in the doctor's zone: read-only on
// the admin page, with Edit / Turn off / Delete on the doctor's own page.

import { el } from "./dom.js";
import { WEEKDAYS, hhmm } from "./zones.js";

export const windowLabel = (w) => `${WEEKDAYS[w.weekday - 1]} ${hhmm(w.start_minute)}–${hhmm(w.end_minute)}`;

function details(w) {
  const parts = [];
  if (w.buffer_minutes) parts.push(`${w.buffer_minutes} min buffer`);
  if (w.valid_from) parts.push(`from ${w.valid_from}`);
  if (w.valid_until) parts.push(`until ${w.valid_until}`);
  return parts.join(" · ");
}

/**
 * @param {object[]} windows  from GET /v1/doctors/{id}/availability-windows
 * @param {{onEdit?: Function, onToggle?: Function, onDelete?: Function}} actions  none: read-only
 */
export function windowList(windows, actions = {}) {
  if (!windows.length) return el("p", { className: "muted" }, "No weekly hours yet.");
  const sorted = [...windows].sort((a, b) => a.weekday - b.weekday || a.start_minute - b.start_minute);
  const items = sorted.map((w) => {
    const label = windowLabel(w);
    const buttons = [];
    const button = (action, text, handler) =>
      el("button", { type: "button", className: "secondary small", textContent: text, onclick: () => handler(w), dataset: { action }, attrs: { "aria-label": `${text} ${label}` } });
    if (actions.onEdit) buttons.push(button("edit", "Edit", actions.onEdit));
    if (actions.onToggle) buttons.push(button("toggle", w.active ? "Turn off" : "Turn on", actions.onToggle));
    if (actions.onDelete) buttons.push(button("delete", "Delete", actions.onDelete));
    return el(
      "li",
      { className: `window${w.active ? "" : " inactive"}`, dataset: { windowId: w.id } },
      el("div", { className: "window-main" },
        el("span", { className: "window-label" }, label),
        w.active ? null : el("span", { className: "badge badge-off" }, "Off"),
        details(w) ? el("span", { className: "muted small-text" }, details(w)) : null),
      buttons.length ? el("div", { className: "row-actions" }, buttons) : null,
    );
  });
  return el("ul", { className: "windows", attrs: { role: "list" } }, items);
}
