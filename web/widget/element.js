// <booking-widget data-doctor data-appointment-type data-token-endpoint>: a doctor's free slots in
// the visitor's zone, kept live; hold one, confirm it with the partner's booking token. It lives
// in a shadow root (the partner's styles do not leak in, ours do not leak out) and talks to the
// gateway it was loaded from. Themable with --booking-widget-accent and --booking-widget-font.

import { BOOKING_MESSAGES } from "../common/booking.js";
import { HoldForm } from "../common/holdform.js";
import { clockOffset } from "../common/http.js";
import { LANG, LIVE_LABELS, explainIn, t, translate } from "../common/i18n.js";
import { LiveSlots } from "../common/liveslots.js";
import { MonthSlots } from "../common/monthslots.js";
import { dueText, payThroughPartner, paymentDue } from "../common/payment.js";
import { chosenClock, clockControls } from "../common/prefs.js";
import { showLiveState } from "../common/stream.js";
import { WidgetApi } from "./api.js";
import { skeleton } from "./skeleton.js";

const GATEWAY = new URL(import.meta.url).origin;
const STYLESHEET = new URL("./widget.css", import.meta.url).href;
const DAYS_AHEAD = 60; // loaded ahead: the month view moves within them
const STALE_TOKEN = t("error.siteSession");

const MESSAGES = {
  ...BOOKING_MESSAGES,
  origin_not_allowed: t("error.origin_not_allowed"),
  token_unavailable: t("error.token_unavailable"),
  unauthorized: STALE_TOKEN,
  token_expired: STALE_TOKEN,
  token_revoked: STALE_TOKEN,
  token_unknown_key: STALE_TOKEN,
};

const say = (error) => explainIn(error, MESSAGES);

class BookingWidget extends HTMLElement {
  connectedCallback() {
    if (this.shadowRoot) return; // moved within the page: keep going as we are
    const root = this.attachShadow({ mode: "open" });
    root.innerHTML = skeleton(STYLESHEET);
    translate(root); // one language: the visitor's browser's, when we ship it
    root.querySelector(".widget").setAttribute("lang", LANG);
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
      this.broken(t("error.notSetUp", missing.join(", ")));
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
        this.status(t("status.taken"));
        $("pick-heading").focus();
      },
    });
    this.live = new LiveSlots({
      fetchSlots: () => this.api.slots({ from: Date.now(), to: until }),
      board: this.list,
      eventsUrl: this.api.eventsUrl,
      onState: (state) => showLiveState($("live"), state, LIVE_LABELS),
      explain: (error) => {
        if (error.code === "network") {
          // what the browser hides from us (a CORS refusal looks like a network error), for the partner's developers
          console.warn(`booking widget: no answer from ${GATEWAY}; is ${window.location.origin} in the organisation's allowed_origins?`);
        }
        return `${t("error.load")} ${say(error)}`;
      },
    });
    this.holdView = new HoldForm(this.shadowRoot, this.clock, {
      onSubmit: (hold, patient) => this.confirm(hold, patient),
      onRelease: (hold) => this.release(hold),
      onTick: (left) => this.list.tick(left),
      onLapse: () => {
        this.current = null;
        this.list.hold(null);
        this.status(t("status.lapsed"));
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
      this.$("title").textContent = t("page.title", doctor.value.name);
      this.$("done-doctor").textContent = doctor.value.name;
    }
    this.kind = kind.status === "fulfilled" ? kind.value : null;
    if (kind.status === "fulfilled") {
      this.$("lead").textContent = t("page.lead", kind.value.name, kind.value.duration_minutes);
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
    // While a time is held the month stays in view under the hold, the held time selected in it.
    for (const id of ["pick", "hold", "done"]) this.$(id).hidden = !(id === name || (id === "pick" && name === "hold"));
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
    this.status(t("status.holding", this.clock.time(start)));
    try {
      const { hold, response } = await this.api.hold(start);
      const previous = this.current;
      this.current = hold;
      this.list.hold(hold);
      this.holdView.show(hold, this.deadline(hold, response), this.api.tokens.claims);
      const due = paymentDue(this.kind);
      this.$("payment").hidden = !due;
      if (due) this.$("payment-text").textContent = dueText(due);
      this.view("hold");
      this.status(t("status.held", this.clock.span(hold.start, hold.end)));
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
    let payment = null;
    const due = paymentDue(this.kind);
    if (due) {
      // The partner's payment step gives the reference (the gateway never processes cards).
      this.status(t("status.paying"));
      try {
        payment = { reference: await payThroughPartner(this, (this.dataset.paymentEndpoint || "").trim(), hold, due) };
      } catch (error) {
        this.holdView.busy(false);
        this.status("");
        this.alert(say(error));
        return;
      }
    }
    this.status(t("status.confirming"));
    try {
      const appointment = await this.api.confirm(hold, { ...patient, timezone: this.clock.zone }, payment);
      this.current = null;
      this.list.hold(null);
      this.showAppointment(appointment);
      this.view("done");
      this.status(t("status.booked", this.clock.span(appointment.start, appointment.end)));
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
      this.status(t("status.released"));
      this.view("pick");
    } catch (error) {
      this.holdView.busy(false);
      this.alert(say(error));
    }
  }

  showAppointment(appointment) {
    this.$("done-time").textContent = `${this.clock.span(appointment.start, appointment.end)} (${this.clock.zone})`;
    // The room's address is handed out only inside the join window (GET …/join), never here.
    this.$("done-link").textContent = t("done.widgetLink");
    this.$("done-reference").textContent = appointment.reference || "";
    // The patient's own page for this booking (cancel, move, calendar, join) opens on the gateway.
    // on the gateway this widget was loaded from (the address the visitor's browser already reaches)
    const manage = appointment.manage_url ? new URL(new URL(appointment.manage_url, GATEWAY).pathname, GATEWAY).href : null;
    this.$("done-manage").hidden = !manage;
    if (manage) this.$("done-manage-link").href = manage;
  }
}

if (!customElements.get("booking-widget")) customElements.define("booking-widget", BookingWidget);
