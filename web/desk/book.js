// Booking for a patient: any doctor of the organisation, any free time (those inside the type's
// notice marked, and bookable with an explicit override), the patient's details.

import { el, fieldError } from "../common/dom.js";
import { explain } from "../common/http.js";

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const SEARCH_DAYS = 14;
const $ = (id) => document.getElementById(id);

/** Fill a select with the organisation's doctors or types. */
export function fill(select, items) {
  select.replaceChildren(...items.map((item) => el("option", { value: item.id }, item.name)));
}

/** Fill the type select with the types the chosen doctor offers (a type that names no doctors is
 * offered by all), keeping the chosen type when the new doctor offers it too. */
export function fillTypes(select, types, doctorId) {
  const chosen = select.value;
  const offered = types.filter((t) => !t.doctor_ids?.length || t.doctor_ids.includes(doctorId));
  fill(select, offered);
  if (offered.some((t) => t.id === chosen)) select.value = chosen;
}

/** The patient fields of a form (prefix "book" or "meet"), checked; null when one is wrong. */
export function patientOf(prefix) {
  const name = $(`${prefix}-name`).value.trim();
  const email = $(`${prefix}-email`).value.trim();
  fieldError(`${prefix}-name`, "", { focus: false });
  fieldError(`${prefix}-email`, "", { focus: false });
  if (!name) {
    fieldError(`${prefix}-name`, "Please give the patient's name.");
    return null;
  }
  if (!EMAIL.test(email)) {
    fieldError(`${prefix}-email`, "Please give the patient's email address, like name@example.org.");
    return null;
  }
  const patient = { name, email };
  const phone = $(`${prefix}-phone`)?.value.trim();
  if (phone) patient.phone = phone;
  return patient;
}

function localMidnight(day, plusDays = 0) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays);
}

export class BookForm {
  constructor({ api, clock, doctors, types, notice, onError }) {
    Object.assign(this, { api, clock, doctors, types, notice, onError });
    this.slots = [];
    this.asks = 0;
    fill($("book-doctor"), [...doctors.values()]);
    fillTypes($("book-type"), [...types.values()], $("book-doctor").value);
    $("book-day").value = clock.dayKey(Date.now());
    $("book-day").min = clock.dayKey(Date.now());
    $("book-doctor").onchange = () => {
      fillTypes($("book-type"), [...types.values()], $("book-doctor").value);
      this.firstDay();
    };
    $("book-type").onchange = () => this.firstDay();
    $("book-day").onchange = () => this.refresh();
    $("book-times").onchange = () => this.chosen();
    $("book-form").onsubmit = (event) => {
      event.preventDefault();
      this.submit();
    };
  }

  query(from, to) {
    return { appointment_type_id: $("book-type").value, from: from.toISOString(), to: to.toISOString() };
  }

  slotsUrl() {
    return `/v1/admin/doctors/${encodeURIComponent($("book-doctor").value)}/slots`;
  }

  /** Open on the first day with free times in the next two weeks (today when there is none). */
  async firstDay() {
    if (!$("book-doctor").value || !$("book-type").value) return this.render();
    const asked = $("book-day").value;
    try {
      const now = new Date();
      const data = await this.api.get(this.slotsUrl(), this.query(now, new Date(now.getTime() + SEARCH_DAYS * 86_400_000)));
      // a day picked meanwhile stays picked
      if ($("book-day").value !== asked) return undefined;
      $("book-day").value = data.slots.length ? this.clock.dayKey(data.slots[0].start) : this.clock.dayKey(Date.now());
    } catch (error) {
      return this.onError(error);
    }
    return this.refresh();
  }

  /** The chosen day's free times (again: after every slot event too, keeping the choice). */
  async refresh() {
    const day = $("book-day").value;
    if (!day || !$("book-doctor").value || !$("book-type").value) {
      this.slots = [];
      return this.render();
    }
    const ask = ++this.asks; // answers can cross: only the latest question's answer is shown
    $("book-times").setAttribute("aria-busy", "true");
    try {
      const data = await this.api.get(this.slotsUrl(), this.query(localMidnight(day), localMidnight(day, 1)));
      if (ask !== this.asks) return undefined;
      this.slots = data.slots;
    } catch (error) {
      $("book-times").setAttribute("aria-busy", "false");
      return this.onError(error);
    }
    return this.render();
  }

