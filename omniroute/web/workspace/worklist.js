// The agent's accepted work: interactions and cases still open.
import { h, channelBadge, timeOf } from "./dom.js";
import { fetchDocument } from "./store.js";
import { t } from "./i18n.js";

const OPEN_INTERACTION = new Set(["new", "on_hold", "work_in_progress", "wrap_up"]);
const OPEN_CASE = new Set(["new", "open", "in_progress"]);
const STATES = new Set(["work_in_progress", "wrap_up", "on_hold", "new", "open", "in_progress", "resolved", "closed",
  "closed_complete", "closed_abandoned"]);

export function isOpen(doc) {
  return (doc.document_type === "case" ? OPEN_CASE : OPEN_INTERACTION).has(doc.state);
}

export function stateLabel(state) {
  return STATES.has(state) ? t(`state.${state}`) : state.replaceAll("_", " ");
}

export class WorkList {
  constructor(el, { me, onSelect }) {
    this.el = el;
    this.me = me;
    this.onSelect = onSelect;
    this.docs = new Map();
    this.selected = null;
    this.list = h("ul", { class: "worklist", "aria-label": t("work.title") });
    this.empty = h("p", { class: "empty" }, t("work.empty"));
    el.append(h("h2", { id: "work-title", class: "pane-title" }, t("work.title")), this.empty, this.list);
  }

  // The agent's open interactions and cases, as the bootstrap call returned them.
  load(docs) {
    for (const d of docs) if (isOpen(d)) this.docs.set(d.id, d);
    this.paint();
  }

  // Move the selection to the next (1) or previous (-1) item, and open it.
  step(by) {
    const ids = this.ordered().map((d) => d.id);
    if (!ids.length) return;
    const at = ids.indexOf(this.selected);
    const next = at === -1 ? (by > 0 ? 0 : ids.length - 1) : (at + by + ids.length) % ids.length;
    this.select(ids[next]);
    this.list.querySelector(`[data-doc="${CSS.escape(ids[next])}"] button`)?.scrollIntoView({ block: "nearest" });
  }

  ordered() {
    return [...this.docs.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async add(type, id, { select = true } = {}) {
    const doc = await fetchDocument(type, id, { fresh: true });
    this.docs.set(doc.id, doc);
    if (select) this.select(doc.id);
    else this.paint();
    return doc;
  }

  update(doc) {
    if (!this.docs.has(doc.id)) return;
    if (!isOpen(doc)) this.remove(doc.id);
    else { this.docs.set(doc.id, doc); this.paint(); }
  }

  remove(id) {
    this.docs.delete(id);
    if (this.selected === id) this.selected = null;
    this.paint();
  }

  async handle(frame) {
    const d = frame.data || {};
    if (frame.type === "document.changed" && this.docs.has(d.document_id)) {
      const doc = { ...this.docs.get(d.document_id), state: d.state, wrap_up_due_at: d.wrap_up_due_at };
      this.update(doc);
    } else if (frame.type === "work_item.closed" && this.docs.has(d.document_id)) {
      // Transferred away, or closed: keep it only while it is still ours.
      const doc = await fetchDocument(d.document_type, d.document_id, { fresh: true });
      if (doc.agent_id !== this.me.agent_id || !isOpen(doc)) this.remove(doc.id);
    } else if ((frame.type === "chat.message" && d.message?.sender === "customer") || frame.type === "email.received") {
      if (d.interaction_id === this.selected) return;
      const row = this.list.querySelector(`[data-doc="${CSS.escape(d.interaction_id)}"]`);
      row?.classList.add("unread");
    }
  }

  select(id) {
    this.selected = id;
    this.paint();
    const doc = this.docs.get(id);
    if (doc) this.onSelect(doc);
  }

  paint() {
    const rows = this.ordered();
    this.empty.hidden = rows.length > 0;
    const unread = new Set([...this.list.querySelectorAll(".unread")].map((r) => r.dataset.doc));
    this.list.replaceChildren(...rows.map((doc) => {
      const current = doc.id === this.selected;
      return h("li", { class: `work-row${current ? " selected" : ""}${unread.has(doc.id) && !current ? " unread" : ""}`, "data-doc": doc.id },
        h("button", { type: "button", class: "work-button", "aria-current": current ? "true" : null,
          onclick: () => this.select(doc.id) },
          h("span", { class: "work-line" }, channelBadge(doc.channel_id),
            h("span", { class: "work-name" }, doc.customer_name || doc.customer_email || doc.subject || doc.id)),
          h("span", { class: "work-meta" }, h("span", { class: `pill pill-${doc.state}` }, stateLabel(doc.state)),
            h("span", { class: "muted small" }, timeOf(doc.created_at)))));
    }));
  }
}
