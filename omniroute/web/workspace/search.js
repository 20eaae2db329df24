// Search interactions, cases and customers by text, with filters; a document opens in the
// conversation, a customer opens its profile and history.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, channelBadge, dateTimeOf, openDialog } from "./dom.js";
import { state } from "./store.js";
import { stateLabel } from "./worklist.js";
import { openCustomer } from "./customer.js";

const STATES = ["new", "on_hold", "work_in_progress", "wrap_up", "closed_complete", "closed_abandoned", "open", "in_progress", "closed"];

function dayStart(value) {
  return value ? new Date(`${value}T00:00:00`).toISOString() : null;
}

export function searchButton(open) {
  return h("button", { class: "btn btn-ghost", type: "button", id: "search-open", "aria-haspopup": "dialog",
    onclick: () => openSearch(open) }, t("search.open"));
}

export function openSearch(open) {
  const q = h("input", { type: "search", id: "search-q", placeholder: t("search.placeholder"), "aria-label": t("search.open") });
  const channel = h("select", { id: "search-channel" }, h("option", { value: "" }, t("search.any_channel")),
    state.catalog.channels.map((c) => h("option", { value: c.id }, c.name)));
  const docState = h("select", { id: "search-state" }, h("option", { value: "" }, t("search.any_state")),
    STATES.map((s) => h("option", { value: s }, stateLabel(s))));
  const queue = h("select", { id: "search-queue" }, h("option", { value: "" }, t("search.any_queue")),
    [...state.catalog.queues.values()].map((x) => h("option", { value: x.id }, x.name)));
  const from = h("input", { type: "date", id: "search-from", "aria-label": t("search.from") });
  const to = h("input", { type: "date", id: "search-to", "aria-label": t("search.to") });
  const results = h("div", { class: "search-results", "aria-live": "polite" });
  const problem = h("p", { class: "form-error", role: "alert" });
  const go = h("button", { class: "btn btn-primary", type: "submit", value: "search" }, t("search.open"));
  const dlg = openDialog({
    title: t("search.open"),
    body: h("div", { class: "dialog-body search-body" },
      h("div", { class: "search-row" }, q, go),
      h("div", { class: "search-filters" },
        h("label", {}, `${t("search.channel")} `, channel), h("label", {}, `${t("search.state")} `, docState),
        h("label", {}, `${t("search.queue")} `, queue), h("label", {}, `${t("search.from")} `, from), h("label", {}, `${t("search.to")} `, to)),
      problem, results),
    actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel", formnovalidate: true }, t("common.close"))],
  });
  dlg.classList.add("dialog-wide");
  const run = async () => {
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    for (const [key, el] of [["channel_id", channel], ["state", docState], ["queue_id", queue]]) if (el.value) params.set(key, el.value);
    if (from.value) params.set("created_from", dayStart(from.value));
    if (to.value) {
      const end = new Date(`${to.value}T00:00:00`);
      end.setDate(end.getDate() + 1);
      params.set("created_to", end.toISOString());
    }
    problem.textContent = "";
    try {
      const found = await api("GET", `/search?${params}`);
      paint(results, found, (target) => { dlg.close(); open(target); },
        (customer) => { dlg.close(); openCustomer(customer, open); });
    } catch (err) {
      problem.textContent = err.message;
    }
  };
  go.addEventListener("click", (ev) => { ev.preventDefault(); run(); });
  q.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); run(); } });
  q.focus();
}

function paint(box, found, open, openProfile) {
  const docs = [
    ...found.interactions.map((d) => ({ ...d, document_type: "interaction" })),
    ...found.cases.map((d) => ({ ...d, document_type: "case" })),
  ];
  const total = docs.length + found.customers.length;
  box.replaceChildren(...[
    h("p", { class: "muted small", role: "status" }, total ? t("search.found", { n: total }) : t("search.nothing")),
    docs.length ? h("ul", { class: "result-list", "aria-label": t("search.documents") }, docs.map((d) =>
      h("li", {}, h("button", { class: "result", type: "button", onclick: () => open({ type: d.document_type, id: d.id }) },
        channelBadge(d.channel_id),
        h("span", { class: "result-what" }, d.reference ? `${d.reference} · ${d.subject || ""}` : (d.subject || t("search.no_subject"))),
        h("span", { class: "muted small" }, `${d.customer_name || d.customer_email || t("search.unknown_customer")} · ${stateLabel(d.state)} · ${dateTimeOf(d.created_at)}`))))) : null,
    found.customers.length ? h("ul", { class: "result-list", "aria-label": t("search.customers") }, found.customers.map((c) =>
      h("li", {}, h("button", { class: "result result-customer", type: "button", title: t("search.open_customer"),
        onclick: () => openProfile(c) },
        h("strong", {}, c.name || t("search.no_name")), " ",
        h("span", { class: "muted small" }, [c.emails.join(", "), c.phone].filter(Boolean).join(" · ")))))) : null,
  ].filter(Boolean));
}
