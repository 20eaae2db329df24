// A case: reference, status and priority, description, its emails and notes, a reply by email.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, dateTimeOf, toast } from "./dom.js";
import { attachSlashMenu, cannedButton } from "./canned.js";
import { attachButton, attachmentLinks, PendingFiles } from "./attach.js";
import { loadNotes, noteForm } from "./notes.js";

const STATUSES = ["open", "pending", "on_hold"];
const PRIORITIES = ["low", "normal", "high", "urgent"];

function select(id, kind, options, value, disabled, onChange) {
  const el = h("select", { id, disabled }, options.map((v) => h("option", { value: v }, t(`case.${kind}.${v}`))));
  el.value = value;
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

export class CaseView {
  constructor(el, doc, { me, onChanged }) {
    this.doc = doc;
    this.onChanged = onChanged;
    const open = doc.state !== "closed" && doc.state !== "resolved";
    const mine = open && doc.agent_id === me.agent_id;
    this.timeline = h("ol", { class: "thread", "aria-label": t("case.timeline") });
    el.append(
      h("dl", { class: "facts" },
        h("dt", {}, t("case.reference")), h("dd", {}, h("strong", { class: "case-ref" }, doc.reference || doc.id)),
        h("dt", {}, t("case.subject")), h("dd", {}, doc.subject || "—"),
        h("dt", {}, t("customer.title")), h("dd", {}, `${doc.customer_name || "—"} ${doc.customer_email ? `<${doc.customer_email}>` : ""}`),
        h("dt", {}, t("case.opened")), h("dd", {}, dateTimeOf(doc.created_at)),
        h("dt", {}, h("label", { for: "case-status" }, t("case.status"))),
        h("dd", {}, select("case-status", "status", STATUSES, doc.status || "open", !mine, (v) => this.update({ status: v }))),
        h("dt", {}, h("label", { for: "case-priority" }, t("case.priority"))),
        h("dd", {}, select("case-priority", "priority", PRIORITIES, doc.priority || "normal", !mine, (v) => this.update({ priority: v })))),
      h("h2", { class: "section-title" }, t("case.description")),
      h("pre", { class: "case-description" }, doc.description || t("case.no_description")),
      h("h2", { class: "section-title" }, t("case.timeline")),
      this.timeline,
      mine && doc.customer_email ? this.replyForm() : null,
      noteForm(this.timeline, doc));
    this.noteList = this.timeline;
    this.load();
  }

  async load() {
    try {
      const emails = await api("GET", `/cases/${encodeURIComponent(this.doc.id)}/emails`);
      this.timeline.replaceChildren(...emails.map((m) => h("li", { class: `mail mail-${m.direction === "in" ? "inbound" : "outbound"}`, "data-at": m.received_at },
        h("div", { class: "mail-head" }, h("strong", {}, m.direction === "in" ? m.from_address : "You"),
          h("span", { class: "muted small" }, `to ${m.to_addresses.join(", ")} · ${dateTimeOf(m.sent_at || m.received_at)}`),
          m.direction === "out" && m.status !== "sent" ? h("span", { class: `pill pill-${m.status}` }, m.status === "failed" ? `not sent: ${m.error || "relay failed"}` : m.status) : null),
        h("div", { class: "mail-subject" }, m.subject),
        h("pre", { class: "mail-body" }, m.text_body || "(no text part)"),
        attachmentLinks(m.attachments, (a) => `/api/v1/email-attachments/${encodeURIComponent(a.id)}`))));
    } catch { /* a case without mail still shows its notes */ }
    await loadNotes(this.timeline, this.doc);
  }

  replyForm() {
    const input = h("textarea", { id: "case-reply", rows: "4", maxlength: "1000000" });
    const send = h("button", { class: "btn btn-primary", type: "submit" }, t("case.send_email"));
    const files = new PendingFiles(this.doc.id, "cases");
    const form = h("form", { class: "composer composer-email" },
      h("label", { for: "case-reply", class: "composer-label" }, t("case.email_to", { email: this.doc.customer_email })),
      attachSlashMenu(input, this.doc), input, files.chips,
      h("div", { class: "composer-actions" }, attachButton((chosen) => files.add(chosen), "case-file"), cannedButton(input, this.doc), send));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = input.value.trim();
      if (!body) return;
      send.disabled = true;
      try {
        await api("POST", `/cases/${encodeURIComponent(this.doc.id)}/email-replies`, { body, attachment_ids: files.ids() });
        input.value = "";
        files.clear();
        toast(t("case.email_sent"));
      } catch (err) {
        toast(t("case.email_failed", { error: err.message }), "error");
      } finally {
        send.disabled = false;
        await this.load();
      }
    });
    return form;
  }

  async update(change) {
    try {
      const updated = await api("PATCH", `/cases/${encodeURIComponent(this.doc.id)}`, change);
      Object.assign(this.doc, updated);
      this.onChanged?.(this.doc);
      toast(t("case.updated"));
    } catch (err) {
      toast(t("case.update_failed", { error: err.message }), "error");
    }
  }
}
