// A live stream for pages that refetch on any change (the doctor's schedule, the admin list).
//
// Unlike the booking page, these pages do not patch their lists event by event: every slot event
// (held, released, booked, freed, resync) means "something changed here, ask again". So no seq is
// tracked; instead the page refetches after every (re)connect, because events may have been
// missed while the stream was down. Reconnecting is LiveFeed's (common/livefeed.js); while the
// stream is down, the page is asked to refetch now and then, so it does not go stale.

import { LiveFeed } from "./livefeed.js";

const POLL_WHILE_DOWN_MS = 20_000;

export class Watch {
  /**
   * @param {string} url  an events route, e.g. /v1/doctors/<id>/events or /v1/events?doctor_id=…
   * @param {{onChange: (event: object|null) => void, onState: (state: string) => void}} handlers
   *   `onChange(null)` after each (re)connect, `onChange(event)` for each event.
   */
  constructor(url, { onChange, onState = () => undefined }) {
    this.onChange = onChange;
    this.onState = onState;
    this.poll = null;
    this.feed = new LiveFeed(url, null, {
      onEvent: (event) => this.onChange(event),
      onState: (state) => this.state(state),
      onOpen: () => this.onChange(null),
    });
  }

  state(state) {
    if (state === "connecting" && this.poll) return; // still down: a retry is not news
    if (state === "live") {
      clearInterval(this.poll);
      this.poll = null;
    } else if (state === "reconnecting" && !this.poll) {
      this.poll = setInterval(() => this.onChange(null), POLL_WHILE_DOWN_MS);
    }
    this.onState(state);
  }

  start() {
    this.feed.start();
  }

  stop() {
    this.feed.stop();
    clearInterval(this.poll);
    this.poll = null;
  }
}

/** The most doctors one /v1/events stream may follow (the default of GATEWAY_LIVE_MAX_DOCTORS). */
export const STREAM_DOCTORS = 50;

/** Doctor ids cut into groups of at most STREAM_DOCTORS, one stream each. */
export function streamGroups(doctorIds) {
  const groups = [];
  for (let i = 0; i < doctorIds.length; i += STREAM_DOCTORS) groups.push(doctorIds.slice(i, i + STREAM_DOCTORS));
  return groups;
}

/** Watches that call onChange on any slot event of any of the doctors (one stream per group),
 * their state shown as one in the `.live` indicator; not started yet. */
export function watchDoctors(api, doctorIds, onChange, indicator) {
  const groups = streamGroups(doctorIds);
  const stateOf = combinedState(groups.length, (state) => showLiveState(indicator, state));
  const watches = groups.map((group, i) => new Watch(api.url("/v1/events", { doctor_id: group }), { onChange, onState: stateOf(i) }));
  if (!watches.length) showLiveState(indicator, "off");
  return watches;
}

/** Several streams shown as one: live when all are, reconnecting when any is. */
export function combinedState(count, onState) {
  const states = new Array(count).fill("connecting");
  return (index) => (state) => {
    states[index] = state;
    onState(states.every((s) => s === "live") ? "live" : states.includes("reconnecting") ? "reconnecting" : "connecting");
  };
}

const LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", off: "Not live" };

/** Show a stream's state in a `.live` indicator (a dot and a label); `labels` in another language. */
export function showLiveState(indicator, state, labels = LABELS) {
  indicator.dataset.state = state;
  indicator.querySelector(".live-label").textContent = labels[state] || state;
}
