// The agent workspace: sign-in, presence, offers, my work and the conversation panel.
import { api, ApiError, setCsrf } from "./api.js";
import { h, clear, toast } from "./dom.js";
import { Feed } from "./feed.js";
import { renderSignIn } from "./signin.js";
import { Inbox } from "./inbox.js";
import { WorkList } from "./worklist.js";
import { Conversation } from "./conversation.js";
import { state, setCatalog, fetchDocument } from "./store.js";
import { dock } from "./panels.js";
import { Attention } from "./attention.js";
import { AwayNotice } from "./away.js";
import { bindShortcuts, showHelp } from "./shortcuts.js";
import { openedItem, showItem } from "./route.js";
import { t, tn, loadLanguage } from "./i18n.js";
import { isOpen } from "./worklist.js";
import { icon } from "./icons.js";
import { searchButton } from "./search.js";

const root = document.getElementById("app");


async function boot() {
  await loadLanguage();
  try {
    await start(await api("GET", "/workspace/bootstrap"));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) renderSignIn(root, signedIn);
    else showFatal(err);
  } finally {
    root.removeAttribute("aria-busy");
  }
}

async function signedIn(session) {
  setCsrf(session.csrf_token);
  try {
    await start(await api("GET", "/workspace/bootstrap"));
  } catch (err) {
    showFatal(err);
  }
}

function showFatal(err) {
  clear(root).append(h("main", { class: "signin", id: "main" },
    h("div", { class: "signin-card" }, h("h1", {}, t("app.fatal")),
      h("p", {}, err.message || String(err)),
      h("button", { class: "btn btn-primary", onclick: () => location.reload() }, t("common.try_again")))));
}

// Start-up state comes in one call (GET /workspace/bootstrap); then the feed makes it live.
async function start(boot) {
  const session = boot.session;
  setCsrf(session.csrf_token);
  state.me = session;
  setCatalog(boot.catalog);
  state.presence = boot.presence;
  const attention = new Attention({ me: session, preferences: boot.preferences });
  const layout = renderLayout(attention);
  const away = new AwayNotice(layout.notices, { setPresence });
  const conversation = new Conversation(layout.main, { me: session });
  const worklist = new WorkList(layout.work, { me: session, onSelect: (doc) => { showItem(doc); conversation.show(doc); } });
  const inbox = new Inbox(layout.offers, {
    me: session,
    // Adding selects it, which opens it in the conversation panel.
    onAccepted: (offer) => worklist.add(offer.document_type, offer.document_id),
    // Auto-accepted work joins the work list; display_option card_and_tab opens it at once.
    onAssigned: (offer, openTab) => worklist.add(offer.document_type, offer.document_id, { select: openTab }),
    onOpen: (offer) => worklist.select(offer.document_id),
    onOffered: (offer, details) => attention.offered(offer, details),
    onEnded: (offerId) => attention.ended(offerId),
  });
  conversation.onClosed = (docId) => { worklist.remove(docId); showItem(null); };
  document.querySelector(".topbar-right")?.prepend(searchButton((target) => conversation.openRef(target)));
  conversation.onChanged = (doc) => worklist.update(doc);
  worklist.load([...boot.interactions.map((d) => ({ ...d, document_type: "interaction" })),
    ...boot.cases.map((d) => ({ ...d, document_type: "case" }))]);
  await reopen(worklist);
  window.addEventListener("hashchange", () => reopen(worklist));
  dock.mount(layout.panels, session);
  const invite = attention.invitation();
  if (invite) layout.notices.append(invite);
  const feed = new Feed(session.agent_id, {
    onHello: (hello) => {
      applyPresence(hello);
      inbox.sync(hello.offers);
      attention.sync(hello.offers.map((o) => o.id));
    },
    onEvent: (frame) => {
      if (frame.type === "presence.changed") {
        applyPresence(frame.data);
        away.changed(frame.data);
      }
      inbox.handle(frame);
      worklist.handle(frame);
      conversation.handle(frame);
      dock.handle(frame);
    },
    onStatus: (status) => setConnection(status),
    onResumed: (missed) => announceMissed(missed),
  });
  feed.start();
  bindShortcuts({ inbox, worklist, conversation });
  window.addEventListener("beforeunload", () => feed.stop());
  window.omniroute = { state, feed, attention };
}

// The conversation the address names: one of the agent's open items, or fetched if it is theirs.
async function reopen(worklist) {
  const named = openedItem();
  if (!named || worklist.selected === named.id) return;
  if (worklist.docs.has(named.id)) { worklist.select(named.id); return; }
  try {
    const doc = await fetchDocument(named.type, named.id, { fresh: true });
    if (doc.agent_id === state.me.agent_id && isOpen(doc)) await worklist.add(named.type, named.id);
    else { showItem(null); toast(t("app.not_yours")); }
  } catch {
    showItem(null);
    toast(t("app.not_found"), "error");
  }
}

