// Supervisor actions: the per-agent table (with presence changes) and the waiting work
// (assign to an agent, move to a queue). Each change goes through the API and is audited.
import { authHeaders, changeHeaders } from "./auth.js";
import { clock, duration } from "./format.js";

const $ = (id) => document.getElementById(id);
const REASONS = {
  queue_closed: "Queue closed",
  no_agent_available: "No agent available",
  all_routable_agents_excluded: "Every available agent is excluded",
  waiting_for_preferred_agent: "Waiting for the preferred agent",
  no_eligible_agent: "No agent with the skills",
  routed_externally: "Routed by the provider",
  being_routed: "Being routed",
};
let presenceStates = [];
let queues = [];
let agents = [];
let busy = false;
let again = false;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

async function get(path) {
  const r = await fetch(`/api/v1${path}`, { headers: authHeaders(), credentials: "same-origin" });
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

async function act(method, path, body, what) {
  const r = await fetch(`/api/v1${path}`, {
    method,
    headers: changeHeaders(),
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await r.json().catch(() => ({}));
  $("ops-status").textContent = r.ok ? `${what}: done.` : `${what}: ${answer?.error?.message ?? r.status}`;
  await refresh();
}

function loadText(load) {
  const parts = Object.entries(load).map(([ch, n]) => `${ch} ${n}`);
  return parts.length ? parts.join(", ") : "—";
}

function presenceForm(agent) {
  const select = el("select", { "aria-label": `New presence for ${agent.name}` });
  for (const p of presenceStates) select.append(el("option", { value: p.id }, p.name));
  select.value = agent.presence_id;
  const reason = el("input", { type: "text", maxlength: "500", placeholder: "Reason shown to the agent", "aria-label": `Reason for ${agent.name}` });
  const button = el("button", { class: "btn ghost", type: "submit" }, "Set");
  const form = el("form", { class: "inline-form" }, select, reason, button);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!reason.value.trim()) { reason.focus(); $("ops-status").textContent = "Give a reason the agent will see."; return; }
    act("PUT", `/supervisor/agents/${encodeURIComponent(agent.agent_id)}/presence`,
      { presence_id: select.value, reason: reason.value.trim() }, `Presence of ${agent.name}`);
  });
  return form;
}

function renderAgents() {
  const body = $("agents-table").tBodies[0];
  body.replaceChildren(...agents.map((a) => {
    const state = presenceStates.find((p) => p.id === a.presence_id)?.name ?? a.presence_id;
    const since = a.presence_since ? clock(a.presence_since) : "—";
    return el("tr", { "data-agent": a.agent_id },
      el("th", { scope: "row" }, a.name),
      el("td", {}, state),
      el("td", {}, since),
      el("td", {}, loadText(a.load)),
      el("td", { class: "num" }, String(a.offers)),
      el("td", { class: "num" }, String(a.handled_today)),
      el("td", {}, presenceForm(a)));
  }));
}

function choice(label, options, placeholder) {
  const select = el("select", { "aria-label": label });
  select.append(el("option", { value: "" }, placeholder));
  for (const [value, text] of options) select.append(el("option", { value }, text));
  return select;
}

function renderStuck(items) {
  const list = $("stuck-list");
  if (!items.length) {
    const min = $("stuck-min");
    list.replaceChildren(el("li", { class: "muted" }, min.value === "0" ? "Nothing is waiting." : `Nothing has waited ${min.selectedOptions[0].text} or more.`));
    return;
  }
  list.replaceChildren(...items.map((item) => {
    const assign = choice(`Assign ${item.work_item_id} to`, agents.map((a) => [a.agent_id, a.name]), "Assign to…");
    const move = choice(`Move ${item.work_item_id} to`, queues.filter((q) => q.id !== item.queue_id && q.channels.includes(item.channel_id)).map((q) => [q.id, q.name]), "Move to…");
    assign.addEventListener("change", () => assign.value && act("POST", `/supervisor/work-items/${item.work_item_id}/assign`, { agent_id: assign.value }, "Assign"));
    move.addEventListener("change", () => move.value && act("POST", `/supervisor/work-items/${item.work_item_id}/move`, { queue_id: move.value }, "Move"));
    const excluded = item.excluded_agents.length ? ` (excluded: ${item.excluded_agents.join(", ")})` : "";
    return el("li", { class: "stuck", "data-item": item.work_item_id },
      el("span", {}, `${item.queue_id} · ${item.channel_id} · waiting ${duration(item.waited_s)} · `),
      el("strong", {}, (REASONS[item.reason] ?? item.reason) + excluded), " ", assign, " ", move);
  }));
}

$("stuck-min").addEventListener("change", () => refresh());

export async function refresh() {
  // One load at a time; a request during a load runs once after it, so nothing shows stale.
  if (busy) { again = true; return; }
  busy = true;
  again = false;
  try {
    if (!presenceStates.length) presenceStates = await get("/presence-states");
    if (!queues.length) queues = await get("/queues");
    agents = await get("/supervisor/agents");
    renderAgents();
    renderStuck(await get(`/supervisor/stuck?min_wait_s=${encodeURIComponent($("stuck-min").value)}`));
  } catch (err) {
    $("ops-status").textContent = `Could not load agents: ${err.message}`;
  } finally {
    busy = false;
    if (again) refresh();
  }
}
