// Offers as cards with a live countdown; Accept, or Reject with a reason from the channel's list.
import { api } from "./api.js";
import { h, clear, toast, channelBadge, channelLabel, mmss, openDialog } from "./dom.js";
import { fetchDocument, queueName, rejectReasons } from "./store.js";
import { t } from "./i18n.js";


export class Inbox {
  constructor(el, { me, onAccepted, onAssigned = () => {}, onOpen = () => {}, onOffered = () => {}, onEnded = () => {} }) {
    this.el = el;
    this.me = me;
    this.onAccepted = onAccepted;
    this.onAssigned = onAssigned;
    this.onOpen = onOpen;
    this.onOffered = onOffered;
    this.onEnded = onEnded;
    this.offers = new Map();
    this.list = h("ul", { class: "cards", "aria-live": "polite", "aria-relevant": "additions removals" });
    this.count = h("span", { class: "count", "aria-label": "pending offers" }, "0");
    this.empty = h("p", { class: "empty" }, t("offer.empty"));
    el.append(h("h2", { id: "offers-title", class: "pane-title" }, "Offers ", this.count), this.empty, this.list);
    this.ticker = setInterval(() => this.tick(), 250);
  }

  sync(offers) {
    const live = new Set(offers.map((o) => o.id));
    for (const id of [...this.offers.keys()]) if (!live.has(id)) this.drop(id);
    for (const o of offers) {
      if (!this.offers.has(o.id)) this.add({ offer_id: o.id, work_item_id: o.work_item_id, expires_at: o.expires_at,
        created_at: o.created_at, allowed_to_decline: o.allowed_to_decline, auto_accept: o.auto_accept });
    }
  }

  handle(frame) {
    if (frame.type === "offer.created" && frame.data.auto_accept) this.assigned(frame.data);
    else if (frame.type === "offer.created") this.add(frame.data);
    else if (frame.type === "offer.ended") {
      const known = this.offers.get(frame.data.offer_id);
      this.drop(frame.data.offer_id);
      if (known && !known.answering && frame.data.state !== "accepted") {
        toast(t(`offer.ended.${frame.data.state}`));
      }
    }
  }

  async add(offer) {
    if (this.offers.has(offer.offer_id)) return;
    const entry = { ...offer, answering: false };
    this.offers.set(offer.offer_id, entry);
    entry.card = this.card(entry);
    this.list.append(entry.card);
    this.paintCount();
    if (!offer.document_id) {
      const item = await api("GET", `/work-items/${encodeURIComponent(offer.work_item_id)}`);
      Object.assign(entry, { document_id: item.document_id, document_type: item.document_type,
        channel_id: item.channel_id, queue_id: item.queue_id, transfer_type: item.transfer_type,
        transfer_from_agent_id: item.transfer_from_agent_id, transfer_note: item.transfer_note });
      if (item.transfer_from_agent_id) {
        try {
          const sender = (await api("GET", "/directory/agents")).find((a) => a.id === item.transfer_from_agent_id);
          entry.transfer_from_name = sender?.name;
        } catch { /* the id stands in for the name */ }
      }
      const fresh = this.card(entry);
      entry.card.replaceWith(fresh);
      entry.card = fresh;
    }
    const customer = await this.fillCustomer(entry);
    if (this.offers.has(offer.offer_id)) {
      this.onOffered(entry, { customer, channel: entry.channel_id ? channelLabel(entry.channel_id) : null });
    }
  }

  // Work accepted on the agent's behalf: a card says so; card_and_tab also opens it at once.
  async assigned(offer) {
    if (this.list.querySelector(`[data-assigned="${CSS.escape(offer.offer_id)}"]`)) return;
    const entry = { ...offer };
    const dismiss = () => { entry.card.remove(); this.paintCount(); };
    entry.card = h("li", { class: "card assigned-card", id: `assigned-${offer.offer_id}`, "data-assigned": offer.offer_id,
      "aria-labelledby": `assigned-${offer.offer_id}-title` },
      h("div", { class: "card-head" },
        offer.channel_id ? channelBadge(offer.channel_id) : null,
        h("span", { class: "card-queue" }, offer.queue_id ? queueName(offer.queue_id) : ""),
        h("span", { class: "badge assigned-badge" }, t("offer.auto_accepted"))),
      h("h3", { id: `assigned-${offer.offer_id}-title`, class: "card-customer" }, "…"),
      h("p", { class: "card-subject" }),
      h("p", { class: "muted small" }, t("offer.auto_accepted_note")),
      h("div", { class: "card-actions" },
        h("button", { class: "btn btn-primary", type: "button", onclick: () => { dismiss(); this.onOpen(entry); } }, t("offer.open")),
        h("button", { class: "btn btn-secondary", type: "button", onclick: dismiss }, t("offer.dismiss"))));
    this.list.append(entry.card);
    this.paintCount();
    await this.onAssigned(entry, offer.display_option === "card_and_tab");
    await this.fillCustomer(entry);
  }

  async fillCustomer(entry) {
    try {
      const doc = await fetchDocument(entry.document_type, entry.document_id);
      const who = entry.card.querySelector(".card-customer");
      const what = entry.card.querySelector(".card-subject");
      const name = doc.customer_name || doc.customer_email || t("offer.unknown_customer");
      if (who) who.textContent = name;
      if (what) what.textContent = doc.subject || "";
      return doc.subject ? `${name} · ${doc.subject}` : name;
    } catch {
      return null; // the card still works without the customer's name
    }
  }

  // The oldest offer still waiting for an answer (the keyboard shortcuts act on it).
  first() {
    return [...this.offers.values()].find((e) => !e.answering) || null;
  }

