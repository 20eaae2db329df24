// When a missed offer sets the agent Away, say so and why, with a one-click way back.
import { h } from "./dom.js";
import { t } from "./i18n.js";
import { state } from "./store.js";

const REASONS = new Set(["offer_timed_out"]);

export class AwayNotice {
  constructor(el, { setPresence }) {
    this.el = el;
    this.setPresence = setPresence;
    this.note = null;
  }

  // A presence.changed frame: explain a change the agent did not make; clear it otherwise.
  changed(data) {
    const presence = state.catalog.presence.find((p) => p.id === data.presence_id);
    if (presence?.is_available) { this.clear(); return; }
    if (!REASONS.has(data.reason)) return;
    this.show(presence?.name || data.presence_id, data.reason);
  }

  show(presenceName, reason) {
    this.clear();
    const available = state.catalog.presence.find((p) => p.is_available);
    const back = available ? h("button", { class: "btn btn-primary btn-sm", type: "button", id: "back-available",
      onclick: async () => {
        back.disabled = true;
        await this.setPresence({ presence_id: available.id });
        this.clear();
      } }, t("away.back", { presence: available.name })) : null;
    this.note = h("div", { class: "notice notice-warn away-notice", id: "away-notice", role: "alert" },
      h("p", {}, h("strong", {}, t("away.title", { presence: presenceName })), " ", t(`away.reason.${reason}`)),
      back);
    this.el.prepend(this.note);
  }

  clear() {
    this.note?.remove();
    this.note = null;
  }
}
