// The transfer dialog: to an agent (showing who can take it now) or to a queue; blind or consult.
import { api } from "./api.js";
import { t } from "./i18n.js";
import { h, openDialog } from "./dom.js";
import { state } from "./store.js";

export async function openTransferDialog(doc, me, onStarted) {
  let directory = [];
  let waiting = new Map();
  const [agents, depths] = await Promise.allSettled([api("GET", "/directory/agents"), api("GET", "/directory/queues")]);
  if (agents.status === "fulfilled") directory = agents.value;
  if (depths.status === "fulfilled") waiting = new Map(depths.value.map((q) => [q.queue_id, q.waiting]));
  const colleagues = directory.filter((a) => a.id !== me.agent_id)
    .sort((a, b) => Number(b.available_on.includes(doc.channel_id)) - Number(a.available_on.includes(doc.channel_id)));
  const queues = [...state.catalog.queues.values()].filter((q) => q.channels.includes(doc.channel_id));
  const problem = h("p", { class: "form-error", role: "alert" });

  const agentList = h("div", { class: "choice-list", role: "radiogroup", "aria-label": "Agents" },
    colleagues.length ? colleagues.map((a) => {
      const free = a.available_on.includes(doc.channel_id);
      return h("label", { class: `choice${free ? "" : " choice-off"}` },
        h("input", { type: "radio", name: "target-agent", value: a.id, disabled: !free }),
        h("span", { class: `presence-dot ${free ? "on" : "off"}`, "aria-hidden": "true" }),
        h("span", { class: "choice-name" }, a.name),
        h("span", { class: "muted small" }, free ? "Available" : `${a.presence_name}${a.presence_id === "available" ? " · at capacity" : ""}`));
    }) : h("p", { class: "muted" }, "No colleagues found."));
  const queueList = h("div", { class: "choice-list", role: "radiogroup", "aria-label": "Queues", hidden: true },
    queues.map((q) => h("label", { class: "choice" },
      h("input", { type: "radio", name: "target-queue", value: q.id }),
      h("span", { class: "choice-name" }, q.name),
      waiting.has(q.id) ? h("span", { class: "muted small queue-waiting" }, t("transfer.waiting", { n: waiting.get(q.id) })) : null,
      q.routing_mode === "external" ? h("span", { class: "muted small" }, "routed by the contact center") : null)));

  const toAgent = h("input", { type: "radio", name: "target-kind", id: "kind-agent", value: "agent", checked: true });
  const toQueue = h("input", { type: "radio", name: "target-kind", id: "kind-queue", value: "queue" });
  const switchKind = () => { agentList.hidden = !toAgent.checked; queueList.hidden = !toQueue.checked; };
  toAgent.addEventListener("change", switchKind);
  toQueue.addEventListener("change", switchKind);
  const blind = h("input", { type: "radio", name: "transfer-type", id: "type-blind", value: "blind", checked: true });
  const consult = h("input", { type: "radio", name: "transfer-type", id: "type-consult", value: "consult" });

  const note = h("textarea", { id: "transfer-note", rows: "3", maxlength: "2000", placeholder: t("transfer.note_placeholder") });
  const start = h("button", { class: "btn btn-primary", type: "submit", value: "start" }, "Start transfer");
  const dlg = openDialog({
    title: "Transfer",
    body: h("div", { class: "dialog-body" },
      h("fieldset", { class: "segmented" }, h("legend", {}, "Transfer to"),
        h("label", { for: "kind-agent" }, toAgent, "An agent"), h("label", { for: "kind-queue" }, toQueue, "A queue")),
      agentList, queueList,
      h("fieldset", { class: "segmented" }, h("legend", {}, "Type"),
        h("label", { for: "type-blind" }, blind, "Blind: hand it over"),
        h("label", { for: "type-consult" }, consult, "Consult: stay until you complete it")),
      h("label", { for: "transfer-note" }, t("transfer.note")), note,
      problem),
    actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel", formnovalidate: true }, "Cancel"), start],
  });
  start.addEventListener("click", async (ev) => {
    ev.preventDefault();
    const body = { type: consult.checked ? "consult" : "blind" };
    if (note.value.trim()) body.note = note.value.trim();
    const picked = dlg.querySelector(toAgent.checked ? "input[name=target-agent]:checked" : "input[name=target-queue]:checked");
    if (!picked) {
      problem.textContent = toAgent.checked ? "Choose an available agent." : "Choose a queue.";
      return;
    }
    if (toAgent.checked) body.target_agent_id = picked.value; else body.target_queue_id = picked.value;
    start.disabled = true;
    try {
      const item = await api("POST", `/documents/${encodeURIComponent(doc.id)}/transfer`, body);
      const targetName = toAgent.checked ? colleagues.find((a) => a.id === picked.value)?.name : state.catalog.queues.get(picked.value)?.name;
      dlg.close();
      onStarted({ transfer_id: item.id, type: body.type, target_agent_id: body.target_agent_id || null,
        target_queue_id: body.target_queue_id || null, target_name: targetName, state: "pending" });
    } catch (err) {
      problem.textContent = err.message;
      start.disabled = false;
    }
  });
  (colleagues.find((a) => a.available_on.includes(doc.channel_id)) ? agentList.querySelector("input:not([disabled])") : toQueue)?.focus();
}
