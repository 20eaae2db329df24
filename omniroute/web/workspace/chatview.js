// Live chat with the customer: the transcript, typing, delivery ticks and the composer.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, timeOf, toast } from "./dom.js";
import { attachSlashMenu, cannedButton } from "./canned.js";
import { attachButton, attachmentLinks, uploadFile } from "./attach.js";
import { loadNotes, noteForm } from "./notes.js";

const TYPING_SHOWN_MS = 4000;
const TYPING_SENT_EVERY_MS = 2500;

export class ChatView {
  constructor(el, doc, { me, active }) {
    this.doc = doc;
    this.me = me;
    this.messages = new Map();
    // Receipts can arrive on the feed before the POST that sent the message has answered.
    this.delivered = new Map();
    this.log = h("ol", { class: "transcript", "aria-label": t("chat.transcript"), "aria-live": "polite" });
    this.typing = h("p", { class: "typing", "aria-live": "polite" });
    this.input = h("textarea", { id: "chat-input", rows: "2", placeholder: t("chat.placeholder"), "aria-label": t("chat.input_label"), maxlength: "10000" });
    this.send = h("button", { class: "btn btn-primary", type: "submit" }, t("chat.send"));
    this.form = h("form", { class: "composer" }, attachSlashMenu(this.input, doc), this.input,
      h("div", { class: "composer-tools" }, attachButton((files) => this.sendFiles(files), "chat-file"), cannedButton(this.input, doc)),
      this.send);
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.submit(); });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); this.submit(); }
    });
    this.input.addEventListener("input", () => this.typed());
    el.append(this.log, this.typing, active ? this.form : h("p", { class: "muted" }, t("chat.ended")),
      noteForm(this.log, doc));
    this.noteList = this.log;
    // When the panel shrinks (wrap-up opens below, the window narrows), the newest messages stay
    // in view unless the agent scrolled up to read older ones.
    this.pinned = true;
    this.log.addEventListener("scroll", () => {
      this.pinned = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 24;
    });
    new ResizeObserver(() => { if (this.pinned) this.toBottom(); }).observe(this.log);
    this.load().then(() => loadNotes(this.log, doc));
  }

  async load() {
    try {
      const page = await api("GET", `/interactions/${encodeURIComponent(this.doc.id)}/messages`);
      for (const m of page.items) this.add(m);
    } catch (err) {
      this.log.append(h("li", { class: "msg msg-system" }, t("chat.load_failed", { error: err.message })));
    }
  }

  add(message) {
    const existing = this.messages.get(message.id);
    if (existing) { this.paintTicks(existing, message); return; }
    const mine = message.sender === "agent";
    const ticks = h("span", { class: "ticks", "aria-label": "" });
    const row = h("li", { class: `msg msg-${message.sender}${mine && message.agent_id !== this.me.agent_id ? " msg-colleague" : ""}`, "data-id": message.id, "data-at": message.created_at },
      message.sender === "system" ? null : h("span", { class: "msg-author" }, message.author_name || (mine ? t("chat.agent") : t("chat.customer"))),
      message.body ? h("div", { class: "msg-body" }, message.body) : null,
      attachmentLinks(message.attachments),
      h("span", { class: "msg-meta" }, timeOf(message.created_at), mine ? ticks : null));
    this.messages.set(message.id, row);
    this.paintTicks(row, message);
    this.log.append(row);
    this.toBottom();
    if (message.sender === "customer") this.typing.textContent = "";
  }

  paintTicks(row, message) {
    const ticks = row.querySelector(".ticks");
    if (!ticks) return;
    const delivered = Boolean(message.delivered_at || this.delivered.has(row.dataset.id)) || ticks.classList.contains("delivered");
    ticks.textContent = delivered ? "✓✓" : "✓";
    ticks.setAttribute("aria-label", delivered ? "delivered" : "sent");
    ticks.classList.toggle("delivered", delivered);
  }

  handle(frame) {
    const d = frame.data || {};
    if (d.interaction_id !== this.doc.id) return;
    if (frame.type === "chat.message") this.add(d.message);
    else if (frame.type === "chat.delivered") {
      const row = this.messages.get(d.message_id);
      if (row) this.paintTicks(row, { delivered_at: d.delivered_at });
    } else if (frame.type === "chat.typing" && d.sender === "customer") {
      this.typing.textContent = t("chat.typing", { name: this.doc.customer_name || t("chat.the_customer") });
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => { this.typing.textContent = ""; }, TYPING_SHOWN_MS);
    }
  }

  typed() {
    const now = Date.now();
    if (this.lastTyping && now - this.lastTyping < TYPING_SENT_EVERY_MS) return;
    this.lastTyping = now;
    api("POST", `/interactions/${encodeURIComponent(this.doc.id)}/typing`).catch(() => {});
  }

  async submit() {
    const body = this.input.value.trim();
    if (!body) return;
    this.send.disabled = true;
    try {
      const message = await api("POST", `/interactions/${encodeURIComponent(this.doc.id)}/messages`, { body });
      this.add(message);
      this.input.value = "";
      this.lastTyping = 0;
    } catch (err) {
      toast(t("chat.not_sent", { error: err.message }), "error");
    } finally {
      this.send.disabled = false;
      this.input.focus();
    }
  }

  async sendFiles(files) {
    for (const file of files) {
      try {
        const stored = await uploadFile(this.doc.id, file);
        const message = await api("POST", `/interactions/${encodeURIComponent(this.doc.id)}/messages`, { attachment_ids: [stored.id] });
        this.add(message);
      } catch (err) {
        toast(t("files.not_sent", { name: file.name, error: err.message }), "error");
      }
    }
  }

  focusComposer(prefix = "") {
    if (!this.form.isConnected) return false;
    this.input.focus();
    if (prefix && !this.input.value) { this.input.value = prefix; this.input.dispatchEvent(new Event("input", { bubbles: true })); }
    return true;
  }

  toBottom() {
    this.log.scrollTop = this.log.scrollHeight;
    this.pinned = true;
  }

  disable() {
    this.form.replaceWith(h("p", { class: "muted" }, t("chat.ended")));
  }
}
