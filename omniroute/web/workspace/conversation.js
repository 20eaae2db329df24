// The selected piece of work: header, actions, transfer state, the channel's view, wrap-up, history.
import { api } from "./api.js";
import { h, clear, toast, channelBadge, dateTimeOf, mmss, openDialog } from "./dom.js";
import { fetchDocument, queueName, state } from "./store.js";
import { ChatView } from "./chatview.js";
import { EmailView } from "./emailview.js";
import { openTransferDialog } from "./transfer.js";
import { isOpen, stateLabel } from "./worklist.js";
import { mountExtensions } from "./extensions.js";
import { CaseView } from "./caseview.js";
import { mountCustomer } from "./customer.js";
import { showNote } from "./notes.js";
import { t } from "./i18n.js";

// Transfer states in words; x is the transfer as the banner knows it.
const TRANSFER_TEXT = {
  pending: (x) => t("transfer.state.pending", { name: x.target_name }),
  offered: (x) => t("transfer.state.offered", { name: x.offered_name || x.target_name }),
  rejected: (x) => t("transfer.state.rejected", { name: x.offered_name || x.target_name }),
  timed_out: (x) => t("transfer.state.timed_out", { name: x.offered_name || x.target_name }),
  withdrawn: () => t("transfer.state.withdrawn"),
  cancelled: () => t("transfer.state.cancelled"),
  accepted: (x) => t(x.type === "consult" ? "transfer.state.joined" : "transfer.state.accepted",
    { name: x.offered_name || x.target_name }),
};

export class Conversation {
  constructor(el, { me }) {
    this.el = el;
    this.me = me;
    this.doc = null;
    this.view = null;
    this.transfer = null;
    this.onClosed = () => {};
    this.onChanged = () => {};
    this.timer = setInterval(() => this.tick(), 500);
    this.placeholder();
  }

  placeholder() {
    clear(this.el).append(h("div", { class: "placeholder" },
      h("h1", {}, t("conv.none")),
      h("p", { class: "muted" }, t("conv.none_hint"))));
  }

  async show(doc) {
    this.doc = doc;
    this.transfer = null;
    this.extensions?.destroy?.();
    this.header = h("header", { class: "conv-head" });
    this.actions = h("div", { class: "conv-actions", role: "toolbar", "aria-label": t("conv.actions") });
    this.banner = h("div", { class: "conv-banner", "aria-live": "polite" });
    this.body = h("section", { class: "conv-body", "aria-label": t("conv.body") });
    this.wrap = h("section", { class: "conv-wrapup", "aria-label": "Wrap-up" });
    this.history = h("section", { class: "side-card", "aria-labelledby": "history-title" });
    this.extra = h("div", { class: "side-extra" });
    clear(this.el).append(
      h("div", { class: "conv" }, this.header, this.actions, this.banner, this.body, this.wrap),
      h("aside", { class: "conv-side", "aria-label": t("conv.customer") }, this.history, this.extra));
    this.paint();
    const active = doc.state === "work_in_progress" || doc.state === "in_progress" || doc.state === "open";
    if (doc.channel_id === "chat") this.view = new ChatView(this.body, doc, { me: this.me, active });
    else if (doc.channel_id === "email") this.view = new EmailView(this.body, doc, { active: isOpen(doc) });
    else if (doc.document_type === "case") this.view = new CaseView(this.body, doc, { me: this.me, onChanged: (d) => this.onChanged(d) });
    else this.view = null;
    this.call = null;
    this.extensions = await mountExtensions({ doc, me: this.me, body: this.body, side: this.extra,
      onCall: (context) => this.callChanged(doc, context) });
    this.loadHistory();
    this.el.focus();
  }

