// The supervisor view: sign-in, the live feed, tiles, the queue table and the charts.
import { authHeaders, dropToken, signInWithPassword, signInWithToken, signOut, whoAmI } from "./auth.js";
import { OUTCOMES, dataTable, depthLine, offerBars } from "./charts.js";
import { openFeed } from "./feed.js";
import { clockSeconds, duration, percent, plural } from "./format.js";
import { refresh as refreshHistory, setUp as setUpHistory } from "./history.js";
import { refresh as refreshOperations } from "./operations.js";

const $ = (id) => document.getElementById(id);
const LIVE_TEXT = { live: "Live", connecting: "Connecting…", reconnecting: "Reconnecting…", offline: "Not connected" };
let feed = null;
let latest = null;
let skewMs = 0; // server clock minus browser clock, so waits tick in server time

function setLive(state) {
  $("live").dataset.state = state;
  $("live-text").textContent = LIVE_TEXT[state];
}

function showSignIn(message = "") {
  $("board").hidden = true;
  $("updated-line").hidden = true;
  $("sign-out").hidden = true;
  $("who").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("email").focus();
}

function showBoard(name) {
  $("signin").hidden = true;
  $("board").hidden = false;
  $("updated-line").hidden = false;
  $("sign-out").hidden = false;
  $("who").hidden = false;
  $("who").textContent = name;
}

function waitSeconds(oldestIso) {
  if (!oldestIso) return null;
  return (Date.now() + skewMs - Date.parse(oldestIso)) / 1000;
}

function listItems(list, entries) {
  list.replaceChildren(
    ...entries.map(([label, value, cls]) => {
      const li = document.createElement("li");
      if (cls) li.className = cls;
      const name = document.createElement("span");
      name.textContent = label;
      const count = document.createElement("strong");
      count.textContent = String(value);
      li.append(name, count);
      return li;
    }),
  );
}

function renderTiles(ov) {
  const t = ov.totals;
  $("t-depth").textContent = String(t.depth);
  $("t-depth-sub").textContent = `${t.offered} offered · ${t.in_progress} in progress`;
  const resolved = t.answered + t.abandoned;
  $("t-sl").textContent = percent(t.service_level);
  $("t-sl").dataset.level = t.service_level === null ? "none" : t.service_level >= 0.8 ? "good" : t.service_level >= 0.6 ? "fair" : "poor";
  $("t-sl-sub").textContent = resolved === 0
    ? "No item answered or abandoned yet"
    : `${t.answered_within} of ${plural(resolved, "item", "items")} in time · ${t.abandoned} abandoned`;
  $("t-offers").textContent = String(t.offers_accepted + t.offers_rejected + t.offers_timed_out);
  listItems($("t-offers-list"), OUTCOMES.map(([key, cls, label]) => [label, t[key], cls]));
  const a = ov.agents;
  const unit = document.createElement("span");
  unit.className = "unit";
  unit.textContent = " busy";
  $("t-agents").replaceChildren(String(a.busy), unit);
  $("t-agents-sub").textContent = `${a.idle} idle · ${a.unavailable} not available · ${a.total} in all`;
  listItems($("t-agents-list"), a.by_presence.map((p) => [p.name, p.agents, p.is_available ? "available" : "unavailable"]));
  renderWaits();
}

function renderWaits() {
  if (!latest) return;
  const wait = waitSeconds(latest.totals.oldest_queued_at);
  $("t-wait").textContent = wait === null ? "—" : duration(wait);
  $("t-wait-sub").textContent = wait === null ? "Nobody is waiting" : "Oldest item still in queue";
  for (const cell of document.querySelectorAll("td[data-oldest]")) {
    const w = waitSeconds(cell.dataset.oldest);
    cell.textContent = w === null ? "—" : duration(w);
  }
}

function cell(row, text, cls = "num") {
  const td = row.insertCell();
  td.className = cls;
  td.textContent = text;
  return td;
}

