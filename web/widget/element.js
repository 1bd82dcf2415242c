// <booking-widget data-doctor data-appointment-type data-token-endpoint>: a doctor's free slots in
// the visitor's zone, kept live; hold one, confirm it with the partner's booking token. It lives
// in a shadow root (the partner's styles do not leak in, ours do not leak out) and talks to the
// gateway it was loaded from. Themable with --booking-widget-accent and --booking-widget-font.

import { BOOKING_MESSAGES } from "../common/booking.js";
import { HoldForm } from "../common/holdform.js";
import { clockOffset, explain } from "../common/http.js";
import { t } from "../common/i18n.js";
import { LiveSlots } from "../common/liveslots.js";
import { MonthSlots } from "../common/monthslots.js";
import { chosenClock, clockControls } from "../common/prefs.js";
import { showLiveState } from "../common/stream.js";
import { WidgetApi } from "./api.js";
import { skeleton } from "./skeleton.js";

const GATEWAY = new URL(import.meta.url).origin;
const STYLESHEET = new URL("./widget.css", import.meta.url).href;
const DAYS_AHEAD = 60; // loaded ahead: the month view moves within them
const STALE_TOKEN = "Your booking session on this website ended. Please reload the page and try again.";

const MESSAGES = {
  ...BOOKING_MESSAGES,
  origin_not_allowed: "This website may not book with this clinic yet. Please book on the clinic's own page.",
  token_unavailable: "We could not start your booking on this website. Please reload the page and try again.",
  unauthorized: STALE_TOKEN,
  token_expired: STALE_TOKEN,
  token_revoked: STALE_TOKEN,
  token_unknown_key: STALE_TOKEN,
};

const say = (error) => explain(error, MESSAGES);