  paint() {
    const doc = this.doc;
    clear(this.header).append(
      h("div", { class: "conv-title" },
        h("h1", {}, doc.customer_name || doc.customer_email || t("offer.unknown_customer")),
        doc.reference ? h("span", { class: "case-ref" }, doc.reference) : null,
        h("span", { class: `pill pill-${doc.state}` }, stateLabel(doc.state))),
      h("p", { class: "conv-meta" }, channelBadge(doc.channel_id),
        doc.customer_email ? h("span", {}, doc.customer_email) : null,
        h("span", { class: "muted" }, `since ${dateTimeOf(doc.created_at)}`)),
      doc.subject ? h("p", { class: "conv-subject" }, doc.subject) : null);
    this.paintActions();
    this.paintBanner();
    this.paintWrapUp();
  }

  // A call's own controls transfer and end it; an ended call moves the interaction to wrap-up.
  callChanged(doc, context) {
    if (this.doc !== doc) return;
    this.call = context;
    this.paintActions();
    if (context.state === "ended" && doc.state === "work_in_progress" && !this.ending) this.end();
  }

  paintActions() {
    const doc = this.doc;
    const buttons = [];
    const working = (doc.state === "work_in_progress" || doc.state === "in_progress") && doc.agent_id === this.me.agent_id;
    const pending = this.transfer && ["pending", "offered"].includes(this.transfer.state);
    // While a call is live, its controls hold the one Transfer… and the one End call.
    const callLive = Boolean(this.call && this.call.state !== "ended");
    if (callLive) {
      clear(this.actions);
      this.actions.hidden = true;
      return;
    }
    if (working && !pending) buttons.push(h("button", { class: "btn btn-secondary", type: "button", onclick: () => this.startTransfer() }, t("conv.transfer")));
    if (doc.document_type === "interaction" && working) {
      buttons.push(h("button", { class: "btn btn-danger", type: "button", onclick: () => this.end() }, doc.channel_id === "chat" ? t("conv.end_chat") : t("conv.end")));
    }
    if (doc.document_type === "case" && isOpen(doc) && doc.agent_id === this.me.agent_id) {
      buttons.push(h("button", { class: "btn btn-danger", type: "button", onclick: () => this.closeCase() }, t("case.close")));
    }
    clear(this.actions).append(...buttons);
    this.actions.hidden = buttons.length === 0;
  }

  paintBanner() {
    clear(this.banner);
    const x = this.transfer;
    if (!x) return;
    const text = (TRANSFER_TEXT[x.state] || (() => x.state))(x);
    const open = ["pending", "offered"].includes(x.state);
    const consultDone = x.state === "accepted" && x.type === "consult";
    this.banner.append(h("div", { class: `notice ${open ? "notice-info" : "notice-quiet"}`, role: "status" },
      h("strong", {}, x.type === "consult" ? t("transfer.consult_title") : t("transfer.title")), " ", text,
      open ? h("button", { class: "btn btn-secondary btn-sm", type: "button", onclick: () => this.cancelTransfer() }, t("transfer.cancel")) : null,
      consultDone ? h("button", { class: "btn btn-primary btn-sm", type: "button", onclick: () => this.completeConsult() }, t("transfer.complete")) : null,
      !open && !consultDone ? h("button", { class: "btn-link", type: "button", onclick: () => { this.transfer = null; this.paintBanner(); } }, t("common.dismiss")) : null));
  }

