// Optional parts of the conversation panel: call controls for voice calls and callbacks.
import { api } from "./api.js";
import { h } from "./dom.js";
import { renderControls } from "./controls.js";
import { dock, ensureStyles } from "./panels.js";

const CALL_CHANNELS = new Set(["voice", "callback"]);

async function currentCall(id) {
  try {
    return await api("GET", `/interactions/${encodeURIComponent(id)}/call`);
  } catch (err) {
    if (err.code === "NO_CALL_CONTEXT") return null;
    throw err;
  }
}

// Returns at once, so no feed frame is missed; what it needs from the server arrives after.
// onCall(context) hears every call context shown, so the conversation can leave the call's
// transfer and end to the call controls and follow an ended call into wrap-up.
export async function mountExtensions({ doc, body, onCall = () => {} }) {
  ensureStyles();
  let controls = null;
  let destroyed = false;
  if (doc.document_type === "interaction" && CALL_CHANNELS.has(doc.channel_id)) {
    const box = h("section", { class: "call-box", "aria-label": "Call" });
    body.prepend(box);
    const invoke = (action, params) =>
      api("POST", `/interactions/${encodeURIComponent(doc.id)}/controls`, { action, params });
    controls = renderControls(box, null, { invoke });
    // A context that came with the feed meanwhile is newer: update() keeps the latest.
    currentCall(doc.id).then((context) => {
      if (context && !destroyed) { controls = controls.update(context); onCall(context); }
    }).catch(() => {});
  }
  return {
    handle(frame) {
      const d = frame.data || {};
      if (frame.type === "call.context" && d.interaction_id === doc.id && controls) {
        controls = controls.update(d);
        onCall(d);
      }
    },
    // The conversation's wrap-up tells the panel what was submitted.
    wrappedUp(payload) {
      dock.notify("wrapup.submitted", payload);
    },
    destroy() {
      destroyed = true;
      controls?.destroy();
    },
  };
}
