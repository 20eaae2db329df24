// An email thread with a reply box.
import { api } from "./api.js";
import { h, dateTimeOf, toast } from "./dom.js";
import { attachSlashMenu, cannedButton } from "./canned.js";
import { attachButton, PendingFiles } from "./attach.js";
import { loadNotes, noteForm } from "./notes.js";
import { t } from "./i18n.js";

export class EmailView {
  constructor(el, doc, { active }) {
    this.doc = doc;
    this.seen = null;
    this.unread = new Set();
    this.thread = h("ol", { class: "thread", "aria-label": "Email thread", "aria-live": "polite" });
    this.input = h("textarea", { id: "email-reply", rows: "6", maxlength: "1000000" });
    this.send = h("button", { class: "btn btn-primary", type: "submit" }, "Send reply");
    this.pending = new PendingFiles(doc.id);
    const form = h("form", { class: "composer composer-email" },
      h("label", { for: "email-reply", class: "composer-label" }, `Reply to ${doc.customer_email || "the customer"}`),
      attachSlashMenu(this.input, doc), this.input, this.pending.chips,
      h("div", { class: "composer-actions" }, attachButton((files) => this.pending.add(files), "email-file"), cannedButton(this.input, doc), this.send));
    form.addEventListener("submit", (ev) => { ev.preventDefault(); this.reply(); });
    this.input.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.reply(); }
    });
    this.input.addEventListener("focus", () => this.markRead());
    // Clicking a message in the thread is reading it, as focusing the reply box is.
    this.thread.addEventListener("click", () => this.markRead());
    this.form = form;
    el.append(this.thread, active ? form : null, noteForm(this.thread, doc));
    this.noteList = this.thread;
    this.load();
  }

  async load() {
    try {
      const messages = await api("GET", `/interactions/${encodeURIComponent(this.doc.id)}/emails`);
      // Messages that came in after the first load are new to the agent until read.
      if (this.seen) for (const m of messages) if (!this.seen.has(m.id) && m.direction === "in") this.unread.add(m.id);
      this.seen = new Set(messages.map((m) => m.id));
      this.thread.replaceChildren(...messages.map((m) => this.item(m)));
      await loadNotes(this.thread, this.doc);
      const first = this.thread.querySelector(".mail-unread");
      first?.scrollIntoView({ block: "nearest" });
    } catch (err) {
      this.thread.append(h("li", { class: "mail" }, `The thread could not be loaded: ${err.message}`));
    }
  }

  item(m) {
    const inbound = m.direction === "in";
    const unread = this.unread.has(m.id);
    return h("li", { class: `mail mail-${inbound ? "inbound" : "outbound"}${unread ? " mail-unread" : ""}`, "data-id": m.id, "data-at": m.received_at },
      h("div", { class: "mail-head" },
        unread ? h("span", { class: "pill pill-new" }, t("email.new")) : null,
        h("strong", {}, inbound ? m.from_address : "You"),
        h("span", { class: "muted small" }, `to ${m.to_addresses.join(", ")} · ${dateTimeOf(m.sent_at || m.received_at)}`),
        !inbound && m.status !== "sent" ? h("span", { class: `pill pill-${m.status}` }, m.status === "failed" ? `not sent: ${m.error || "relay failed"}` : m.status) : null),
      !inbound && m.status === "failed" ? h("button", { class: "btn btn-secondary btn-sm", type: "button",
        onclick: () => this.retry(m) }, "Retry sending") : null,
      h("div", { class: "mail-subject" }, m.subject),
      h("pre", { class: "mail-body" }, m.text_body || "(no text part)"),
      m.attachments?.length ? h("ul", { class: "attachments", "aria-label": "Attachments" },
        m.attachments.map((a) => h("li", {}, h("a", { href: `/api/v1/email-attachments/${encodeURIComponent(a.id)}` }, `${a.filename} (${Math.ceil(a.size / 1024)} KB)`)))) : null);
  }

  // A follow-up from the customer on this thread: show it now, marked new.
  handle(frame) {
    if (frame.type === "email.received" && frame.data?.interaction_id === this.doc.id) {
      this.load();
      toast(t("email.follow_up", { from: frame.data.from_address }));
    }
  }

  markRead() {
    if (!this.unread.size) return;
    this.unread.clear();
    for (const el of this.thread.querySelectorAll(".mail-unread")) {
      el.classList.remove("mail-unread");
      el.querySelector(".pill-new")?.remove();
    }
  }

  focusComposer(prefix = "") {
    if (!this.form.isConnected) return false;
    this.input.focus();
    if (prefix && !this.input.value) { this.input.value = prefix; this.input.dispatchEvent(new Event("input", { bubbles: true })); }
    return true;
  }

  async retry(m) {
    try {
      await api("POST", `/email-messages/${encodeURIComponent(m.id)}/retry`);
      toast("Reply sent.");
    } catch (err) {
      toast(`Still not sent: ${err.message}`, "error");
    }
    await this.load();
  }

  async reply() {
    const body = this.input.value.trim();
    if (!body) return;
    this.send.disabled = true;
    try {
      await api("POST", `/interactions/${encodeURIComponent(this.doc.id)}/email-replies`,
        { body, attachment_ids: this.pending.ids() });
      this.input.value = "";
      this.pending.clear();
      toast("Reply sent.");
      await this.load();
    } catch (err) {
      toast(`Reply not sent: ${err.message}`, "error");
    } finally {
      this.send.disabled = false;
    }
  }
}
