/* Omniroute web chat widget: one <script data-widget="..."> tag adds a launcher and a chat panel.
   Everything lives in a Shadow DOM, so the host page's CSS cannot reach it. */
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || !script.dataset.widget) return;
  const widgetId = script.dataset.widget;
  const origin = new URL(script.src, location.href).origin;
  const api = `${origin}/api/v1`;
  const storeKey = `omniroute-chat:${widgetId}`;
  // The customer's name and email, kept for the next chat in this browser tab.
  const profileKey = `omniroute-chat-profile:${widgetId}`;
  // Reconnect quickly after a restart: 0.5 s doubling, never more than 5 s between tries.
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 5000;
  const TYPING_EVERY_MS = 2000;
  const TYPING_SHOWN_MS = 4000;

  const css = `
:host { all: initial; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.root { font-family: var(--font); color: var(--ink); font-size: 15px; line-height: 1.45; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
button, input, textarea { font: inherit; color: inherit; }
:focus-visible { outline: none; box-shadow: var(--focus); }
.launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; display: inline-flex; align-items: center;
  gap: var(--s2); border: 0; border-radius: 999px; padding: 12px 20px 12px 16px; background: var(--accent); color: var(--accent-ink);
  font-weight: 600; cursor: pointer; box-shadow: 0 6px 20px rgba(16, 24, 40, .25); }
.launcher svg { width: 22px; height: 22px; }
.launcher:focus-visible { box-shadow: 0 0 0 3px #fff, 0 0 0 6px var(--accent); }
.panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; width: min(380px, calc(100vw - 24px));
  height: min(600px, calc(100vh - 110px)); display: flex; flex-direction: column; background: var(--panel);
  border: 1px solid var(--line); border-radius: 14px; box-shadow: 0 12px 40px rgba(16, 24, 40, .28); overflow: hidden; }
.panel[hidden] { display: none; }
header { background: var(--accent); color: var(--accent-ink); padding: var(--s4); display: flex; gap: var(--s3); align-items: flex-start; }
header .who { flex: 1; min-width: 0; }
header h2 { margin: 0; font-size: 17px; }
header .status { margin: 2px 0 0; font-size: 13px; opacity: .95; }
.icon-btn { border: 0; background: transparent; color: inherit; border-radius: var(--radius); width: 32px; height: 32px;
  display: inline-grid; place-items: center; cursor: pointer; font-size: 20px; line-height: 1; }
.pill { border: 1px solid currentColor; background: transparent; color: inherit; border-radius: 999px; padding: 4px 12px;
  font-size: 13px; font-weight: 600; cursor: pointer; }
.pill:focus-visible { box-shadow: 0 0 0 3px var(--accent-ink); }
.icon-btn:hover { background: rgba(255, 255, 255, .18); }
.icon-btn:focus-visible { box-shadow: 0 0 0 3px var(--accent-ink); }
.view { flex: 1; display: flex; flex-direction: column; min-height: 0; }
.view[hidden] { display: none; }
form.prechat { padding: var(--s4); overflow: auto; display: flex; flex-direction: column; gap: var(--s3); }
.greeting { margin: 0 0 var(--s1); padding: var(--s3); background: var(--bg); border-radius: var(--radius); }
label { display: block; font-weight: 600; font-size: 14px; margin-bottom: var(--s1); }
input, textarea { width: 100%; border: 1px solid #8a93a6; border-radius: var(--radius); padding: 9px 11px; background: #fff; }
textarea { resize: vertical; }
input[aria-invalid="true"], textarea[aria-invalid="true"] { border-color: var(--bad); }
.field-error { color: var(--bad); font-size: 13px; margin: var(--s1) 0 0; }
.primary { border: 0; border-radius: var(--radius); padding: 11px 16px; background: var(--accent); color: var(--accent-ink);
  font-weight: 600; cursor: pointer; }
.primary:disabled { opacity: .6; cursor: progress; }
.secondary { border: 1px solid var(--line); border-radius: var(--radius); padding: 8px 14px; background: var(--panel); cursor: pointer; font-weight: 600; }
.notice { margin: 0; padding: var(--s2) var(--s3); border-radius: var(--radius); background: var(--bad-soft); color: var(--bad); font-size: 14px; }
.notice:empty { display: none; }
.banner { margin: 0; padding: var(--s2) var(--s4); background: var(--warn-soft); color: var(--warn); font-size: 13px; }
.banner[hidden] { display: none; }
.banner { display: flex; gap: var(--s2); align-items: center; justify-content: space-between; }
.link { border: 0; background: none; color: inherit; font-weight: 700; text-decoration: underline; cursor: pointer; padding: 0; }
ol.log { list-style: none; margin: 0; padding: var(--s4); flex: 1; overflow-y: auto; display: flex; flex-direction: column; gap: var(--s2); background: var(--bg); }
.msg { max-width: 82%; display: flex; flex-direction: column; }
.msg .bubble { padding: 9px 12px; border-radius: 14px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg .meta { font-size: 12px; color: var(--muted); margin-top: 2px; }
.msg.agent { align-self: flex-start; }
.msg.agent .bubble { background: var(--panel); border: 1px solid var(--line); border-bottom-left-radius: 4px; }
.msg.customer { align-self: flex-end; align-items: flex-end; }
.msg.customer .bubble { background: var(--accent); color: var(--accent-ink); border-bottom-right-radius: 4px; }
.msg.customer.pending .bubble { opacity: .7; }
.msg.system { align-self: center; max-width: 100%; }
.msg.system .bubble { background: transparent; color: var(--muted); font-size: 13px; padding: 2px; text-align: center; }
.ticks { font-weight: 700; letter-spacing: -2px; margin-left: 4px; }
.ticks.delivered { color: var(--ok); }
.typing { margin: 0; padding: 4px var(--s4); font-size: 13px; color: var(--muted); background: var(--bg); min-height: 26px; }
form.composer { display: flex; gap: var(--s2); padding: var(--s3); border-top: 1px solid var(--line); align-items: flex-end; }
form.composer textarea { flex: 1; min-height: 42px; max-height: 120px; resize: none; }
form.composer .attach { padding: 8px 10px; min-width: 0; }
.files { list-style: none; margin: 4px 0 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }
.files button { background: var(--panel); border: 1px solid var(--line); border-radius: 999px; padding: 4px 10px; cursor: pointer; color: inherit; text-align: left; }
.ended { padding: var(--s4); border-top: 1px solid var(--line); text-align: center; display: flex; flex-direction: column; gap: var(--s2); align-items: center; }
.ended[hidden] { display: none; }
.ended p { margin: 0; font-weight: 600; }
.trap { position: absolute; left: -10000px; }
@media (prefers-reduced-motion: no-preference) { .panel { animation: rise .18s ease-out; } }
@keyframes rise { from { transform: translateY(12px); opacity: 0; } to { transform: none; opacity: 1; } }
`;

  const icon = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/></svg>';

  // The widget's words come from /chat/texts in the customer's language (English built in).
  let texts = {};
  let language = "en";
  const tr = (key, vars = {}) => (texts[key] || key).replace(/\{(\w+)\}/g, (w, n) => (n in vars ? String(vars[n]) : w));
  const esc = (text) => text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const html = () => `
<div class="root">
  <button class="launcher" type="button" aria-expanded="false" aria-controls="panel">${icon}<span class="launcher-text">${esc(tr("launcher"))}</span></button>
  <section class="panel" id="panel" role="dialog" aria-labelledby="title" hidden>
    <header>
      <div class="who">
        <h2 id="title"></h2>
        <p class="status" id="status" aria-live="polite"></p>
        <p class="sr-only sr-status" role="status"></p>
      </div>
      <button class="pill end-btn" type="button" hidden>${esc(tr("end_chat"))}</button>
      <button class="icon-btn close-btn" type="button" aria-label="${esc(tr("minimise"))}" title="${esc(tr("minimise.title"))}">&#x2013;</button>
    </header>
    <div class="view prechat-view">
      <form class="prechat" novalidate>
        <p class="greeting"></p>
        <p class="notice" role="alert"></p>
        <div><label for="name">${esc(tr("name"))}</label><input id="name" name="name" autocomplete="name" required maxlength="200"></div>
        <div><label for="email">${esc(tr("email"))}</label><input id="email" name="email" type="email" autocomplete="email" required maxlength="320"></div>
        <div><label for="question">${esc(tr("question"))}</label><textarea id="question" name="question" rows="3" required maxlength="4000"></textarea></div>
        <button class="primary" type="submit">${esc(tr("start"))}</button>
      </form>
    </div>
    <div class="view chat-view" hidden>
      <p class="banner" role="status" hidden><span class="banner-text"></span><button class="link retry-now" type="button" hidden>${esc(tr("reconnect.try"))}</button></p>
      <ol class="log" role="log" aria-live="polite" aria-label="${esc(tr("conversation"))}" tabindex="0"></ol>
      <p class="typing" aria-live="polite"></p>
      <form class="composer">
        <label class="sr-only" for="message">${esc(tr("message"))}</label>
        <input type="file" id="file" hidden>
        <button class="secondary attach" type="button" aria-label="${esc(tr("attach.label"))}" title="${esc(tr("attach.label"))}">${esc(tr("attach"))}</button>
        <textarea id="message" rows="1" maxlength="4000" placeholder="${esc(tr("message.placeholder"))}"></textarea>
        <button class="primary" type="submit">${esc(tr("send"))}</button>
      </form>
      <div class="ended" hidden>
        <p>${esc(tr("ended"))}</p>
        <button class="secondary new-chat" type="button">${esc(tr("new_chat"))}</button>
      </div>
    </div>
  </section>
</div>`;

  const host = document.createElement("div");
  host.id = `omniroute-chat-${widgetId}`;
  const shadow = host.attachShadow({ mode: "open" });
  const $ = (sel) => shadow.querySelector(sel);

  let settings = { title: "Chat", greeting: "", color: "#2a52c9" };
  let session = load();
  let ws = null;
  let retries = 0;
  let retryTimer = null;
  let ended = false;
  let agentName = null;
  let lastTyping = 0;
  let lastSeen = 0;
  let typingTimer = null;
  let countdown = null;
  const pending = new Map();
  const shown = new Map();

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "null"); } catch { return null; }
  }
  function save() {
    if (session) sessionStorage.setItem(storeKey, JSON.stringify(session));
    else sessionStorage.removeItem(storeKey);
  }

  function luminance(hex) {
    const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }
  function accentInk(hex) {
    // White text where it reaches 4.5:1 on the widget colour, dark ink otherwise.
    return (1.05 / (luminance(hex) + 0.05)) >= 4.5 ? "#ffffff" : "#1d2433";
  }

  async function tokens() {
    try {
      const r = await fetch(`${origin}/static/tokens.css`);
      return (await r.text()).replace(":root", ":host");
    } catch { return ""; }
  }

  function setStatus(text) { $("#status").textContent = text; }

  function open() {
    $(".panel").hidden = false;
    $(".launcher").setAttribute("aria-expanded", "true");
    const target = session ? (ended ? $(".new-chat") : $("#message")) : $("#name");
    target.focus();
    if (session && !ws && !ended) connect();
  }
  function close() {
    $(".panel").hidden = true;
    $(".launcher").setAttribute("aria-expanded", "false");
    $(".launcher").focus();
  }

  function showChat() {
    $(".prechat-view").hidden = true;
    $(".chat-view").hidden = false;
    $(".end-btn").hidden = ended;
  }
  function showForm(notice) {
    $(".chat-view").hidden = true;
    $(".prechat-view").hidden = false;
    $(".end-btn").hidden = true;
    $(".notice").textContent = notice || "";
    setStatus(openStatus());
  }

  // Whether support is open now, said in the customer's own time zone and language.
  function openStatus() {
    if (settings.open !== false) return tr("status.reply_time");
    if (!settings.next_change) return tr("status.closed");
    const at = new Date(settings.next_change);
    // The customer's own variant of the widget's language (en-GB writes 14:00, en-US 2:00 PM).
    const locale = (navigator.languages || []).find((l) => l.split("-")[0].toLowerCase() === language) || language;
    const when = at.toLocaleString(locale, { weekday: "short", hour: "2-digit", minute: "2-digit" });
    return tr("status.closed_until", { when });
  }

  function applyHours() {
    const closed = settings.open === false;
    $(".root").classList.toggle("closed", closed);
    const takes = closed && settings.takes_messages;
    $(".launcher-text").textContent = takes ? tr("offline.launcher") : tr("launcher");
    // The queue's own offline message wins; without one, the widget's words for it.
    if (closed && (settings.offline_message || takes)) $(".greeting").textContent = settings.offline_message || tr("offline.greeting");
    $(".prechat button[type=submit]").textContent = takes ? tr("offline.send") : tr("start");
  }

  async function leaveMessage(name, email, question, button) {
    const r = await fetch(`${api}/chat/offline-messages`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ widget: widgetId, name: name.value.trim(), email: email.value.trim(), question: question.value.trim() }),
    });
    const body = await r.json();
    if (!r.ok) {
      const field = body.error && body.error.field;
      const target = { name, email, question }[field];
      if (target) { fieldError(target, body.error.message); target.focus(); }
      else $(".notice").textContent = (body.error && body.error.message) || tr("offline.failed");
      return;
    }
    $(".prechat").reset();
    $(".notice").textContent = tr("offline.thanks");
    button.disabled = false;
  }

  function time(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function bubble(sender, body, author, meta) {
    const li = document.createElement("li");
    li.className = `msg ${sender}`;
    if (sender === "agent" && author) {
      const who = document.createElement("span");
      who.className = "sr-only";
      who.textContent = tr("says", { agent: author });
      li.append(who);
    }
    const b = document.createElement("div");
    b.className = "bubble";
    b.textContent = body;
    li.append(b);
    if (meta !== null) {
      const m = document.createElement("div");
      m.className = "meta";
      li.append(m);
    }
    $(".log").append(li);
    toBottom();
    return li;
  }

  function setMeta(li, message) {
    const meta = li.querySelector(".meta");
    if (!meta) return;
    meta.textContent = "";
    const parts = [];
    if (message.sender === "agent") parts.push(message.author_name);
    parts.push(time(message.created_at));
    meta.append(parts.join(" · "));
    if (message.sender === "customer") {
      const t = document.createElement("span");
      const delivered = Boolean(message.delivered_at);
      t.className = `ticks${delivered ? " delivered" : ""}`;
      t.textContent = delivered ? "✓✓" : "✓";
      t.setAttribute("role", "img");
      t.setAttribute("aria-label", tr(delivered ? "delivered" : "sent"));
      t.title = tr(delivered ? "delivered" : "sent");
      meta.append(t);
    }
  }

  function showMessage(message) {
    lastSeen = Math.max(lastSeen, message.id);
    if (shown.has(message.id)) return;
    let li = message.client_id ? pending.get(message.client_id)?.li : null;
    if (li) {
      pending.delete(message.client_id);
      li.classList.remove("pending");
    } else if (message.sender === "system") {
      li = bubble("system", message.body, null, null);
    } else {
      li = bubble(message.sender, message.body, message.author_name, "");
    }
    shown.set(message.id, { li, message });
    setMeta(li, message);
    showFiles(li, message);
    if (message.sender === "agent") hideTyping();
  }

  // Files come with the chat's token, so they are fetched and handed to the browser as a download.
  function showFiles(li, message) {
    if (!message.attachments?.length || li.querySelector(".files")) return;
    if (!message.body) li.querySelector(".bubble")?.remove();
    const list = document.createElement("ul");
    list.className = "files";
    for (const file of message.attachments) {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = `${file.filename} (${Math.max(1, Math.round(file.size / 1024))} KB)`;
      button.setAttribute("aria-label", tr("download", { name: file.filename }));
      button.addEventListener("click", () => download(file));
      item.append(button);
      list.append(item);
    }
    li.insertBefore(list, li.querySelector(".meta"));
  }

  async function download(file) {
    const r = await fetch(`${origin}/api/v1/chat/sessions/${encodeURIComponent(session.sessionId)}/attachments/${encodeURIComponent(file.id)}`,
      { headers: { Authorization: `Bearer ${session.token}` } });
    if (!r.ok) { systemLine(tr("file.download_failed")); return; }
    const url = URL.createObjectURL(await r.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = file.filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  async function sendFile(file) {
    if (!file || ended) return;
    const clientId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).slice(0, 64);
    const li = bubble("customer", file.name, null, "");
    li.classList.add("pending");
    li.querySelector(".meta").textContent = "Sending…";
    const url = `${origin}/api/v1/chat/sessions/${encodeURIComponent(session.sessionId)}/attachments`
      + `?filename=${encodeURIComponent(file.name)}&client_id=${encodeURIComponent(clientId.replace(/[^A-Za-z0-9_-]/g, ""))}`;
    try {
      const r = await fetch(url, { method: "POST", body: file,
        headers: { Authorization: `Bearer ${session.token}`, "Content-Type": file.type || "application/octet-stream" } });
      const body = await r.json().catch(() => ({}));
      li.remove();
      if (!r.ok) { systemLine(tr("file.failed", { name: file.name, reason: body.error?.message || r.statusText })); return; }
      showMessage(body);
    } catch {
      li.remove();
      systemLine(tr("file.failed", { name: file.name, reason: tr("file.offline") }));
    }
  }

  function delivered(id, at) {
    const entry = shown.get(id);
    if (!entry) return;
    entry.message.delivered_at = at;
    setMeta(entry.li, entry.message);
  }

  function systemLine(text) { bubble("system", text, null, null); }

  function hideTyping() {
    clearTimeout(typingTimer);
    $(".typing").textContent = "";
  }

  function showEnded() {
    ended = true;
    hideTyping();
    $(".composer").hidden = true;
    $(".ended").hidden = false;
    $(".end-btn").hidden = true;
    setBanner("");
    setStatus(tr("status.ended"));
    // The footer is taller than the composer: keep the last message above it.
    toBottom();
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        if (retries > 0) announce(tr("reconnected"));
        retries = 0;
        setBanner("");
        if (frame.state === "ended") { showEnded(); break; }
        agentName = frame.agent ? frame.agent.name : null;
        setStatus(agentName ? tr("status.chatting", { agent: agentName }) : tr("status.waiting"));
        for (const [clientId, p] of pending) send({ type: "message", body: p.body, client_id: clientId });
        break;
      case "message": showMessage(frame.message); break;
      case "delivered": delivered(frame.message_id, frame.delivered_at); break;
      case "agent_joined":
        agentName = frame.agent.name;
        setStatus(tr("status.chatting", { agent: agentName }));
        systemLine(tr("agent_joined", { agent: agentName }));
        break;
      case "typing":
        $(".typing").textContent = tr("typing", { agent: agentName || tr("the_agent") });
        clearTimeout(typingTimer);
        typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
        break;
      case "ended": showEnded(); break;
      case "error": setBanner(frame.message); break;
      default: break;
    }
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function connect() {
    clearTimeout(retryTimer);
    const url = `${origin.replace(/^http/, "ws")}${session.wsPath}`;
    const socket = new WebSocket(url);
    ws = socket;
    socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: session.token, since: lastSeen }));
    socket.onmessage = (event) => { try { onFrame(JSON.parse(event.data)); } catch { /* ignore a bad frame */ } };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      ws = null;
      if (event.code === 4401 || event.code === 4404) {
        session = null; save(); reset();
        showForm(tr("gone"));
        return;
      }
      if (ended) return;
      scheduleRetry();
    };
  }

  // Capped exponential backoff with jitter; the banner counts down and offers "Try now".
  function scheduleRetry() {
    const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** retries) * (0.75 + Math.random() / 4);
    retries += 1;
    const due = Date.now() + delay;
    clearInterval(countdown);
    const paint = () => {
      const left = Math.ceil((due - Date.now()) / 1000);
      setBanner(left > 0 ? tr("reconnect.in", { seconds: left }) : tr("reconnect.now"), true);
    };
    paint();
    countdown = setInterval(paint, 250);
    retryTimer = setTimeout(() => { clearInterval(countdown); connect(); }, delay);
  }

  function retryNow() {
    if (!session || ended || (ws && ws.readyState <= 1)) return;
    clearTimeout(retryTimer);
    clearInterval(countdown);
    setBanner(tr("reconnect.now"), false);
    connect();
  }

  function setBanner(text, offerRetry = false) {
    $(".banner-text").textContent = text;
    $(".banner").hidden = !text;
    $(".retry-now").hidden = !offerRetry;
    if (!text) clearInterval(countdown);
  }

  function announce(text) {
    $(".sr-status").textContent = text;
  }

  function toBottom() {
    const log = $(".log");
    log.scrollTop = log.scrollHeight;
  }

  function reset() {
    ended = false;
    agentName = null;
    lastSeen = 0;
    pending.clear();
    shown.clear();
    $(".log").textContent = "";
    $(".composer").hidden = false;
    $(".ended").hidden = true;
    hideTyping();
  }

  function fieldError(input, message) {
    const id = `${input.id}-error`;
    let p = shadow.getElementById(id);
    if (!message) { input.removeAttribute("aria-invalid"); if (p) p.remove(); return; }
    if (!p) {
      p = document.createElement("p");
      p.className = "field-error";
      p.id = id;
      input.after(p);
    }
    p.textContent = message;
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
  }

  async function start(event) {
    event.preventDefault();
    const form = $(".prechat");
    const name = $("#name"), email = $("#email"), question = $("#question");
    fieldError(name, name.value.trim() ? "" : tr("error.name"));
    fieldError(email, /^[^@\s]+@[^@\s]+$/.test(email.value.trim()) ? "" : tr("error.email"));
    fieldError(question, question.value.trim() ? "" : tr("error.question"));
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) { invalid.focus(); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    $(".notice").textContent = "";
    if (settings.open === false && settings.takes_messages) {
      try { await leaveMessage(name, email, question, button); }
      catch { $(".notice").textContent = tr("error.network"); }
      finally { button.disabled = false; }
      return;
    }
    try {
      const r = await fetch(`${api}/chat/sessions`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ widget: widgetId, name: name.value.trim(), email: email.value.trim(), question: question.value.trim() }),
      });
      const body = await r.json();
      if (!r.ok) {
        const field = body.error && body.error.field;
        const target = { name, email, question }[field];
        if (target) { fieldError(target, body.error.message); target.focus(); }
        else $(".notice").textContent = (body.error && body.error.message) || tr("error.start");
        return;
      }
      session = { sessionId: body.session_id, token: body.token, wsPath: body.ws_path };
      save();
      saveProfile(name.value.trim(), email.value.trim());
      reset();
      question.value = "";
      showChat();
      setStatus(tr("status.waiting"));
      connect();
      $("#message").focus();
    } catch {
      $(".notice").textContent = tr("error.network");
    } finally {
      button.disabled = false;
    }
  }

  function sendMessage(event) {
    event.preventDefault();
    const input = $("#message");
    const body = input.value.trim();
    if (!body || ended) return;
    const clientId = (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`).slice(0, 64);
    const li = bubble("customer", body, null, "");
    li.classList.add("pending");
    li.querySelector(".meta").textContent = tr("sending");
    pending.set(clientId, { body, li });
    send({ type: "message", body, client_id: clientId });
    input.value = "";
    input.focus();
  }

  function typing() {
    const now = Date.now();
    if (now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    send({ type: "typing" });
  }

  function saveProfile(name, email) {
    try { localStorage.setItem(profileKey, JSON.stringify({ name, email })); } catch { /* private mode */ }
  }

  // A new chat starts with the name and email the customer gave last time.
  function fillProfile() {
    let profile = null;
    try { profile = JSON.parse(localStorage.getItem(profileKey) || "null"); } catch { profile = null; }
    if (!profile) return;
    if (!$("#name").value) $("#name").value = profile.name || "";
    if (!$("#email").value) $("#email").value = profile.email || "";
  }

  // The page may name the language (data-lang, or <html lang>); otherwise the browser's.
  function languages() {
    const chosen = script.dataset.lang || "";
    return [chosen, ...(navigator.languages || [navigator.language]), document.documentElement.lang || ""]
      .filter(Boolean).join(",");
  }

  async function loadTexts() {
    const r = await fetch(`${api}/chat/texts?languages=${encodeURIComponent(languages())}`);
    const body = await r.json();
    texts = body.texts;
    return body.language;
  }

  async function init() {
    try {
      const r = await fetch(`${api}/chat/widgets/${encodeURIComponent(widgetId)}`);
      if (!r.ok) return;
      settings = await r.json();
      language = await loadTexts();
    } catch { return; }
    const style = document.createElement("style");
    style.textContent = `${await tokens()}\n:host { --accent: ${settings.color}; --accent-ink: ${accentInk(settings.color)}; }\n${css}`;
    shadow.append(style);
    const wrap = document.createElement("div");
    wrap.innerHTML = html();
    shadow.append(wrap.firstElementChild);
    $(".root").setAttribute("lang", language);
    $("#title").textContent = settings.title;
    $(".greeting").textContent = settings.greeting || tr("greeting");
    applyHours();
    $(".launcher").setAttribute("aria-label", tr("launcher.label", { title: settings.title }));
    $(".retry-now").addEventListener("click", retryNow);
    window.addEventListener("online", retryNow);
    document.addEventListener("visibilitychange", () => { if (!document.hidden && retries > 0) retryNow(); });
    // Keep the newest message in view when the log shrinks (footer, keyboard, small screens).
    new ResizeObserver(toBottom).observe($(".log"));
    $(".launcher").addEventListener("click", () => ($(".panel").hidden ? open() : close()));
    $(".close-btn").addEventListener("click", close);
    $(".end-btn").addEventListener("click", () => { if (!send({ type: "end" })) showEnded(); });
    $(".new-chat").addEventListener("click", () => {
      if (ws) { const old = ws; ws = null; old.close(); }
      session = null; save(); reset(); showForm(""); fillProfile();
      ($("#name").value ? $("#question") : $("#name")).focus();
    });
    $(".prechat").addEventListener("submit", start);
    for (const input of $(".prechat").querySelectorAll("input, textarea")) {
      input.addEventListener("input", () => fieldError(input, ""));
    }
    $(".composer").addEventListener("submit", sendMessage);
    $(".attach").addEventListener("click", () => $("#file").click());
    $("#file").addEventListener("change", () => { const f = $("#file").files[0]; $("#file").value = ""; sendFile(f); });
    $("#message").addEventListener("input", typing);
    $("#message").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $(".composer").requestSubmit(); }
    });
    $(".panel").addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
    document.body.append(host);
    if (session) { showChat(); connect(); } else { showForm(""); fillProfile(); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
