// The day/week chart: offered, accepted and abandoned work and the service level per bucket,
// from the stored interval reports (GET /api/v1/reports/queues), in the browser's time zone.
import { authHeaders } from "./auth.js";
import { dateTimeOf, timeOf } from "../timefmt.js";
import { percent } from "./format.js";
import { chartFrame, el, renderTable, scale } from "./charts.js";

const $ = (id) => document.getElementById(id);
const QUARTER_MS = 15 * 60 * 1000;
// Reports change when an interval closes (in server time); fetch then, or after this long.
const REFETCH_MS = 5 * 60 * 1000;
export const SERIES = [
  ["offered", "offered", "Offered"],
  ["accepted", "accepted", "Accepted"],
  ["abandoned", "abandoned", "Abandoned"],
];
let fetchedAt = 0;
let skewMs = 0; // server clock minus browser clock
let pending = null;
let lastKey = "";

/** Midnight of a local calendar day, `days` after the given date's day. */
function localMidnight(date, days = 0) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

/** The local start of the bucket holding an instant: its quarter hour, hour or day. */
function bucketStart(ms, size) {
  if (size === "15m") return ms - (ms % QUARTER_MS);
  const d = new Date(ms);
  if (size === "hour") return ms - (d.getMinutes() * 60000 + d.getSeconds() * 1000 + d.getMilliseconds());
  return localMidnight(d).getTime();
}

/** The view the controls ask for: range, local bucket size, the report's own bucket, queue. */
export function viewOf(controls) {
  const [y, m, d] = controls.date.split("-").map(Number);
  const day = Number.isFinite(y) ? new Date(y, m - 1, d) : new Date();
  const week = controls.range === "week";
  const since = localMidnight(day, week ? -6 : 0);
  const until = localMidnight(day, 1);
  const size = week ? controls.bucket : "15m";
  // Report hours are UTC hours: where the local offset is not whole hours, add up quarters.
  const wholeHours = [since, until].every((t) => t.getTimezoneOffset() % 60 === 0);
  const fetchBucket = size === "15m" || !wholeHours ? "15m" : "hour";
  return { since, until, size, fetchBucket, queue: controls.queue };
}

/** Every local bucket of the range, oldest first, with the report rows added up into it. */
export function buckets(view, rows) {
  const byStart = new Map();
  for (let t = view.since.getTime(); t < view.until.getTime(); t += QUARTER_MS) {
    const start = bucketStart(t, view.size);
    if (!byStart.has(start)) {
      byStart.set(start, { start, offered: 0, accepted: 0, abandoned: 0, answered: 0, answered_within: 0 });
    }
  }
  for (const row of rows) {
    if (view.queue && row.key !== view.queue) continue;
    const b = byStart.get(bucketStart(Date.parse(row.start), view.size));
    if (!b) continue;
    for (const key of ["offered", "accepted", "abandoned", "answered", "answered_within"]) b[key] += row[key];
  }
  return [...byStart.values()].map((b) => {
    const resolved = b.answered + b.abandoned;
    return { ...b, service_level: resolved === 0 ? null : b.answered_within / resolved };
  });
}

const WEEKDAY = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const DAY_LONG = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });

/** A bucket's name as the browser's locale writes it. */
export function bucketLabel(start, size) {
  if (size === "day") return WEEKDAY.format(new Date(start));
  if (size === "hour") return dateTimeOf(new Date(start));
  return timeOf(new Date(start));
}

function tickLabel(start, size) {
  return size === "15m" ? timeOf(new Date(start)) : WEEKDAY.format(new Date(start));
}

/** Where the x-axis gets a label: every 3 hours of a day, every day of a week. */
function labelled(start, i, size) {
  if (size === "day") return true;
  const d = new Date(start);
  if (size === "hour") return d.getHours() === 0 && d.getMinutes() === 0;
  return d.getMinutes() === 0 && d.getHours() % 3 === 0;
}

function drawCounts(svg, list, size) {
  const { top, step } = scale(Math.max(0, ...list.flatMap((b) => SERIES.map(([key]) => b[key]))));
  const frame = chartFrame(svg, list.length, top, step, (i) => (labelled(list[i].start, i, size) ? tickLabel(list[i].start, size) : null));
  const groups = el("g", { class: "bars" });
  const width = Math.max(1, (frame.slot * 0.84) / SERIES.length);
  list.forEach((b, i) => {
    if (SERIES.every(([key]) => b[key] === 0)) return;
    const g = el("g", { "data-start": new Date(b.start).toISOString() });
    g.append(el("title", {}, `${bucketLabel(b.start, size)}: ${SERIES.map(([k, , label]) => `${label.toLowerCase()} ${b[k]}`).join(", ")}`));
    SERIES.forEach(([key, cls], s) => {
      if (b[key] === 0) return;
      const h = frame.y(b[key]);
      g.append(el("rect", { class: `bar ${cls}`, x: frame.x(i) + frame.slot * 0.08 + width * s, y: h, width, height: frame.base - h }));
    });
    groups.append(g);
  });
  svg.append(groups);
  const sums = SERIES.map(([key, , label]) => `${list.reduce((s, b) => s + b[key], 0)} ${label.toLowerCase()}`);
  svg.querySelector("desc").textContent = `Grouped bars per ${size === "15m" ? "15 minutes" : size}: ${sums.join(", ")}.`;
}