function renderLayout(attention) {
  const offers = h("section", { class: "pane offers-pane", "aria-labelledby": "offers-title" });
  const notices = h("div", { class: "notices", "aria-live": "polite" });
  const work = h("section", { class: "pane work-pane", "aria-labelledby": "work-title" });
  const panels = h("section", { class: "pane panels-pane", "aria-label": t("app.contact_center"), hidden: true });
  const main = h("main", { class: "conversation", id: "main", tabindex: "-1" });
  clear(root).append(
    h("header", { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), h("span", { class: "brand-name" }, "Omniroute")),
      h("div", { class: "topbar-middle" }, presenceControl()),
      h("div", { class: "topbar-right" },
        h("span", { id: "connection", class: "conn conn-connecting", role: "status" }, t("conn.connecting")),
        state.me.supervisor ? h("a", { class: "btn btn-ghost hide-narrow", href: "/supervisor" }, t("app.supervisor_view")) : null,
        h("span", { class: "me hide-narrow", title: state.me.email }, state.me.name),
        h("button", { class: "btn btn-ghost btn-icon", type: "button", id: "open-prefs", "aria-label": t("prefs.title"), title: t("prefs.title"),
          onclick: () => attention.openSettings() }, icon("bell")),
        h("button", { class: "btn btn-ghost btn-icon", type: "button", id: "open-keys", "aria-label": t("keys.title"), title: `${t("keys.title")} (?)`,
          onclick: () => showHelp() }, icon("keyboard")),
        h("button", { class: "btn btn-ghost", type: "button", id: "sign-out", onclick: signOut }, t("app.sign_out")),
      ),
    ),
    h("div", { class: "shell" },
      h("aside", { class: "sidebar", "aria-label": t("app.sidebar") }, notices, offers, work, panels),
      main,
    ),
  );
  return { offers, work, main, panels, notices };
}

function presenceControl() {
  const select = h("select", { id: "presence-select", class: "presence-select", "aria-label": t("app.presence") },
    state.catalog.presence.map((p) => h("option", { value: p.id }, p.name)));
  select.value = state.presence.presence_id;
  select.addEventListener("change", () => setPresence({ presence_id: select.value }));
  const dot = h("span", { id: "presence-dot", class: "presence-dot", "aria-hidden": "true" });
  const channels = h("fieldset", { class: "channel-toggles" },
    h("legend", { class: "sr-only" }, t("app.channels_legend")),
    state.catalog.channels.map((c) => {
      const box = h("input", { type: "checkbox", id: `avail-${c.id}`, "data-channel": c.id });
      box.checked = state.presence.channel_available?.[c.id] !== false;
      box.addEventListener("change", () => setPresence({ channel_available: { [c.id]: box.checked } }));
      return h("label", { class: "toggle", for: `avail-${c.id}` }, box, h("span", {}, c.name));
    }),
  );
  const wrap = h("div", { class: "presence" }, dot, select, channels);
  queueMicrotask(paintPresence);
  return wrap;
}

async function setPresence(change) {
  try {
    state.presence = await api("PUT", `/agents/${encodeURIComponent(state.me.agent_id)}/presence`, change);
    paintPresence();
  } catch (err) {
    toast(t("app.presence_failed", { error: err.message }), "error");
    paintPresence();
  }
}

function applyPresence(data) {
  state.presence = { ...state.presence, presence_id: data.presence_id, channel_available: data.channel_available };
  const p = state.catalog.presence.find((x) => x.id === data.presence_id);
  if (p) state.presence.is_available = p.is_available;
  paintPresence();
}

function paintPresence() {
  const select = document.getElementById("presence-select");
  if (!select || !state.presence) return;
  select.value = state.presence.presence_id;
  const available = state.catalog.presence.find((p) => p.id === state.presence.presence_id)?.is_available;
  document.getElementById("presence-dot").className = `presence-dot ${available ? "on" : "off"}`;
  for (const box of document.querySelectorAll(".channel-toggles input")) {
    box.checked = state.presence.channel_available?.[box.dataset.channel] !== false;
    box.disabled = !available;
  }
}

function setConnection(status) {
  state.connection = status;
  const el = document.getElementById("connection");
  if (!el) return;
  el.textContent = t(`conn.${status}`);
  el.className = `conn conn-${status}`;
  if (status === "signed-out") {
    toast(t("conn.session_ended"), "error");
    setTimeout(() => location.reload(), 1500);
  }
}

const MISSED = new Set(["offer.created", "offer.ended", "chat.message", "document.changed", "transfer.changed",
  "presence.changed", "work_item.closed", "email.received"]);

function announceMissed(missed) {
  if (!missed.length) {
    toast(t("missed.nothing"));
    return;
  }
  const counts = new Map();
  for (const f of missed) {
    counts.set(f.type, (counts.get(f.type) || 0) + 1);
  }
  const parts = [...counts].map(([type, n]) => (MISSED.has(type) ? tn(`missed.${type}`, n) : `${n} ${type}`));
  const banner = document.getElementById("missed-banner");
  const text = t("missed.summary", { parts: parts.join(", ") });
  if (banner) banner.remove();
  document.querySelector(".offers-pane")?.prepend(
    h("div", { id: "missed-banner", class: "notice notice-info", role: "status" }, text,
      h("button", { class: "btn-link", type: "button", onclick: (e) => e.target.parentElement.remove() }, t("common.dismiss"))));
}

async function signOut() {
  try { await api("DELETE", "/session"); } catch { /* the session may be gone already */ }
  location.reload();
}

boot();
