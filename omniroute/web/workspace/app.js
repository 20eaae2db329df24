// The agent workspace: sign-in, presence, offers, my work and the conversation panel.
import { api, ApiError, setCsrf } from "./api.js";
import { h, clear, toast } from "./dom.js";
import { Feed } from "./feed.js";
import { renderSignIn } from "./signin.js";
import { Inbox } from "./inbox.js";
import { WorkList } from "./worklist.js";
import { Conversation } from "./conversation.js";
import { state, loadCatalog } from "./store.js";
import { dock } from "./panels.js";
import { searchButton } from "./search.js";

const root = document.getElementById("app");


async function boot() {
  try {
    const session = await api("GET", "/session");
    setCsrf(session.csrf_token);
    await start(session);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) renderSignIn(root, start);
    else showFatal(err);
  } finally {
    root.removeAttribute("aria-busy");
  }
}

function showFatal(err) {
  clear(root).append(h("main", { class: "signin", id: "main" },
    h("div", { class: "signin-card" }, h("h1", {}, "The workspace could not start"),
      h("p", {}, err.message || String(err)),
      h("button", { class: "btn btn-primary", onclick: () => location.reload() }, "Try again"))));
}

async function start(session) {
  state.me = session;
  await loadCatalog();
  state.presence = await api("GET", `/agents/${encodeURIComponent(session.agent_id)}/presence`);
  const layout = renderLayout();
  const conversation = new Conversation(layout.main, { me: session });
  const worklist = new WorkList(layout.work, { me: session, onSelect: (doc) => conversation.show(doc) });
  const inbox = new Inbox(layout.offers, {
    me: session,
    // Adding selects it, which opens it in the conversation panel.
    onAccepted: (offer) => worklist.add(offer.document_type, offer.document_id),
  });
  conversation.onClosed = (docId) => worklist.remove(docId);
  document.querySelector(".topbar-right")?.prepend(searchButton((target) => conversation.openRef(target)));
  conversation.onChanged = (doc) => worklist.update(doc);
  await worklist.load();
  dock.mount(layout.panels, session);
  const feed = new Feed(session.agent_id, {
    onHello: (hello) => {
      applyPresence(hello);
      inbox.sync(hello.offers);
    },
    onEvent: (frame) => {
      if (frame.type === "presence.changed") applyPresence(frame.data);
      inbox.handle(frame);
      worklist.handle(frame);
      conversation.handle(frame);
      dock.handle(frame);
    },
    onStatus: (status) => setConnection(status),
    onResumed: (missed) => announceMissed(missed),
  });
  feed.start();
  window.addEventListener("beforeunload", () => feed.stop());
  window.omniroute = { state, feed };
}

function renderLayout() {
  const offers = h("section", { class: "pane offers-pane", "aria-labelledby": "offers-title" });
  const work = h("section", { class: "pane work-pane", "aria-labelledby": "work-title" });
  const panels = h("section", { class: "pane panels-pane", "aria-label": "Contact center", hidden: true });
  const main = h("main", { class: "conversation", id: "main", tabindex: "-1" });
  clear(root).append(
    h("header", { class: "topbar" },
      h("div", { class: "brand" }, h("span", { class: "brand-mark", "aria-hidden": "true" }, "◆"), "Omniroute"),
      h("div", { class: "topbar-middle" }, presenceControl()),
      h("div", { class: "topbar-right" },
        h("span", { id: "connection", class: "conn conn-connecting", role: "status" }, "Connecting…"),
        state.me.supervisor ? h("a", { class: "btn btn-ghost", href: "/supervisor" }, "Supervisor view") : null,
        h("span", { class: "me", title: state.me.email }, state.me.name),
        h("button", { class: "btn btn-ghost", type: "button", onclick: signOut }, "Sign out"),
      ),
    ),
    h("div", { class: "shell" },
      h("aside", { class: "sidebar", "aria-label": "Offers and my work" }, offers, work, panels),
      main,
    ),
  );
  return { offers, work, main, panels };
}

function presenceControl() {
  const select = h("select", { id: "presence-select", class: "presence-select", "aria-label": "Presence" },
    state.catalog.presence.map((p) => h("option", { value: p.id }, p.name)));
  select.value = state.presence.presence_id;
  select.addEventListener("change", () => setPresence({ presence_id: select.value }));
  const dot = h("span", { id: "presence-dot", class: "presence-dot", "aria-hidden": "true" });
  const channels = h("fieldset", { class: "channel-toggles" },
    h("legend", { class: "sr-only" }, "Channels you take work on"),
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
    toast(`Presence not changed: ${err.message}`, "error");
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
  const labels = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", "signed-out": "Signed out" };
  el.textContent = labels[status] || status;
  el.className = `conn conn-${status}`;
  if (status === "signed-out") {
    toast("Your session ended. Sign in again.", "error");
    setTimeout(() => location.reload(), 1500);
  }
}

const MISSED_LABELS = {
  "offer.created": ["new offer", "new offers"], "offer.ended": ["ended offer", "ended offers"],
  "chat.message": ["new message", "new messages"], "document.changed": ["conversation change", "conversation changes"],
  "transfer.changed": ["transfer update", "transfer updates"], "presence.changed": ["presence change", "presence changes"],
  "work_item.closed": ["closed work item", "closed work items"],
};

function announceMissed(missed) {
  if (!missed.length) {
    toast("Reconnected. You missed nothing.");
    return;
  }
  const counts = new Map();
  for (const f of missed) {
    counts.set(f.type, (counts.get(f.type) || 0) + 1);
  }
  const parts = [...counts].map(([type, n]) => {
    const [one, many] = MISSED_LABELS[type] || [type, type];
    return `${n} ${n === 1 ? one : many}`;
  });
  const banner = document.getElementById("missed-banner");
  const text = `Reconnected. While you were away: ${parts.join(", ")}.`;
  if (banner) banner.remove();
  document.querySelector(".offers-pane")?.prepend(
    h("div", { id: "missed-banner", class: "notice notice-info", role: "status" }, text,
      h("button", { class: "btn-link", type: "button", onclick: (e) => e.target.parentElement.remove() }, "Dismiss")));
}

async function signOut() {
  try { await api("DELETE", "/session"); } catch { /* the session may be gone already */ }
  location.reload();
}

boot();