function drawServiceLevel(svg, list, size) {
  const frame = chartFrame(svg, list.length, 100, 25, (i) => (labelled(list[i].start, i, size) ? tickLabel(list[i].start, size) : null), "%");
  const points = [];
  list.forEach((b, i) => {
    if (b.service_level === null) return;
    points.push([frame.x(i) + frame.slot / 2, frame.y(b.service_level * 100), b, i]);
  });
  // Buckets without answered or abandoned work have no service level: the line breaks there.
  let run = [];
  const flush = () => {
    if (run.length > 1) svg.append(el("polyline", { class: "line", points: run.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ") }));
    run = [];
  };
  points.forEach((p, n) => {
    if (n > 0 && p[3] !== points[n - 1][3] + 1) flush();
    run.push(p);
  });
  flush();
  for (const [x, y, b] of points) {
    const dot = el("circle", { class: "dot", cx: x, cy: y, r: 3, "data-start": new Date(b.start).toISOString() });
    dot.append(el("title", {}, `${bucketLabel(b.start, size)}: service level ${percent(b.service_level)}`));
    svg.append(dot);
  }
  const answered = list.reduce((s, b) => s + b.answered, 0);
  const abandoned = list.reduce((s, b) => s + b.abandoned, 0);
  const within = list.reduce((s, b) => s + b.answered_within, 0);
  const overall = answered + abandoned === 0 ? null : within / (answered + abandoned);
  svg.querySelector("desc").textContent = `Service level per ${size === "15m" ? "15 minutes" : size}; over the whole range ${percent(overall)}.`;
}

function table(container, list, size) {
  renderTable(container, {
    id: "history-data",
    caption: "Offered, accepted and abandoned work and the service level per bucket",
    headers: [size === "day" ? "Day" : "Time", ...SERIES.map(([, , label]) => label), "Service level"],
    rows: list
      .filter((b) => SERIES.some(([key]) => b[key] !== 0) || b.service_level !== null)
      .map((b) => ({
        start: new Date(b.start).toISOString(),
        cells: [bucketLabel(b.start, size), ...SERIES.map(([key]) => String(b[key])), percent(b.service_level)],
      })),
    empty: "Nothing was offered or abandoned in this range.",
  });
}

function controls() {
  return { range: $("history-range").value, bucket: $("history-bucket").value, date: $("history-date").value, queue: $("history-queue").value };
}

async function load(view) {
  const params = new URLSearchParams({ since: view.since.toISOString(), until: view.until.toISOString(), bucket: view.fetchBucket });
  if (view.queue) params.append("queue_id", view.queue);
  const r = await fetch(`/api/v1/reports/queues?${params}`, { headers: authHeaders(), credentials: "same-origin" });
  if (!r.ok) {
    const body = await r.json().catch(() => ({}));
    throw new Error(body?.error?.message ?? `the report answered ${r.status}`);
  }
  return r.json();
}

function render(view, rows) {
  const list = buckets(view, rows);
  drawCounts($("chart-history"), list, view.size);
  drawServiceLevel($("chart-history-sl"), list, view.size);
  table($("history-table"), list, view.size);
  const range = view.size === "15m"
    ? DAY_LONG.format(view.since)
    : `${DAY_LONG.format(view.since)} – ${DAY_LONG.format(localMidnight(view.until, -1))}`;
  $("history-range-text").textContent = range;
}

function keyOf(view) {
  return JSON.stringify([view.since, view.until, view.size, view.queue]);
}

/** Fetch and draw when a server-time interval closed since the last fetch (`serverNow`,
 * from the feed), or at once when `force` (a control changed). */
export async function refresh(force = false, serverNow = null) {
  if (serverNow === null) serverNow = Date.now() + skewMs;
  else skewMs = serverNow - Date.now();
  // A page left on today follows the calendar past midnight.
  const date = $("history-date");
  if (date.value === date.dataset.today && todayValue() !== date.dataset.today) date.value = todayValue();
  date.dataset.today = date.max = todayValue();
  const view = viewOf(controls());
  const key = keyOf(view);
  const crossed = Math.floor(serverNow / QUARTER_MS) !== Math.floor(fetchedAt / QUARTER_MS);
  if (!force && key === lastKey && !crossed && serverNow - fetchedAt < REFETCH_MS) return;
  if (pending) return;
  fetchedAt = serverNow;
  lastKey = key;
  pending = load(view)
    .then((rows) => {
      $("history-status").textContent = "";
      $("history").setAttribute("aria-busy", "false");
      render(view, rows);
    })
    .catch((err) => {
      $("history-status").textContent = `Could not load the report: ${err.message}`;
    })
    .finally(() => {
      pending = null;
      // A control changed while the last answer was on its way: draw what is asked now.
      if (keyOf(viewOf(controls())) !== lastKey) refresh(true);
    });
}

function todayValue() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Fill the queue choice and wire the controls, once. */
export function setUp(queues) {
  const select = $("history-queue");
  if (select.dataset.ready) return;
  select.dataset.ready = "1";
  for (const q of queues) select.append(new Option(q.name, q.id));
  $("history-date").value = todayValue();
  const sync = () => {
    $("history-bucket").disabled = $("history-range").value !== "week";
    refresh(true);
  };
  for (const id of ["history-range", "history-bucket", "history-date", "history-queue"]) $(id).addEventListener("change", sync);
  $("history-bucket").disabled = true;
}
