// The connector panel: the provider's agent panel in a sandboxed iframe, spoken to only through
// the versioned postMessage protocol of docs/workspace/connector-panel.md.

import { h } from "./dom.js";
import { t } from "./i18n.js";

export const PROTOCOL = "omniroute.panel";
export const PROTOCOL_VERSION = 1;

// What the workspace may tell the panel, and what the panel may ask of the workspace.
export const OUTGOING = new Set([
  "init", "result", "presence.changed", "work.offered", "work.accepted", "work.rejected",
  "wrapup.submitted", "call.context",
]);
const NOTIFIABLE = new Set([...OUTGOING].filter((t) => t !== "init" && t !== "result"));
const SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups";

function originOf(url) {
  return new URL(url, window.location.href).origin;
}

function errorOf(err) {
  return { code: err?.code || "ERROR", message: err?.message || String(err) };
}

/**
 * Mount a provider's panel. `config` is one entry of GET /agents/{id}/connector-panels;
 * `agent` is {id, name, presence_id}; `api(method, path, body)` is the workspace's API call;
 * `on` holds optional callbacks: ready, signedIn, presence, control, ignored, error.
 * Returns {notify(type, payload), destroy()}.
 */
export function mountConnectorPanel({ container, config, agent, api, on = {} }) {
  const panelOrigin = originOf(config.panel_url);
  const allowed = new Set(config.allowed_origins || [panelOrigin]);
  allowed.add(panelOrigin);
  const spoke = encodeURIComponent(config.spoke);
  const agentPath = `/agents/${encodeURIComponent(agent.id)}/connector-panels/${spoke}`;
  const titleId = `connector-${config.spoke}-title`;
  const status = h("span", { class: "cn-status", role: "status", "aria-live": "polite" }, t("panel.connecting"));
  const section = h("section", { class: "connector", "aria-labelledby": titleId },
    h("header", { class: "cn-head" },
      h("h2", { id: titleId, class: "cn-title" }, config.title || config.spoke),
      status,
    ),
  );
  container.append(section);

  const setStatus = (text, tone = "info") => {
    status.textContent = text;
    status.dataset.tone = tone;
  };

  if (panelOrigin === window.location.origin) {
    // A same-origin page with allow-scripts + allow-same-origin could lift its own sandbox.
    setStatus("This panel cannot be shown: it must be served from another origin.", "bad");
    on.error?.({ code: "SAME_ORIGIN", message: "the panel URL has the workspace's own origin" });
    return { notify() {}, destroy() { section.remove(); } };
  }

  const frame = h("iframe", {
    class: "cn-frame",
    title: `${config.title || config.spoke} agent panel`,
    src: config.panel_url,
    sandbox: SANDBOX,
    allow: "microphone; autoplay",
    referrerpolicy: "strict-origin",
  });
  section.append(frame);

  let ready = false;
  let targetOrigin = panelOrigin;
  let providerAgentId = config.provider_agent_id || null;
  let presenceId = agent.presence_id || null;
  const queued = [];

  function post(type, payload, extra = {}) {
    frame.contentWindow?.postMessage(
      { protocol: PROTOCOL, version: PROTOCOL_VERSION, type, payload, ...extra }, targetOrigin,
    );
  }

  const providerState = (id) => (config.presence_map || {})[id] ?? null;

  function sendInit() {
    post("init", {
      protocol_version: PROTOCOL_VERSION,
      spoke: config.spoke,
      agent: { id: agent.id, name: agent.name || agent.id, provider_agent_id: providerAgentId },
      presence: { presence_id: presenceId, provider_state: providerState(presenceId) },
    });
  }

  async function answer(id, work) {
    try {
      const data = await work();
      post("result", { ok: true, data }, { re: id });
      return data;
    } catch (err) {
      post("result", { ok: false, error: errorOf(err) }, { re: id });
      on.error?.(errorOf(err));
      return undefined;
    }
  }

  const handlers = {
    ready(msg) {
      ready = true;
      sendInit();
      for (const [type, payload] of queued.splice(0)) post(type, payload);
      setStatus(providerAgentId ? t("panel.connected_as", { id: providerAgentId }) : t("panel.sign_in"), "ok");
      on.ready?.(msg.payload || {});
    },
    async "agent.signed_in"(msg) {
      const providerId = String(msg.payload?.provider_agent_id || "");
      const data = await answer(msg.id, () => api("POST", `${agentPath}/sign-in`, { provider_agent_id: providerId }));
      if (data) {
        providerAgentId = data.provider_agent_id;
        setStatus(t("panel.connected_as", { id: providerAgentId }), "ok");
        on.signedIn?.(data);
      }
    },
    async "presence.set"(msg) {
      const stateName = String(msg.payload?.state_name || "");
      const data = await answer(msg.id, () => api("POST", `${agentPath}/presence`, { state_name: stateName }));
      if (data) {
        presenceId = data.presence_id;
        on.presence?.(data);
      }
    },
    async "control.invoke"(msg) {
      const p = msg.payload || {};
      const path = `/interactions/${encodeURIComponent(String(p.interaction_id || ""))}/controls`;
      const data = await answer(msg.id, () => api("POST", path, { action: p.action, params: p.params || {} }));
      if (data) on.control?.(data);
    },
  };

  function onMessage(event) {
    if (event.source !== frame.contentWindow) return on.ignored?.({ origin: event.origin, reason: "source" });
    if (!allowed.has(event.origin)) return on.ignored?.({ origin: event.origin, reason: "origin" });
    const msg = event.data;
    if (!msg || typeof msg !== "object" || msg.protocol !== PROTOCOL) {
      return on.ignored?.({ origin: event.origin, reason: "protocol" });
    }
    targetOrigin = event.origin;
    if (msg.version !== PROTOCOL_VERSION) {
      post("result", { ok: false, error: { code: "UNSUPPORTED_VERSION", message: `this workspace speaks version ${PROTOCOL_VERSION}` } }, { re: msg.id });
      return undefined;
    }
    const handler = Object.hasOwn(handlers, msg.type) ? handlers[msg.type] : null;
    if (!handler) {
      post("result", { ok: false, error: { code: "UNKNOWN_TYPE", message: `unknown message type '${msg.type}'` } }, { re: msg.id });
      return undefined;
    }
    return handler(msg);
  }

  // A reloaded panel sends ready again and gets init again; a page of another origin in the
  // frame receives nothing, since every message names the origin it is for.
  window.addEventListener("message", onMessage);

  return {
    notify(type, payload = {}) {
      if (!NOTIFIABLE.has(type)) throw new Error(`the connector panel cannot be told '${type}'`);
      let body = payload;
      if (type === "presence.changed") {
        presenceId = payload.presence_id;
        body = { ...payload, provider_state: providerState(payload.presence_id) };
      }
      if (ready) post(type, body);
      else queued.push([type, body]);
    },
    destroy() {
      window.removeEventListener("message", onMessage);
      section.remove();
    },
  };
}