  paintWrapUp() {
    const doc = this.doc;
    // Keep what the agent already picked and typed when the same wrap-up is repainted.
    if (doc.state === "wrap_up" && this.wrap.dataset.doc === doc.id) { this.tick(); return; }
    clear(this.wrap);
    delete this.wrap.dataset.doc;
    if (doc.state !== "wrap_up") { this.wrap.hidden = true; return; }
    this.wrap.dataset.doc = doc.id;
    this.wrap.hidden = false;
    const codes = state.catalog.wrapUpCodes;
    const select = h("select", { id: "wrapup-code", required: true },
      h("option", { value: "" }, t("wrapup.choose")),
      codes.map((c) => h("option", { value: c.id }, c.time_limit_s ? t("wrapup.code_limit", { name: c.name, time: mmss(c.time_limit_s) }) : c.name)));
    if (doc.wrap_up_code_id) select.value = doc.wrap_up_code_id;
    const notes = h("textarea", { id: "wrapup-notes", rows: "3", maxlength: "10000" });
    notes.value = doc.wrap_up_notes || "";
    const problem = h("p", { class: "form-error", role: "alert" });
    this.wrapTimer = h("span", { class: "wrapup-timer", role: "timer", "aria-live": "off" });
    const submit = h("button", { class: "btn btn-primary", type: "submit" }, t("wrapup.submit"));
    const form = h("form", { class: "wrapup-form", novalidate: true },
      h("div", { class: "wrapup-head" }, h("h2", {}, t("wrapup.title")), this.wrapTimer),
      h("label", { for: "wrapup-code" }, t("wrapup.code")), select,
      h("label", { for: "wrapup-notes" }, t("wrapup.notes")), notes, problem,
      h("div", { class: "composer-actions" }, submit));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      if (!select.value) { problem.textContent = t("wrapup.code_missing"); select.focus(); return; }
      submit.disabled = true;
      try {
        const updated = await api("POST", `/interactions/${encodeURIComponent(doc.id)}/wrap-up`,
          { wrap_up_code_id: select.value, notes: notes.value || null });
        toast("Wrap-up submitted.");
        this.extensions?.wrappedUp?.({ document_id: doc.id, wrap_up_code_id: select.value, notes: notes.value || null });
        this.replaced(updated);
      } catch (err) {
        problem.textContent = err.message;
        submit.disabled = false;
      }
    });
    this.wrap.append(form);
    this.tick();
    queueMicrotask(() => select.focus());
  }

  tick() {
    if (!this.doc || this.doc.state !== "wrap_up" || !this.wrapTimer) return;
    if (this.doc.wrap_up_due_at) {
      const left = (new Date(this.doc.wrap_up_due_at) - Date.now()) / 1000;
      this.wrapTimer.textContent = left > 0 ? t("offer.time_left", { time: mmss(left) }) : t("offer.time_up");
      this.wrapTimer.classList.toggle("urgent", left <= 15);
    } else if (this.doc.ended_at) {
      this.wrapTimer.textContent = `${mmss((Date.now() - new Date(this.doc.ended_at)) / 1000)} in wrap-up`;
    }
  }

  loadHistory() {
    const doc = this.doc;
    if (this.history.dataset.doc === doc.id) return;
    this.history.dataset.doc = doc.id;
    mountCustomer(this.history, doc, { open: (target) => this.openRef(target) });
  }

  // Open another interaction or case (from the history or a search) in this panel.
  async openRef({ type, id }) {
    try {
      await this.show(await fetchDocument(type, id, { fresh: true }));
    } catch (err) {
      toast(t("conv.open_failed", { error: err.message }), "error");
    }
  }

  // Put the cursor in the reply box (shortcut C), optionally starting it with text ("/").
  focusComposer(prefix = "") {
    if (!this.view?.focusComposer?.(prefix)) toast(t("conv.no_reply_box"));
  }

  handle(frame) {
    const d = frame.data || {};
    this.view?.handle?.(frame);
    this.extensions?.handle?.(frame);
    if (!this.doc) return;
    if (frame.type === "document.changed" && d.document_id === this.doc.id) {
      this.refresh();
    } else if (frame.type === "transfer.changed" && d.document_id === this.doc.id) {
      this.transferChanged(d);
    } else if (frame.type === "work_item.closed" && d.document_id === this.doc.id) {
      this.refresh();
    } else if (frame.type === "note.added" && d.document_id === this.doc.id && this.view?.noteList) {
      showNote(this.view.noteList, d);
    }
  }

  async transferChanged(d) {
    const x = this.transfer && this.transfer.transfer_id === d.transfer_id ? this.transfer : {
      transfer_id: d.transfer_id, type: d.transfer_type, target_agent_id: d.target_agent_id,
      target_queue_id: d.target_queue_id,
      target_name: d.target_queue_id ? queueName(d.target_queue_id) : d.target_agent_id,
    };
    // A cancel also withdraws the pending offer: keep the clearer "cancelled".
    if (x.state === "cancelled" && d.state === "withdrawn") return;
    x.state = d.state;
    if (d.offered_to) x.offered_name = await this.agentName(d.offered_to);
    if (!x.target_name || x.target_name === d.target_agent_id) x.target_name = await this.agentName(d.target_agent_id) || x.target_name;
    this.transfer = x;
    this.paintBanner();
    this.paintActions();
  }

  async agentName(id) {
    if (!id) return null;
    if (!this.names) {
      try { this.names = new Map((await api("GET", "/directory/agents")).map((a) => [a.id, a.name])); } catch { this.names = new Map(); }
    }
    return this.names.get(id) || id;
  }

  async refresh() {
    const doc = await fetchDocument(this.doc.document_type, this.doc.id, { fresh: true });
    this.replaced(doc);
  }

  replaced(doc) {
    if (!this.doc || this.doc.id !== doc.id) return;
    doc.document_type = this.doc.document_type;
    const wasActive = this.doc.state;
    this.doc = doc;
    this.onChanged(doc);
    if (doc.agent_id !== this.me.agent_id || !isOpen(doc)) {
      toast(doc.agent_id !== this.me.agent_id ? t("conv.handed_over") : t("conv.closed"));
      this.onClosed(doc.id);
      this.doc = null;
      this.view = null;
      this.extensions?.destroy?.();
      this.placeholder();
      return;
    }
    if (wasActive !== doc.state && doc.state === "wrap_up") this.view?.disable?.();
    this.paint();
  }

  startTransfer() {
    openTransferDialog(this.doc, this.me, (x) => {
      // The feed may already have said more (offered, even answered) than the POST's answer.
      const known = this.transfer?.transfer_id === x.transfer_id ? this.transfer : null;
      this.transfer = known ? { ...x, ...known, target_name: x.target_name } : x;
      this.paintBanner();
      this.paintActions();
      toast(t("transfer.started", { name: x.target_name }));
    });
  }

  async cancelTransfer() {
    try {
      await api("DELETE", `/documents/${encodeURIComponent(this.doc.id)}/transfer`);
      this.transfer = { ...this.transfer, state: "cancelled" };
      this.paintBanner();
      this.paintActions();
    } catch (err) {
      toast(t("transfer.cancel_failed", { error: err.message }), "error");
    }
  }

  async completeConsult() {
    try {
      await api("POST", `/documents/${encodeURIComponent(this.doc.id)}/transfer/complete`);
      await this.refresh();
    } catch (err) {
      toast(t("transfer.complete_failed", { error: err.message }), "error");
    }
  }

  async end() {
    this.ending = true;
    try {
      const updated = await api("POST", `/interactions/${encodeURIComponent(this.doc.id)}/end`, {});
      this.replaced(updated);
    } catch (err) {
      toast(t("conv.end_failed", { error: err.message }), "error");
    } finally {
      this.ending = false;
    }
  }

  closeCase() {
    const resolution = h("textarea", { id: "case-resolution", rows: "4", maxlength: "10000" });
    const problem = h("p", { class: "form-error", role: "alert" });
    const confirm = h("button", { class: "btn btn-danger", type: "submit", value: "close" }, t("case.close"));
    const dlg = openDialog({
      title: t("case.close_title"),
      body: h("div", { class: "dialog-body" }, h("label", { for: "case-resolution" }, t("case.resolution")), resolution, problem),
      actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel" }, t("case.keep_open")), confirm],
    });
    confirm.addEventListener("click", async (ev) => {
      ev.preventDefault();
      try {
        const updated = await api("POST", `/cases/${encodeURIComponent(this.doc.id)}/close`, { resolution: resolution.value || null });
        dlg.close();
        this.replaced(updated);
      } catch (err) {
        problem.textContent = err.message;
      }
    });
    resolution.focus();
  }
}
