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
  const RETRY_MAX_MS = 30000;
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
.banner:empty { display: none; }
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
.ended { padding: var(--s4); border-top: 1px solid var(--line); text-align: center; display: flex; flex-direction: column; gap: var(--s2); align-items: center; }
.ended[hidden] { display: none; }
.ended p { margin: 0; font-weight: 600; }
.trap { position: absolute; left: -10000px; }
@media (prefers-reduced-motion: no-preference) { .panel { animation: rise .18s ease-out; } }
@keyframes rise { from { transform: translateY(12px); opacity: 0; } to { transform: none; opacity: 1; } }
`;

  const icon = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path fill="currentColor" d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3zm5 0a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/></svg>';

  const html = `
<div class="root">
  <button class="launcher" type="button" aria-expanded="false" aria-controls="panel">${icon}<span class="launcher-text">Chat with us</span></button>
  <section class="panel" id="panel" role="dialog" aria-labelledby="title" hidden>
    <header>
      <div class="who">
        <h2 id="title"></h2>
        <p class="status" id="status" aria-live="polite"></p>
      </div>
      <button class="pill end-btn" type="button" hidden>End chat</button>
      <button class="icon-btn close-btn" type="button" aria-label="Minimise chat" title="Minimise">&#x2013;</button>
    </header>
    <div class="view prechat-view">
      <form class="prechat" novalidate>
        <p class="greeting"></p>
        <p class="notice" role="alert"></p>
        <div><label for="name">Your name</label><input id="name" name="name" autocomplete="name" required maxlength="200"></div>
        <div><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required maxlength="320"></div>
        <div><label for="question">How can we help?</label><textarea id="question" name="question" rows="3" required maxlength="4000"></textarea></div>
        <button class="primary" type="submit">Start chat</button>
      </form>
    </div>
    <div class="view chat-view" hidden>
      <p class="banner" role="status"></p>
      <ol class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></ol>
      <p class="typing" aria-live="polite"></p>
      <form class="composer">
        <label class="sr-only" for="message">Message</label>
        <textarea id="message" rows="1" maxlength="4000" placeholder="Write a message…"></textarea>
        <button class="primary" type="submit">Send</button>
      </form>
      <div class="ended" hidden>
        <p>This chat has ended.</p>
        <button class="secondary new-chat" type="button">Start a new chat</button>
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
    if (settings.open !== false) return "We usually reply within a few minutes";
    if (!settings.next_change) return "We're closed right now";
    const at = new Date(settings.next_change);
    const when = at.toLocaleString([], { weekday: "short", hour: "2-digit", minute: "2-digit" });
    return `We're closed right now · we open ${when}`;
  }

  function applyHours() {
    const closed = settings.open === false;
    $(".root").classList.toggle("closed", closed);
    $(".launcher-text").textContent = closed && settings.takes_messages ? "Leave us a message" : "Chat with us";
    if (closed && settings.offline_message) $(".greeting").textContent = settings.offline_message;
    $(".prechat button[type=submit]").textContent = closed && settings.takes_messages ? "Send message" : "Start chat";
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
      else $(".notice").textContent = (body.error && body.error.message) || "Your message could not be sent. Please try again.";
      return;
    }
    $(".prechat").reset();
    $(".notice").textContent = "Thank you — we have your message and will answer by email.";
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
      who.textContent = `${author} says: `;
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
    $(".log").scrollTop = $(".log").scrollHeight;
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
      t.setAttribute("aria-label", delivered ? "Delivered" : "Sent");
      t.title = delivered ? "Delivered" : "Sent";
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
    if (message.sender === "agent") hideTyping();
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
    $(".banner").textContent = "";
    setStatus("Chat ended");
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        retries = 0;
        $(".banner").textContent = "";
        if (frame.state === "ended") { showEnded(); break; }
        agentName = frame.agent ? frame.agent.name : null;
        setStatus(agentName ? `You're chatting with ${agentName}` : "Waiting for the next available agent…");
        for (const [clientId, p] of pending) send({ type: "message", body: p.body, client_id: clientId });
        break;
      case "message": showMessage(frame.message); break;
      case "delivered": delivered(frame.message_id, frame.delivered_at); break;
      case "agent_joined":
        agentName = frame.agent.name;
        setStatus(`You're chatting with ${agentName}`);
        systemLine(`${agentName} joined the chat`);
        break;
      case "typing":
        $(".typing").textContent = `${agentName || "The agent"} is typing…`;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
        break;
      case "ended": showEnded(); break;
      case "error": $(".banner").textContent = frame.message; break;
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
        showForm("That chat is no longer available. Start a new one below.");
        return;
      }
      if (ended) return;
      const delay = Math.min(RETRY_MAX_MS, 1000 * 2 ** retries) * (0.5 + Math.random() / 2);
      retries += 1;
      $(".banner").textContent = `Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s…`;
      retryTimer = setTimeout(connect, delay);
    };
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
    fieldError(name, name.value.trim() ? "" : "Enter your name.");
    fieldError(email, /^[^@\s]+@[^@\s]+$/.test(email.value.trim()) ? "" : "Enter an email address like name@example.com.");
    fieldError(question, question.value.trim() ? "" : "Tell us what you need help with.");
    const invalid = form.querySelector('[aria-invalid="true"]');
    if (invalid) { invalid.focus(); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    $(".notice").textContent = "";
    if (settings.open === false && settings.takes_messages) {
      try { await leaveMessage(name, email, question, button); }
      catch { $(".notice").textContent = "We could not reach the service. Check your connection and try again."; }
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
        else $(".notice").textContent = (body.error && body.error.message) || "The chat could not start. Please try again.";
        return;
      }
      session = { sessionId: body.session_id, token: body.token, wsPath: body.ws_path };
      save();
      reset();
      form.reset();
      showChat();
      setStatus("Waiting for the next available agent…");
      connect();
      $("#message").focus();
    } catch {
      $(".notice").textContent = "We could not reach the chat service. Check your connection and try again.";
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
    li.querySelector(".meta").textContent = "Sending…";
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

  async function init() {
    try {
      const r = await fetch(`${api}/chat/widgets/${encodeURIComponent(widgetId)}`);
      if (!r.ok) return;
      settings = await r.json();
    } catch { return; }
    const style = document.createElement("style");
    style.textContent = `${await tokens()}\n:host { --accent: ${settings.color}; --accent-ink: ${accentInk(settings.color)}; }\n${css}`;
    shadow.append(style);
    const wrap = document.createElement("div");
    wrap.innerHTML = html;
    shadow.append(wrap.firstElementChild);
    $("#title").textContent = settings.title;
    $(".greeting").textContent = settings.greeting || "Ask us anything — we're happy to help.";
    applyHours();
    $(".launcher").setAttribute("aria-label", `Chat with us: ${settings.title}`);
    $(".launcher").addEventListener("click", () => ($(".panel").hidden ? open() : close()));
    $(".close-btn").addEventListener("click", close);
    $(".end-btn").addEventListener("click", () => { if (!send({ type: "end" })) showEnded(); });
    $(".new-chat").addEventListener("click", () => {
      if (ws) { const old = ws; ws = null; old.close(); }
      session = null; save(); reset(); showForm(""); $("#name").focus();
    });
    $(".prechat").addEventListener("submit", start);
    for (const input of $(".prechat").querySelectorAll("input, textarea")) {
      input.addEventListener("input", () => fieldError(input, ""));
    }
    $(".composer").addEventListener("submit", sendMessage);
    $("#message").addEventListener("input", typing);
    $("#message").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $(".composer").requestSubmit(); }
    });
    $(".panel").addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
    document.body.append(host);
    if (session) { showChat(); connect(); } else { showForm(""); }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