class BookingWidget extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return; // moved within the page: keep going as we are
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = skeleton(STYLESHEET);
    this.$ = (id) => root.getElementById(id);
    // Show the widget once its styles are in (or failed to come): no flash of unstyled markup.
    const show = () => {
      root.querySelector(".widget").hidden = false;
    };
    root.querySelector("link").addEventListener("load", show);
    root.querySelector("link").addEventListener("error", show);

    const attr = (name) => (this.dataset[name] || "").trim();
    const config = { doctorId: attr("doctor"), appointmentTypeId: attr("appointmentType"), tokenEndpoint: attr("tokenEndpoint") };
    const missing = Object.entries({ "data-doctor": config.doctorId, "data-appointment-type": config.appointmentTypeId, "data-token-endpoint": config.tokenEndpoint })
      .filter(([, value]) => !value)
      .map(([name]) => name);
    if (missing.length) {
      this.broken(`This booking widget is not set up: ${missing.join(", ")} missing.`);
      return;
    }
    this.start(config);
  }

  disconnectedCallback() {
    // A move within the page disconnects and connects again in one go: stop only if it stays out.
    queueMicrotask(() => {
      if (!this.isConnected) this.stop();
    });
  }

  broken(text) {
    this.$("broken").textContent = text;
    this.$("broken").hidden = false;
    this.shadowRoot.querySelector(".widget").remove();
  }

  start(config) {
    const $ = this.$;
    this.api = new WidgetApi({ base: GATEWAY, ...config });
    this.clock = chosenClock();
    this.current = null; // the hold this widget owns
    this.picking = false;
    this.ttlSeconds = null;

    const until = Date.now() + DAYS_AHEAD * 86_400_000;
    this.list = new MonthSlots($("days"), this.clock, {
      until,
      idPrefix: "widget-cal",
      onPick: (start, end, button) => this.pick(start, button),
      onFocusLost: () => {
        if (this.picking) return; // our own hold, announced before its answer came
        this.status("The time you were on was just taken by someone else.");
        $("pick-heading").focus();
      },
    });
    this.live = new LiveSlots({
      fetchSlots: () => this.api.slots({ from: Date.now(), to: until }),
      board: this.list,
      eventsUrl: this.api.eventsUrl,
      onState: (state) => showLiveState($("live"), state),
      explain: (error) => {
        if (error.code === "network") {
          // what the browser hides from us (a CORS refusal looks like a network error), for the partner's developers
          console.warn(`booking widget: no answer from ${GATEWAY}; is ${window.location.origin} in the organisation's allowed_origins?`);
        }
        return `We could not load the free times. ${say(error)}`;
      },
    });
    this.holdView = new HoldForm(this.shadowRoot, this.clock, {
      onSubmit: (hold, patient) => this.confirm(hold, patient),
      onRelease: (hold) => this.release(hold),
      onTick: (left) => this.list.tick(left),
      onLapse: () => {
        this.current = null;
        this.list.hold(null);
        this.status("Your hold lapsed, so the time is open to everyone again.");
      },
      onBack: () => this.view("pick"),
    }, { zoneInTime: true });

    $("zone").textContent = this.clock.zoneLabel();
    this.describing = this.describe();
    this.describing.then((doctorZone) => clockControls({ zone: $("zone-select"), cycle: $("cycle-select") }, this.clock, doctorZone, (clock) => {
      this.clock = clock;
      this.holdView.clock = clock;
      this.list.setClock(clock);
      $("zone").textContent = clock.zoneLabel();
    }));
    $("alert-close").addEventListener("click", () => this.clearAlert());
    $("book-another").addEventListener("click", () => {
      this.view("pick");
      this.live.refresh();
    });
    this.onPageHide = () => {
      if (this.current) this.api.releaseOnExit(this.current);
    };
    window.addEventListener("pagehide", this.onPageHide);
    this.live.start();
  }

  stop() {
    this.live?.stop();
    this.holdView?.stop();
    if (this.onPageHide) window.removeEventListener("pagehide", this.onPageHide);
    if (this.current) this.api.releaseOnExit(this.current);
    this.current = null;
  }

  async describe() {
    const [doctor, kind] = await Promise.allSettled([this.api.doctor(), this.api.appointmentType()]);
    if (doctor.status === "fulfilled") {
      this.$("title").textContent = `Book with ${doctor.value.name}`;
      this.$("done-doctor").textContent = doctor.value.name;
    }
    this.kind = kind.status === "fulfilled" ? kind.value : null;
    if (kind.status === "fulfilled") {
      this.$("lead").textContent = `${kind.value.name} · ${kind.value.duration_minutes} minutes · video call`;
      this.ttlSeconds = kind.value.hold_ttl_seconds;
    }
    return doctor.status === "fulfilled" ? doctor.value.timezone : null;
  }

  // --- messages ---------------------------------------------------------------------------------

  status(text) {
    this.$("status").textContent = text;
  }

  alert(text) {
    this.$("alert-text").textContent = text;
    this.$("alert").hidden = false;
  }

  clearAlert() {
    this.$("alert").hidden = true;
    this.$("alert-text").textContent = "";
  }

  view(name) {
    for (const id of ["pick", "hold", "done"]) this.$(id).hidden = id !== name;
    if (name !== "hold") this.holdView.stop();
    this.$(`${name}-heading`).focus();
  }

  // --- holding and confirming -----------------------------------------------------------------

  /** When the hold lapses by our clock: the gateway's deadline, corrected for our clock's error. */
  deadline(hold, response) {
    let offset = clockOffset(response); // 0 when the Date header is hidden from us (cross-origin)
    if (!offset && this.ttlSeconds) {
      const served = Date.parse(hold.expires_at) - this.ttlSeconds * 1000; // the gateway's "now"
      if (Math.abs(served - Date.now()) > 2_000) offset = served - Date.now();
    }
    return Date.parse(hold.expires_at) - offset;
  }

  async pick(start, button) {
    if (this.picking) return;
    this.picking = true;
    button.setAttribute("aria-busy", "true");
    this.clearAlert();
    this.status(`Holding ${this.clock.time(start)}…`);
    try {
      const { hold, response } = await this.api.hold(start);
      const previous = this.current;
      this.current = hold;
      this.list.hold(hold);
      this.holdView.show(hold, this.deadline(hold, response), this.api.tokens.claims);
      this.view("hold");
      this.status(`${this.clock.span(hold.start, hold.end)} is held for you. Enter your name and email to confirm.`);
      if (previous) this.api.release(previous).catch(() => undefined);
    } catch (error) {
      this.status("");
      this.alert(say(error));
      if (error.code === "slot_taken" || error.code === "not_bookable") {
        if (button.isConnected) this.list.drop(button);
        this.$("pick-heading").focus();
        this.live.refresh();
      }
    } finally {
      this.picking = false;
      button.removeAttribute("aria-busy");
    }
  }

  async confirm(hold, patient) {
    this.holdView.busy(true);
    this.clearAlert();
    this.status("Confirming your booking…");
    try {
      const appointment = await this.api.confirm(hold, { ...patient, timezone: this.clock.zone });
      this.current = null;
      this.list.hold(null);
      this.showAppointment(appointment);
      this.view("done");
      this.status(`Booked: ${this.clock.span(appointment.start, appointment.end)}.`);
    } catch (error) {
      this.holdView.busy(false);
      this.status("");
      this.alert(say(error));
      if (error.code === "hold_expired" || error.code === "not_found") this.holdView.lapse();
      else if (error.code === "slot_taken") this.view("pick");
    }
  }

  async release(hold) {
    this.holdView.busy(true);
    this.clearAlert();
    try {
      await this.api.release(hold);
      this.current = null;
      this.list.hold(null);
      this.status("Hold cancelled. The time is free again.");
      this.view("pick");
    } catch (error) {
      this.holdView.busy(false);
      this.alert(say(error));
    }
  }

  showAppointment(appointment) {
    this.$("done-time").textContent = `${this.clock.span(appointment.start, appointment.end)} (${this.clock.zone})`;
    // The room's address is handed out only inside the join window (GET …/join), never here.
    this.$("done-link").textContent = "Opens 10 minutes before the start; the clinic sends you the way in";
    this.$("done-reference").textContent = appointment.reference || "";
    // The patient's own page for this booking (cancel, move, calendar, join) opens on the gateway.
    const manage = appointment.manage_url && /^https?:\/\//i.test(appointment.manage_url) ? appointment.manage_url : null;
    this.$("done-manage").hidden = !manage;
    if (manage) {
      this.$("done-manage-link").href = manage;
      this.$("done-manage-link").textContent = t("done.manage");
    }
  }
}

if (!customElements.get("booking-widget")) customElements.define("booking-widget", BookingWidget);
