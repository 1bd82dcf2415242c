// A slot list kept true live: the snapshot from GET /slots carries the doctor's event `seq`; the
// doctor's events after it are applied in order (held/booked remove slots at once; released/freed
// and resync ask the gateway again, since only it knows what comes back under the type's rules).
// A gap in the seqs, or a reconnect the stream cannot replay, means a fresh snapshot. While the
// stream is down the list is refetched now and then. The booking page, the widget and the admin
// rebook dialog all keep their lists this way.

import { LiveFeed } from "./livefeed.js";
import { coalesce } from "./dom.js";

const POLL_WHILE_OFFLINE_MS = 20_000;
const RETRY_LOAD_MS = 3_000;
const takes = (event) => event.type === "slot.held" || event.type === "slot.booked";

export class LiveSlots {
  /**
   * @param {{fetchSlots: () => Promise<{slots: object[], seq: number}>, board: object, eventsUrl: string,
   *          onState?: (state: string) => void, explain?: (error: Error) => string}} options
   *   `board` is a SlotList (render, removeOverlapping, showError).
   */
  constructor({ fetchSlots, board, eventsUrl, onState = () => undefined, explain = () => "" }) {
    this.fetchSlots = fetchSlots;
    this.board = board;
    this.onState = onState;
    this.explain = explain;
    this.seq = 0;
    this.live = false;
    this.loading = false;
    this.buffered = [];
    this.poll = null;
    this.stopped = false;
    this.refresh = coalesce(() => this.load());
    this.feed = new LiveFeed(eventsUrl, () => this.seq, {
      onEvent: (event) => this.receive(event),
      onState: (state) => this.showLive(state),
    });
  }

  start() {
    this.stopped = false;
    return this.refresh();
  }

  stop() {
    this.stopped = true;
    this.feed.stop();
    clearInterval(this.poll);
    this.poll = null;
    this.live = false;
  }

  async load() {
    if (this.stopped) return;
    this.loading = true;
    this.buffered = [];
    let snapshot;
    try {
      snapshot = await this.fetchSlots();
    } catch (error) {
      this.loading = false;
      if (this.stopped) return;
      if (!this.live) this.board.showError(this.explain(error), () => this.refresh());
      else setTimeout(() => this.refresh(), RETRY_LOAD_MS); // keep what we show; the next try corrects it
      return;
    }
    this.loading = false;
    if (this.stopped) return;
    this.board.render(snapshot.slots);
    this.seq = snapshot.seq;
    if (!this.live) {
      this.live = true; // the feed starts after the first list, from its seq
      this.feed.start();
    }
    const newer = this.buffered.filter((event) => !(event.seq <= this.seq)).sort((a, b) => a.seq - b.seq);
    this.buffered = [];
    for (const event of newer) this.apply(event);
  }

  receive(event) {
    if (this.loading) {
      this.buffered.push(event);
      if (takes(event)) this.board.removeOverlapping(event.start, event.end); // show it at once
      return;
    }
    this.apply(event);
  }

  apply(event) {
    if (event.type === "resync" || typeof event.seq !== "number") return void this.refresh();
    if (event.seq <= this.seq) return undefined; // already in the list
    if (event.seq > this.seq + 1) return void this.refresh(); // we missed some: start over
    this.seq = event.seq;
    if (takes(event)) this.board.removeOverlapping(event.start, event.end);
    else this.refresh();
    return undefined;
  }

  showLive(state) {
    this.onState(state);
    if (state === "live") {
      clearInterval(this.poll);
      this.poll = null;
    } else if (state === "reconnecting" && !this.poll) {
      this.poll = setInterval(() => this.refresh(), POLL_WHILE_OFFLINE_MS);
    }
  }
}
