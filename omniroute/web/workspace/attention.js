// Getting the agent's attention on a new offer: tab title, favicon badge, sound and a desktop
// notification, each switched on or off by the agent (stored on the server).
import { api } from "./api.js";
import { h, openDialog, toast } from "./dom.js";
import { t, tn } from "./i18n.js";

export const ALERTS = ["tab_title", "favicon_badge", "sound", "desktop_notification"];
const ICON_SIZE = 64;

export class Attention {
  constructor({ me, preferences }) {
    this.me = me;
    this.prefs = { ...preferences };
    this.baseTitle = document.title;
    this.pending = new Map();
    this.log = [];
    this.audio = null;
    this.icon = document.querySelector("link[rel=icon]") || document.head.appendChild(h("link", { rel: "icon", href: "data:," }));
    this.baseIcon = this.icon.getAttribute("href");
    // Browsers let a page play sound only after the user did something on it.
    const unlock = () => { this.ensureAudio(); window.removeEventListener("pointerdown", unlock); window.removeEventListener("keydown", unlock); };
    window.addEventListener("pointerdown", unlock);
    window.addEventListener("keydown", unlock);
  }

  // A new offer arrived: raise every alert the agent wants.
  offered(offer, { customer, channel } = {}) {
    if (this.pending.has(offer.offer_id)) return;
    this.pending.set(offer.offer_id, offer);
    const raised = [];
    if (this.prefs.sound && this.chime()) raised.push("sound");
    if (this.prefs.desktop_notification && this.notify(offer, customer, channel)) raised.push("desktop_notification");
    this.paint();
    if (this.prefs.tab_title) raised.push("tab_title");
    if (this.prefs.favicon_badge) raised.push("favicon_badge");
    this.log.push({ offer_id: offer.offer_id, alerts: raised });
  }

  // The offer was answered, withdrawn or timed out.
  ended(offerId) {
    if (!this.pending.delete(offerId)) return;
    this.notifications?.get(offerId)?.close();
    this.paint();
  }

  sync(offerIds) {
    for (const id of [...this.pending.keys()]) if (!offerIds.includes(id)) this.ended(id);
  }

  paint() {
    const n = this.pending.size;
    document.title = n && this.prefs.tab_title ? `${tn("attention.title", n)} · ${this.baseTitle}` : this.baseTitle;
    this.icon.setAttribute("href", n && this.prefs.favicon_badge ? badge(n) : this.baseIcon);
    document.documentElement.dataset.pendingOffers = String(n);
  }

  ensureAudio() {
    if (this.audio) return this.audio;
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    try { this.audio = new Ctx(); } catch { this.audio = null; }
    return this.audio;
  }

  // Two short rising tones: made here, nothing to download.
  chime() {
    const ctx = this.ensureAudio();
    if (!ctx) return false;
    if (ctx.state === "suspended") ctx.resume().catch(() => {});
    const start = ctx.currentTime + 0.01;
    [660, 880].forEach((freq, i) => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      const at = start + i * 0.16;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.15);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + 0.16);
    });
    return true;
  }

  notify(offer, customer, channel) {
    if (!("Notification" in window) || Notification.permission !== "granted") return false;
    const n = new Notification(t("attention.notification.title", { channel: channel || t("attention.work") }), {
      body: customer || t("attention.notification.body"),
      tag: `offer-${offer.offer_id}`,
      requireInteraction: true,
    });
    n.onclick = () => { window.focus(); document.getElementById(`offer-${offer.offer_id}`)?.querySelector("button")?.focus(); n.close(); };
    this.notifications ??= new Map();
    this.notifications.set(offer.offer_id, n);
    return true;
  }

  async save(changes) {
    const path = `/agents/${encodeURIComponent(this.me.agent_id)}/preferences`;
    this.prefs = await api("PATCH", path, changes);
    this.paint();
    return this.prefs;
  }

  // Ask for desktop notifications: only from a click, as browsers require.
  async askPermission() {
    if (!("Notification" in window)) return "unsupported";
    if (Notification.permission !== "default") return Notification.permission;
    return Notification.requestPermission();
  }

  // The agent's alert settings, in a dialog.
  openSettings() {
    const boxes = ALERTS.map((key) => {
      const box = h("input", { type: "checkbox", id: `pref-${key}`, name: key });
      box.checked = Boolean(this.prefs[key]);
      return h("label", { class: "pref", for: `pref-${key}` }, box,
        h("span", {}, h("strong", {}, t(`prefs.${key}`)), h("span", { class: "muted small" }, t(`prefs.${key}.hint`))));
    });
    const permission = h("p", { class: "muted small", id: "pref-permission" }, permissionText());
    const problem = h("p", { class: "form-error", role: "alert" });
    const test = h("button", { class: "btn btn-secondary", type: "button", onclick: () => this.chime() }, t("prefs.test_sound"));
    const save = h("button", { class: "btn btn-primary", type: "submit", value: "save" }, t("prefs.save"));
    const dlg = openDialog({
      title: t("prefs.title"),
      labelledBy: "prefs-title",
      body: h("div", { class: "dialog-body prefs" }, h("p", { class: "muted" }, t("prefs.intro")), boxes, permission, test, problem),
      actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel", formnovalidate: true }, t("common.cancel")), save],
    });
    save.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const changes = Object.fromEntries(ALERTS.map((key) => [key, dlg.querySelector(`#pref-${key}`).checked]));
      try {
        if (changes.desktop_notification) {
          const answer = await this.askPermission();
          permission.textContent = permissionText();
          if (answer === "denied") toast(t("prefs.permission_denied"), "error");
        }
        await this.save(changes);
        dlg.close();
        toast(t("prefs.saved"));
      } catch (err) {
        problem.textContent = err.message;
      }
    });
  }

  // A one-time invitation to allow desktop notifications (the browser asks only on a click).
  invitation() {
    if (!this.prefs.desktop_notification || !("Notification" in window) || Notification.permission !== "default") return null;
    const note = h("div", { class: "notice notice-info", id: "notify-invite", role: "status" },
      t("attention.invite"),
      h("button", { class: "btn btn-primary btn-sm", type: "button", onclick: async () => {
        await this.askPermission();
        note.remove();
      } }, t("attention.invite.allow")),
      h("button", { class: "btn-link", type: "button", onclick: () => note.remove() }, t("common.not_now")));
    return note;
  }
}

function permissionText() {
  if (!("Notification" in window)) return t("prefs.permission.unsupported");
  return t(`prefs.permission.${Notification.permission}`);
}

// The brand mark with a red count in the corner, as a PNG data URL.
function badge(n) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = ICON_SIZE;
  const g = canvas.getContext("2d");
  g.fillStyle = "#2a52c9";
  g.beginPath();
  g.moveTo(32, 4); g.lineTo(60, 32); g.lineTo(32, 60); g.lineTo(4, 32); g.closePath();
  g.fill();
  g.fillStyle = "#d92d20";
  g.beginPath();
  g.arc(44, 20, 19, 0, Math.PI * 2);
  g.fill();
  g.fillStyle = "#ffffff";
  g.font = "bold 26px system-ui, sans-serif";
  g.textAlign = "center";
  g.textBaseline = "middle";
  g.fillText(n > 9 ? "9+" : String(n), 44, 21);
  return canvas.toDataURL("image/png");
}
