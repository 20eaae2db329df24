// The agent's live feed: reconnects by itself and replays what it missed with ?since=.

export class Feed {
  constructor(agentId, { onHello, onEvent, onStatus, onResumed }) {
    this.agentId = agentId;
    this.handlers = { onHello, onEvent, onStatus, onResumed };
    this.lastSeq = null;
    this.attempt = 0;
    this.closed = false;
    this.missed = [];
    this.resuming = false;
  }

  start() {
    this.connect();
    window.addEventListener("online", () => this.retryNow());
  }

  stop() {
    this.closed = true;
    clearTimeout(this.timer);
    this.ws?.close();
  }

  retryNow() {
    if (this.ws && this.ws.readyState <= 1) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = this.lastSeq === null ? "" : `?since=${this.lastSeq}`;
    this.resuming = this.lastSeq !== null;
    this.missed = [];
    this.handlers.onStatus?.(this.attempt === 0 && !this.resuming ? "connecting" : "reconnecting");
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/agents/${encodeURIComponent(this.agentId)}/feed${since}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.attempt = 0;
      this.handlers.onStatus?.("live");
    });
    ws.addEventListener("message", (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.type === "resumed") {
        // The server marks the end of the replay: everything before it happened while away.
        this.handlers.onResumed?.(this.missed);
        this.missed = [];
        this.resuming = false;
        return;
      }
      if (frame.type === "hello") {
        this.lastSeq = frame.seq;
        this.handlers.onHello?.(frame.data);
        return;
      }
      if (typeof frame.seq === "number") {
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
      }
      if (this.resuming) this.missed.push(frame);
      this.handlers.onEvent?.(frame);
    });
    ws.addEventListener("close", (ev) => {
      if (this.closed) return;
      if (ev.code === 1008) {
        this.handlers.onStatus?.("signed-out");
        return;
      }
      this.handlers.onStatus?.("reconnecting");
      const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }
}
