// A live stream of slot events over Server-Sent Events, the one reconnect logic every face uses.
//
// EventSource reconnects by itself after a dropped connection and resumes with Last-Event-ID.
// It gives up for good when the gateway answers with an error status (say, during a deploy), so
// then we open a new one ourselves, with backoff, resuming after the last seq we applied (when
// the caller tracks one).

const TYPES = ["slot.held", "slot.released", "slot.booked", "slot.freed", "resync"];
const MAX_BACKOFF_MS = 15_000;

export class LiveFeed {
  /**
   * @param {string} url  an events route, e.g. /v1/doctors/<id>/events or /v1/events?doctor_id=…
   * @param {(() => number)|null} after  the seq to resume after when we open a connection
   *   ourselves; null for callers that refetch after every (re)connect instead
   * @param {{onEvent: (event: object) => void, onState: (state: string) => void, onOpen?: () => void}} handlers
   */
  constructor(url, after, { onEvent, onState, onOpen = () => undefined }) {
    this.url = url;
    this.after = after;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onOpen = onOpen;
    this.source = null;
    this.failures = 0;
    this.timer = null;
  }

  start() {
    this.stop();
    const source = new EventSource(this.after ? this.resumeUrl(this.after()) : this.url);
    this.source = source;
    this.onState("connecting");
    source.addEventListener("open", () => {
      this.failures = 0;
      this.onState("live");
      this.onOpen();
    });
    source.addEventListener("error", () => {
      if (source !== this.source) return;
      if (source.readyState === EventSource.CLOSED) this.retryLater();
      else this.onState("reconnecting");
    });
    for (const type of TYPES) source.addEventListener(type, (message) => this.receive(type, message));
  }

  resumeUrl(seq) {
    return `${this.url}${this.url.includes("?") ? "&" : "?"}${new URLSearchParams({ after: String(seq) })}`;
  }

  receive(type, message) {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      event = {}; // a malformed event still means "something changed"
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
