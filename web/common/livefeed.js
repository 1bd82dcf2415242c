// One doctor's live slot events over Server-Sent Events.
//
// EventSource reconnects by itself after a dropped connection and resumes with Last-Event-ID.
// It gives up for good when the gateway answers with an error status (say, during a deploy), so
// then we open a new one ourselves, with backoff, resuming after the last seq we applied.

const TYPES = ["slot.held", "slot.released", "slot.booked", "slot.freed", "resync"];
const MAX_BACKOFF_MS = 15_000;

export class LiveFeed {
  /**
   * @param {string} path  the events route, e.g. /v1/doctors/<id>/events
   * @param {() => number} after  the seq to resume after when we open a connection ourselves
   * @param {{onEvent: (event: object) => void, onState: (state: string) => void}} handlers
   */
  constructor(path, after, { onEvent, onState }) {
    this.path = path;
    this.after = after;
    this.onEvent = onEvent;
    this.onState = onState;
    this.source = null;
    this.failures = 0;
    this.timer = null;
  }

  start() {
    this.stop();
    const source = new EventSource(`${this.path}?${new URLSearchParams({ after: String(this.after()) })}`);
    this.source = source;
    this.onState("connecting");
    source.addEventListener("open", () => {
      this.failures = 0;
      this.onState("live");
    });
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) this.retryLater();
      else this.onState("reconnecting");
    });
    for (const type of TYPES) source.addEventListener(type, (message) => this.receive(type, message));
  }

  receive(type, message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      event = {};
    }
    this.onEvent({ ...event, type: event.type || type });
  }

  retryLater() {
    this.source.close();
    this.source = null;
    this.onState("reconnecting");
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.failures) * (0.75 + Math.random() / 2);
    this.failures += 1;
    this.timer = setTimeout(() => this.start(), delay);
  }

  stop() {
    clearTimeout(this.timer);
    this.source?.close();
    this.source = null;
  }
}
