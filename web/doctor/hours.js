// The doctor's weekly hours: the list (edit, turn off/on, delete) and the add/edit form. Times are
// minutes since midnight in the doctor's zone, in steps of 5; changes reach booking pages live
// (the gateway announces a resync).

import { coalesce, el } from "../common/dom.js";
import { WEEKDAYS, hhmm, minutesOf } from "../common/zones.js";
import { windowLabel, windowList } from "../common/windows.js";

const $ = (id) => document.getElementById(id);

export class HoursEditor {
  constructor({ api, doctorId, notice, onError }) {
    Object.assign(this, { api, doctorId, notice, onError });
    this.path = `/v1/doctors/${encodeURIComponent(doctorId)}/availability-windows`;
    this.editing = null;
    this.windows = [];
    this.refresh = coalesce(() => this.load());
    $("window-weekday").replaceChildren(...WEEKDAYS.map((name, i) => el("option", { value: String(i + 1), textContent: name })));
    // handler properties, not listeners: a second sign-in in this tab builds this again
    $("window-form").onsubmit = (event) => {
      event.preventDefault();
      this.save();
    };
    $("window-cancel").onclick = () => this.edit(null);
  }

  async load() {
    try {
      this.windows = await this.api.get(this.path);
    } catch (error) {
      this.onError(error);
      return;
    }
    this.render();
  }

  render(focus = null) {
    // A live refresh (the resync our own change caused, or another tab's) re-renders the list:
    // keep keyboard focus on the same control rather than dropping it to the page.
    const active = document.activeElement;
    const keep = focus ?? ($("window-list").contains(active)
      ? [active.closest("[data-window-id]")?.dataset.windowId, active.dataset.action]
      : null);
    const list = windowList(this.windows, {
      onEdit: (w) => this.edit(w),
      onToggle: (w) => this.change(w, "toggle", () => this.api.patch(`${this.path}/${w.id}`, { active: !w.active }), w.active ? "turned off" : "turned on"),
      onDelete: (w) => this.change(w, "delete", () => this.api.delete(`${this.path}/${w.id}`), "deleted"),
    });
    $("window-list").replaceChildren(list);
    $("window-list").setAttribute("aria-busy", "false");
    if (keep?.[0] && keep[1]) $("window-list").querySelector(`[data-window-id="${keep[0]}"] [data-action="${keep[1]}"]`)?.focus();
  }

  async change(w, action, call, done) {
    this.notice.clear();
    try {
      await call();
      this.notice.say(`${windowLabel(w)} ${done}.`);
      await this.load();
      if (action === "delete") $("hours-heading").focus();
      else this.render([w.id, action]);
    } catch (error) {
      this.onError(error);
    }
  }

  /** Fill the form with a window to edit it (or empty it again with null). */
  edit(w) {
    this.editing = w;
    $("window-form-heading").textContent = w ? `Edit ${windowLabel(w)}` : "Add weekly hours";
    $("window-submit").textContent = w ? "Save changes" : "Add hours";
    $("window-cancel").hidden = !w;
    $("window-weekday").value = String(w ? w.weekday : 1);
    $("window-start").value = hhmm(w ? w.start_minute : 540);
    $("window-end").value = hhmm(w ? w.end_minute : 1020);
    $("window-buffer").value = String(w ? w.buffer_minutes : 0);
    this.problem("");
    if (w) $("window-weekday").focus();
  }

  problem(text) {
    $("window-error").textContent = text;
    $("window-error").hidden = !text;
    for (const id of ["window-start", "window-end"]) $(id).setAttribute("aria-invalid", String(Boolean(text)));
  }

  read() {
    const start = minutesOf($("window-start").value);
    const end = $("window-end").value === "00:00" ? 1440 : minutesOf($("window-end").value);
    const buffer = Number($("window-buffer").value || 0);
    let problem = "";
    if (Number.isNaN(start) || Number.isNaN(end)) problem = "Please give both times, like 09:00 and 17:00.";
    else if (end <= start) problem = "The end must be after the start.";
    else if (start % 5 || end % 5 || buffer % 5) problem = "Times and the buffer go in steps of 5 minutes.";
    this.problem(problem);
    if (problem) return null;
    return { weekday: Number($("window-weekday").value), start_minute: start, end_minute: end, buffer_minutes: buffer };
  }

  async save() {
    const body = this.read();
    if (!body) {
      $("window-start").focus();
      return;
    }
    this.notice.clear();
    try {
      const saved = this.editing
        ? await this.api.patch(`${this.path}/${this.editing.id}`, body)
        : await this.api.post(this.path, body);
      this.notice.say(`${windowLabel(saved)} ${this.editing ? "saved" : "added"}.`);
      this.edit(null);
      await this.load();
      $("window-list").querySelector(`[data-window-id="${saved.id}"] [data-action="edit"]`)?.focus();
    } catch (error) {
      if (error.status === 422) this.problem(error.detail || "These hours are not valid.");
      else this.onError(error);
    }
  }
}
