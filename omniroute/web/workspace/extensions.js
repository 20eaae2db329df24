// Optional parts of the conversation panel (call controls, the provider's agent panel).
import { api } from "./api.js";
import { h } from "./dom.js";
import { state } from "./store.js";
import { renderControls } from "./controls.js";
import { mountConnectorPanel } from "./connector.js";

const CALL_CHANNELS = new Set(["voice", "callback"]);
const ENDED_OFFERS = { accepted: "work.accepted", rejected: "work.rejected" };
const STYLES = "/static/workspace/controls.css";

function ensureStyles() {
  if (document.querySelector(`link[href="${STYLES}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLES }));
}

async function currentCall(id) {
  try {
    return await api("GET", `/interactions/${encodeURIComponent(id)}/call`);
  } catch (err) {
    if (err.code === "NO_CALL_CONTEXT") return null;
    throw err;
  }
}

// The feed frames the provider's panel hears about, under the protocol's names.
function panelMessage(frame) {
  const d = frame.data || {};
  if (frame.type === "offer.created") return "work.offered";
  if (frame.type === "offer.ended") return ENDED_OFFERS[d.state] || null;
  if (frame.type === "presence.changed" || frame.type === "call.context") return frame.type;
  return null;
}

// Returns at once, so no feed frame is missed; what it needs from the server arrives after.
export async function mountExtensions({ doc, me, body, side }) {
  ensureStyles();
  let controls = null;
  let destroyed = false;
  const panels = [];
  if (doc.document_type === "interaction" && CALL_CHANNELS.has(doc.channel_id)) {
    const box = h("section", { class: "call-box", "aria-label": "Call" });
    body.prepend(box);
    const invoke = (action, params) =>
      api("POST", `/interactions/${encodeURIComponent(doc.id)}/controls`, { action, params });
    controls = renderControls(box, null, { invoke });
    // A context that came with the feed meanwhile is newer: update() keeps the latest.
    currentCall(doc.id).then((context) => {
      if (context && !destroyed) controls = controls.update(context);
    }).catch(() => {});
  }
  api("GET", `/agents/${encodeURIComponent(me.agent_id)}/connector-panels`).then((configs) => {
    if (destroyed) return;
    for (const config of configs) {
      const box = h("div", { class: "connector-box" });
      side.append(box);
      const agent = { id: me.agent_id, name: me.name, presence_id: state.presence?.presence_id };
      panels.push(mountConnectorPanel({ container: box, config, agent, api }));
    }
  }).catch(() => {
    // Without panels the conversation works as before.
  });
  return {
    handle(frame) {
      const d = frame.data || {};
      if (frame.type === "call.context" && d.interaction_id === doc.id && controls) {
        controls = controls.update(d);
      }
      const type = panelMessage(frame);
      if (type) for (const panel of panels) panel.notify(type, d);
    },
    // The conversation's wrap-up tells the panel what was submitted.
    wrappedUp(payload) {
      for (const panel of panels) panel.notify("wrapup.submitted", payload);
    },
    destroy() {
      destroyed = true;
      controls?.destroy();
      for (const panel of panels) panel.destroy();
    },
  };
}
