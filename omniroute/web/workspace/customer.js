// The customer card: the record (name, addresses, phone, attributes) and a history whose items open.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, clear, channelBadge, dateTimeOf, openDialog, toast } from "./dom.js";
import { stateLabel } from "./worklist.js";

export async function mountCustomer(el, doc, { open }) {
  clear(el).append(h("h2", { id: "history-title", class: "pane-title" }, t("customer.title")));
  const email = (doc.customer_email || "").trim();
  let record = null;
  if (email) {
    try { [record] = await api("GET", `/customers?email=${encodeURIComponent(email)}`); } catch { record = null; }
  }
  const card = h("div", { class: "customer-card" });
  const history = h("div", { class: "customer-history" });
  el.append(card, history);
  paintRecord(card, record, doc, (saved) => mountCustomer(el, { ...doc }, { open }).then(() => saved));
  await paintHistory(history, record, doc, open);
}

function paintRecord(card, record, doc, reload) {
  const attrs = Object.entries(record?.attributes || {});
  card.append(
    h("dl", { class: "facts facts-tight" },
      h("dt", {}, t("customer.name")), h("dd", {}, record?.name || doc.customer_name || "—"),
      h("dt", {}, t("customer.email")), h("dd", {}, (record?.emails?.length ? record.emails : [doc.customer_email || "—"]).join(", ")),
      h("dt", {}, t("customer.phone")), h("dd", {}, record?.phone || "—"),
      attrs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))])),
    h("button", { class: "btn btn-secondary btn-sm", type: "button", onclick: () => editRecord(record, doc, reload) },
      record ? t("customer.edit") : t("customer.create")));
}

function editRecord(record, doc, reload) {
  const name = h("input", { id: "cust-name", value: record?.name || doc.customer_name || "" });
  const emails = h("input", { id: "cust-emails", value: (record?.emails || [doc.customer_email].filter(Boolean)).join(", ") });
  const phone = h("input", { id: "cust-phone", value: record?.phone || "" });
  const attrs = h("textarea", { id: "cust-attrs", rows: "4", placeholder: "tier = gold" });
  attrs.value = Object.entries(record?.attributes || {}).map(([k, v]) => `${k} = ${v}`).join("\n");
  const problem = h("p", { class: "form-error", role: "alert" });
  const save = h("button", { class: "btn btn-primary", type: "submit", value: "save" }, t("customer.save"));
  const dlg = openDialog({
    title: record ? t("customer.edit_title") : t("customer.new_title"),
    body: h("div", { class: "dialog-body" },
      h("label", { for: "cust-name" }, t("customer.name")), name,
      h("label", { for: "cust-emails" }, t("customer.emails")), emails,
      h("label", { for: "cust-phone" }, t("customer.phone")), phone,
      h("label", { for: "cust-attrs" }, t("customer.attributes")), attrs, problem),
    actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel", formnovalidate: true }, t("common.cancel")), save],
  });
  save.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const attributes = {};
    for (const line of attrs.value.split("\n")) {
      const at = line.indexOf("=");
      if (at > 0) attributes[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    const body = { name: name.value.trim(), emails: emails.value.split(",").map((e) => e.trim()).filter(Boolean),
      phone: phone.value.trim(), attributes };
    try {
      const saved = record ? await api("PATCH", `/customers/${encodeURIComponent(record.id)}`, body) : await api("POST", "/customers", body);
      dlg.close();
      toast(t("customer.saved"));
      reload(saved);
    } catch (err) {
      problem.textContent = err.message;
    }
  });
  name.focus();
}

// A customer found by search: the profile and the history, each item opening in the workspace.
export async function openCustomer(record, open) {
  const card = h("div", { class: "customer-card" });
  const history = h("div", { class: "customer-history" });
  const dlg = openDialog({
    title: record.name || record.emails[0] || t("customer.title"),
    body: h("div", { class: "dialog-body customer-profile" }, card, history),
    actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel", formnovalidate: true }, t("common.close"))],
  });
  dlg.classList.add("dialog-wide");
  const doc = { customer_name: record.name, customer_email: record.emails[0] || "" };
  paintRecord(card, record, doc, (saved) => { dlg.close(); return openCustomer(saved, open); });
  await paintHistory(history, record, doc, (target) => { dlg.close(); open(target); });
}

async function paintHistory(box, record, doc, open) {
  box.append(h("h3", { class: "section-title" }, t("customer.history")));
  let items = [];
  try {
    if (record) items = await api("GET", `/customers/${encodeURIComponent(record.id)}/history`);
    else if (doc.document_type === "interaction") items = (await api("GET", `/interactions/${encodeURIComponent(doc.id)}/history`)).items;
  } catch { items = []; }
  items = items.filter((x) => x.id !== doc.id);
  if (!items.length) { box.append(h("p", { class: "muted" }, t("customer.no_history"))); return; }
  box.append(h("ol", { class: "history" }, items.map((x) => {
    const label = x.reference ? `${x.reference} · ${x.subject || ""}` : (x.subject || stateLabel(x.state));
    const can = x.visible !== false;
    return h("li", {},
      h("button", { class: "history-open", type: "button", disabled: !can, title: can ? t("customer.open") : t("customer.colleague"),
        onclick: () => open({ type: x.type, id: x.id }) },
        channelBadge(x.channel_id || "case"), h("span", { class: "history-what" }, label)),
      h("span", { class: "muted small" }, `${dateTimeOf(x.created_at)} · ${stateLabel(x.state)}${x.wrap_up_code_name ? ` · ${x.wrap_up_code_name}` : ""}`));
  })));
}