function renderQueues(ov) {
  const body = $("queues").tBodies[0];
  body.replaceChildren();
  for (const q of ov.queues) {
    const f = q.figures;
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    const name = document.createElement("span");
    name.className = "qname";
    name.textContent = q.name;
    const mode = document.createElement("span");
    mode.className = `badge ${q.routing_mode}`;
    mode.textContent = q.routing_mode;
    th.append(name, " ", mode);
    tr.append(th);
    cell(tr, String(f.depth), f.depth > 0 ? "num strong" : "num");
    const wait = cell(tr, "—");
    if (f.oldest_queued_at) wait.dataset.oldest = f.oldest_queued_at;
    cell(tr, String(f.offered));
    cell(tr, String(f.in_progress));
    cell(tr, String(f.items_created));
    const sl = cell(tr, percent(f.service_level));
    const target = document.createElement("span");
    target.className = "hint";
    target.textContent = ` ≤ ${q.threshold_s} s`;
    sl.append(target);
    cell(tr, String(f.offers_accepted));
    cell(tr, String(f.offers_rejected));
    cell(tr, String(f.offers_timed_out));
  }
}

function renderCharts(ov) {
  offerBars($("chart-offers"), ov.minutes);
  dataTable($("chart-offers-table"), ov.minutes, OUTCOMES.map(([key, , label]) => [key, label]), "Offer outcomes per minute");
  depthLine($("chart-depth"), ov.minutes);
  dataTable($("chart-depth-table"), ov.minutes, [["queue_depth", "In queue"], ["items_created", "Created"]], "Items in queue and created per minute");
}

// Announce only what a supervisor acts on, and only when it changes, not every tick.
function announce(ov) {
  const t = ov.totals;
  const text = `${plural(t.depth, "item", "items")} in queue, service level ${percent(t.service_level)}, ${ov.agents.idle} idle ${ov.agents.idle === 1 ? "agent" : "agents"}.`;
  if ($("announce").textContent !== text) $("announce").textContent = text;
}

function render(ov) {
  latest = ov;
  announce(ov);
  skewMs = Date.parse(ov.generated_at) - Date.now();
  $("updated").textContent = clockSeconds(ov.generated_at);
  $("updated").dateTime = ov.generated_at;
  renderTiles(ov);
  renderQueues(ov);
  renderCharts(ov);
  renderWaits();
  refreshOperations();
  setUpHistory(ov.queues);
  refreshHistory(false, Date.parse(ov.generated_at));
}

async function start(user) {
  // One authenticated request first, so a refused sign-in shows a clear message at once.
  let r = null;
  try {
    r = await fetch("/api/v1/supervisor/overview", { headers: authHeaders(), credentials: "same-origin" });
  } catch {
    r = null; // the server is unreachable: the feed below keeps retrying
  }
  if (r && (r.status === 401 || r.status === 403)) {
    const body = await r.json().catch(() => ({}));
    dropToken();
    showSignIn(body?.error?.message ?? "This account may not open the supervisor view.");
    return;
  }
  showBoard(user.name);
  if (r && r.ok) render(await r.json());
  feed = openFeed({
    onOverview: render,
    onState: setLive,
    onRefused: (reason) => {
      dropToken();
      showSignIn(`The live feed refused the sign-in (${reason}); sign in again.`);
    },
  });
}

$("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email || !password) {
    $("signin-error").textContent = "Enter your email and password.";
    return;
  }
  try {
    const user = await signInWithPassword(email, password);
    $("password").value = "";
    start(user);
  } catch (err) {
    $("signin-error").textContent = err.message;
    $("password").focus();
  }
});

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value;
  if (!token.trim()) {
    $("signin-error").textContent = "Enter an API token.";
    return;
  }
  signInWithToken(token);
  $("token").value = "";
  start({ name: "API token" });
});

$("sign-out").addEventListener("click", async () => {
  if (feed) feed.close();
  feed = null;
  await signOut();
  showSignIn();
});

setInterval(renderWaits, 1000);
whoAmI().then((user) => (user ? start(user) : showSignIn()), () => showSignIn());
