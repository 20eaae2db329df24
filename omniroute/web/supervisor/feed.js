// The live overview: one WebSocket, reconnected with backoff, reporting its state.
import { socketUrl } from "./auth.js";

const POLICY_VIOLATION = 1008;
const MAX_DELAY_MS = 15000;

export function openFeed({ onOverview, onState, onRefused }) {
  let socket = null;
  let attempt = 0;
  let timer = null;
  let stopped = false;

  function connect() {
    onState(attempt === 0 ? "connecting" : "reconnecting");
    socket = new WebSocket(socketUrl("/api/v1/supervisor/feed"));
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type !== "overview") return;
      attempt = 0;
      onState("live");
      onOverview(frame.data);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (stopped) return;
      if (event.code === POLICY_VIOLATION) {
        stopped = true;
        onState("offline");
        onRefused(event.reason);
        return;
      }
      attempt += 1;
      onState("reconnecting");
      const ceiling = Math.min(MAX_DELAY_MS, 500 * 2 ** attempt);
      timer = setTimeout(connect, ceiling / 2 + Math.random() * (ceiling / 2));
    });
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (socket) socket.close();
      onState("offline");
    },
  };
}
