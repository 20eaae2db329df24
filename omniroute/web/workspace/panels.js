// The providers' agent panels, docked in the workspace for the whole session (not per
// conversation), so a softphone keeps its call and its sign-in while the agent moves around.
import { api } from "./api.js";
import { h } from "./dom.js";
import { state } from "./store.js";
import { mountConnectorPanel } from "./connector.js";
import { t } from "./i18n.js";

const COLLAPSED_KEY = "omniroute.panels.collapsed";

const ENDED_OFFERS = { accepted: "work.accepted", rejected: "work.rejected" };
const STYLES = "/static/workspace/controls.css";

export function ensureStyles() {
  if (document.querySelector(`link[href="${STYLES}"]`)) return;
  document.head.append(h("link", { rel: "stylesheet", href: STYLES }));
}

// The feed frames the provider's panel hears about, under the protocol's names.
function panelMessage(frame) {
  const d = frame.data || {};
  if (frame.type === "offer.created") return "work.offered";
  if (frame.type === "offer.ended") return ENDED_OFFERS[d.state] || null;
  if (frame.type === "presence.changed" || frame.type === "call.context") return frame.type;
  return null;
}

class PanelDock {
  constructor() {
    this.panels = [];
  }

  async mount(container, me) {
    let configs = [];
    try {
      configs = await api("GET", `/agents/${encodeURIComponent(me.agent_id)}/connector-panels`);
    } catch {
      return; // Without panels the workspace works as before.
    }
    if (!configs.length) return;
    ensureStyles();
    container.hidden = false;
    const body = this.collapsible(container);
    for (const config of configs) {
      const box = h("div", { class: "connector-box" });
      body.append(box);
      const agent = { id: me.agent_id, name: me.name, presence_id: state.presence?.presence_id };
      this.panels.push(mountConnectorPanel({ container: box, config, agent, api }));
    }
  }

  // A header button folds the panels away; they stay loaded (a softphone keeps its call).
  // The choice is remembered; on a phone-sized screen they start folded.
  collapsible(container) {
    const stored = localStorage.getItem(COLLAPSED_KEY);
    const collapsed = stored === null ? window.matchMedia("(max-width: 760px)").matches : stored === "1";
    const body = h("div", { class: "panels-body", id: "panels-body" });
    const toggle = h("button", { class: "panels-toggle", type: "button", "aria-controls": "panels-body",
      "aria-expanded": String(!collapsed) }, h("span", { class: "pane-title" }, t("app.contact_center")),
      h("span", { class: "chevron", "aria-hidden": "true" }, "▾"));
    const apply = (folded) => {
      body.hidden = folded;
      toggle.setAttribute("aria-expanded", String(!folded));
      container.classList.toggle("collapsed", folded);
    };
    toggle.addEventListener("click", () => {
      const folded = !body.hidden;
      apply(folded);
      localStorage.setItem(COLLAPSED_KEY, folded ? "1" : "0");
    });
    apply(collapsed);
    container.append(toggle, body);
    return body;
  }

  handle(frame) {
    const type = panelMessage(frame);
    if (type) this.notify(type, frame.data || {});
  }

  notify(type, payload) {
    for (const panel of this.panels) panel.notify(type, payload);
  }
}

export const dock = new PanelDock();