  render() {
    const list = $("book-times");
    const picked = list.querySelector("input:checked")?.value;
    const hadFocus = list.contains(document.activeElement);
    list.setAttribute("aria-busy", "false");
    if (!this.slots.length) {
      list.replaceChildren(el("p", { className: "muted" }, "No free times on this day. Please pick another day."));
    } else {
      list.replaceChildren(
        ...this.slots.map((slot) => {
          const input = el("input", {
            type: "radio",
            name: "start",
            value: slot.start,
            checked: slot.start === picked,
            dataset: { slotStart: slot.start, insideNotice: String(slot.inside_notice) },
          });
          const label = `${this.clock.time(slot.start)} – ${this.clock.time(slot.end)}`;
          return el(
            "label",
            { className: `desk-time${slot.inside_notice ? " inside-notice" : ""}` },
            input,
            el("span", {}, label),
            slot.inside_notice ? el("span", { className: "badge badge-notice" }, "inside notice") : null,
          );
        }),
      );
      if (hadFocus) (list.querySelector("input:checked") || list.querySelector("input"))?.focus();
    }
    if (picked && !list.querySelector("input:checked")) {
      fieldError("book-times", "The time you picked was just taken. Please pick another.", { focus: false });
    }
    this.chosen();
  }

  /** The picked time; a time inside the notice asks for the override. */
  chosen() {
    const input = $("book-times").querySelector("input:checked");
    const inside = input?.dataset.insideNotice === "true";
    if (input) fieldError("book-times", "", { focus: false });
    $("book-override-field").hidden = !inside;
    if (!inside) {
      $("book-override").checked = false;
      fieldError("book-override", "", { focus: false });
    }
    return input;
  }

  async submit() {
    const input = this.chosen();
    if (!input) {
      fieldError("book-times", "Please pick a free time.", { focus: false });
      ($("book-times").querySelector("input") || $("book-day")).focus();
      return;
    }
    const patient = patientOf("book");
    if (!patient) return;
    const inside = input.dataset.insideNotice === "true";
    if (inside && !$("book-override").checked) {
      fieldError("book-override", "This time is inside the notice period: tick the box to book it anyway.");
      return;
    }
    fieldError("book-override", "", { focus: false });
    const body = {
      doctor_id: $("book-doctor").value,
      appointment_type_id: $("book-type").value,
      start: input.value,
      patient,
      override_notice: inside,
    };
    let appointment;
    try {
      appointment = await this.api.post("/v1/admin/bookings", body);
    } catch (error) {
      if (error.code === "slot_taken") {
        fieldError("book-times", "Someone else took this time a moment ago. Please pick another.", { focus: false });
        await this.refresh();
        $("book-times").querySelector("input")?.focus();
      } else if (error.code === "notice_override_required") {
        await this.refresh();
      } else if (error.status === 401) {
        this.onError(error);
      } else {
        this.notice.alert(explain(error));
      }
      return;
    }
    this.done(appointment);
    for (const id of ["book-name", "book-email", "book-phone"]) $(id).value = "";
    await this.refresh();
  }

  done(appointment) {
    const doctor = this.doctors.get(appointment.doctor_id)?.name || "the doctor";
    const box = $("book-done");
    box.replaceChildren(
      el("h3", {}, "Booked"),
      el(
        "p",
        {},
        `${appointment.patient.name} with ${doctor}, ${this.clock.span(appointment.start, appointment.end)}.`,
      ),
      appointment.notice_overridden
        ? el("p", {}, el("span", { className: "badge badge-notice" }, "booked inside the notice"))
        : null,
      el("p", { className: "muted" }, `Reference ${appointment.id}. The patient is told by email.`),
    );
    box.hidden = false;
    this.notice.say(`Booked ${appointment.patient.name} with ${doctor}.`);
    box.focus();
  }
}