  acceptFirst() {
    const entry = this.first();
    if (entry) this.accept(entry);
    else toast(t("offer.none"));
  }

  rejectFirst() {
    const entry = this.first();
    if (!entry) toast(t("offer.none"));
    else if (entry.allowed_to_decline === false) toast(t("offer.cannot_decline"), "error");
    else this.reject(entry);
  }

  card(entry) {
    const id = entry.offer_id;
    const accept = h("button", { class: "btn btn-primary", type: "button", "aria-keyshortcuts": "A", onclick: () => this.accept(entry) }, t("offer.accept"));
    const reject = entry.allowed_to_decline === false ? null
      : h("button", { class: "btn btn-secondary", type: "button", "aria-keyshortcuts": "R", onclick: () => this.reject(entry) }, t("offer.reject"));
    const total = entry.expires_at ? (new Date(entry.expires_at) - new Date(entry.created_at)) / 1000 : null;
    return h("li", { class: "card offer-card", id: `offer-${id}`, "data-offer": id, "aria-labelledby": `offer-${id}-title` },
      h("div", { class: "card-head" },
        entry.channel_id ? channelBadge(entry.channel_id) : null,
        h("span", { class: "card-queue" }, entry.queue_id ? queueName(entry.queue_id) : ""),
      ),
      h("h3", { id: `offer-${id}-title`, class: "card-customer" }, "…"),
      h("p", { class: "card-subject" }),
      entry.transfer_from_agent_id ? h("div", { class: "handover" },
        h("strong", {}, t(entry.transfer_type === "consult" ? "offer.consult_from" : "offer.transfer_from", { name: entry.transfer_from_name || entry.transfer_from_agent_id })),
        entry.transfer_note ? h("p", { class: "handover-note" }, `“${entry.transfer_note}”`) : null) : null,
      entry.expires_at ? h("div", { class: "countdown", "data-expires": entry.expires_at, "data-total": total },
        h("div", { class: "countdown-bar", role: "progressbar", "aria-label": t("offer.time_left_label"),
          "aria-valuemin": "0", "aria-valuemax": String(Math.round(total)) }, h("span", { class: "countdown-fill" })),
        h("span", { class: "countdown-text" }, "")) : h("p", { class: "muted" }, t("offer.no_limit")),
      h("div", { class: "card-actions" }, accept, reject,
        entry.allowed_to_decline === false ? h("span", { class: "muted small" }, t("offer.cannot_decline_note")) : null),
    );
  }

  tick() {
    const now = Date.now();
    for (const el of this.list.querySelectorAll(".countdown")) {
      const left = (new Date(el.dataset.expires).getTime() - now) / 1000;
      const total = Number(el.dataset.total) || 1;
      el.querySelector(".countdown-text").textContent = left > 0 ? t("offer.time_left", { time: mmss(left) }) : t("offer.time_up");
      const fill = el.querySelector(".countdown-fill");
      fill.style.width = `${Math.max(0, Math.min(100, (left / total) * 100))}%`;
      el.classList.toggle("urgent", left <= 10);
      el.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(Math.max(0, Math.round(left))));
    }
  }

  drop(offerId) {
    const entry = this.offers.get(offerId);
    if (!entry) return;
    entry.card?.remove();
    this.offers.delete(offerId);
    this.paintCount();
    this.onEnded(offerId);
  }

  paintCount() {
    this.count.textContent = String(this.offers.size);
    this.empty.hidden = this.list.children.length > 0;
  }

  async accept(entry) {
    entry.answering = true;
    entry.card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await api("POST", `/offers/${encodeURIComponent(entry.offer_id)}/accept`);
      this.drop(entry.offer_id);
      await this.onAccepted(entry);
    } catch (err) {
      entry.answering = false;
      toast(t("offer.accept_failed", { error: err.message }), "error");
      if (err.status === 409 || err.status === 404) this.drop(entry.offer_id);
      else entry.card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
  }

  async reject(entry) {
    let reasons = [];
    try { reasons = await rejectReasons(entry.channel_id); } catch { reasons = []; }
    const select = h("select", { id: "reject-reason", name: "reason", required: reasons.length > 0 },
      h("option", { value: "" }, reasons.length ? t("reject.choose") : t("reject.none")),
      reasons.map((r) => h("option", { value: r.id }, r.name)));
    const note = h("textarea", { id: "reject-note", name: "note", rows: "3", maxlength: "2000" });
    const problem = h("p", { class: "form-error", role: "alert" });
    const confirm = h("button", { class: "btn btn-danger", value: "reject", type: "submit" }, t("reject.confirm"));
    const dlg = openDialog({
      title: t("reject.title"),
      body: h("div", { class: "dialog-body" },
        h("label", { for: "reject-reason" }, t("reject.reason")), select,
        h("label", { for: "reject-note" }, t("reject.note")), note, problem),
      actions: [h("button", { class: "btn btn-secondary", value: "cancel", type: "submit", formnovalidate: true }, t("reject.keep")), confirm],
    });
    confirm.addEventListener("click", async (ev) => {
      ev.preventDefault();
      if (reasons.length && !select.value) {
        problem.textContent = t("reject.reason_missing");
        select.focus();
        return;
      }
      entry.answering = true;
      try {
        await api("POST", `/offers/${encodeURIComponent(entry.offer_id)}/reject`,
          { reason_id: select.value || null, note: note.value || null });
        this.drop(entry.offer_id);
        dlg.close();
        toast(t("reject.done"));
      } catch (err) {
        entry.answering = false;
        problem.textContent = err.message;
        if (err.status === 409 || err.status === 404) { this.drop(entry.offer_id); dlg.close(); }
      }
    });
    select.focus();
  }
}
