// A live stream for pages that refetch on any change (the doctor's schedule, the admin list).
//
// Unlike the booking page, these pages do not patch their lists event by event: every slot event
// (held, released, booked, freed, resync) means "something changed here, ask again". So no seq is
// tracked; instead the page refetches after every (re)connect, because events may have been
// missed while the stream was down. EventSource resumes by itself with Last-Event-ID; when it
// gives up (an error status), we open a new one with backoff. While it is down, the page is asked
// to refetch now and then, so it does not go stale.

const TYPES = ["slot.held", "slot.released", "slot.booked", "slot.freed", "resync"];
const MAX_BACKOFF_MS = 15_000;
const POLL_WHILE_DOWN_MS = 20_000;

export class Watch {
  /**
   * @param {string} url  an events route, e.g. /v1/doctors/<id>/events or /v1/events?doctor_id=…
   * @param {{onChange: (event: object|null) => void, onState: (state: string) => void}} handlers
   *   `onChange(null)` after each (re)connect, `onChange(event)` for each event.
   */
  constructor(url, { onChange, onState = () => undefined }) {
    this.url = url;
    this.onChange = onChange;
    this.onState = onState;
    this.source = null;
    this.failures = 0;
    this.timer = null;
    this.poll = null;
  }

  state(state) {
    if (state === "live") {
      clearInterval(this.poll);
      this.poll = null;
    } else if (state === "reconnecting" && !this.poll) {
      this.poll = setInterval(() => this.onChange(null), POLL_WHILE_DOWN_MS);
    }
    this.onState(state);
  }

  start() {
    this.stop();
    const source = new EventSource(this.url);
    this.source = source;
    if (!this.poll) this.state("connecting");
    source.addEventListener("open", () => {
      this.failures = 0;
      this.state("live");
      this.onChange(null);
    });
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) this.retryLater();
      else this.state("reconnecting");
    });
    for (const type of TYPES) {
      source.addEventListener(type, (message) => {
        let event = {};
        try {
          event = JSON.parse(message.data);
        } catch {
          // a malformed event still means "something changed"
        }
        this.onChange({ ...event, type });
      });
    }
  }

  retryLater() {
    this.source.close();
    this.source = null;
    this.state("reconnecting");
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.failures += 1;
    this.timer = setTimeout(() => this.start(), delay);
  }

  stop() {
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.poll = null;
    this.source?.close();
    this.source = null;
  }
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

/** Show a stream's state in a `.live` indicator (a dot and a label). */
export function showLiveState(indicator, state) {
  indicator.dataset.state = state;
  indicator.querySelector(".live-label").textContent = LABELS[state] || state;
}
