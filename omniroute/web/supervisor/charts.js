// Hand-written SVG charts of the last hour: stacked offer outcomes and queue depth.
import { clock } from "./format.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640;
const H = 220;
const M = { top: 12, right: 12, bottom: 28, left: 40 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;
export const OUTCOMES = [
  ["offers_accepted", "accepted", "Accepted"],
  ["offers_rejected", "rejected", "Rejected"],
  ["offers_timed_out", "timed_out", "Timed out"],
];

export function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/** A round axis maximum (1, 2 or 5 times a power of ten) and its tick step. */
export function scale(max) {
  if (max <= 4) return { top: 4, step: 1 };
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

function clear(svg) {
  for (const node of [...svg.childNodes]) if (node.nodeName !== "desc" && node.nodeName !== "title") node.remove();
}

function axes(svg, minutes, top, step) {
  const g = el("g", { class: "axes", "aria-hidden": "true" });
  for (let v = 0; v <= top; v += step) {
    const y = M.top + PH - (v / top) * PH;
    g.append(el("line", { class: v === 0 ? "baseline" : "grid", x1: M.left, x2: W - M.right, y1: y, y2: y }));
    g.append(el("text", { class: "tick", x: M.left - 6, y: y + 4, "text-anchor": "end" }, String(v)));
  }
  const slot = PW / minutes.length;
  minutes.forEach((m, i) => {
    if (i % 10 !== 0 && i !== minutes.length - 1) return;
    const x = M.left + slot * i + slot / 2;
    g.append(el("text", { class: "tick", x, y: H - 8, "text-anchor": "middle" }, clock(m.start)));
  });
  svg.append(g);
}

/** Clear a chart, draw its grid and labels; the plot's geometry for `count` slots. */
export function chartFrame(svg, count, top, step, labelAt, unit = "") {
  clear(svg);
  // Wide charts have a wide viewBox, so their text keeps the size of the small charts'.
  const box = svg.viewBox.baseVal;
  const w = box.width - M.left - M.right;
  const h = box.height - M.top - M.bottom;
  const g = el("g", { class: "axes", "aria-hidden": "true" });
  for (let v = 0; v <= top; v += step) {
    const y = M.top + h - (v / top) * h;
    g.append(el("line", { class: v === 0 ? "baseline" : "grid", x1: M.left, x2: box.width - M.right, y1: y, y2: y }));
    g.append(el("text", { class: "tick", x: M.left - 6, y: y + 4, "text-anchor": "end" }, `${v}${unit}`));
  }
  const slot = w / count;
  for (let i = 0; i < count; i += 1) {
    const label = labelAt(i);
    if (label !== null) g.append(el("text", { class: "tick", x: M.left + slot * i, y: box.height - 8, "text-anchor": "start" }, label));
  }
  svg.append(g);
  return {
    slot,
    base: M.top + h,
    x: (i) => M.left + slot * i,
    y: (v) => M.top + h - (v / top) * h,
  };
}

export function offerBars(svg, minutes) {
  clear(svg);
  const totals = minutes.map((m) => OUTCOMES.reduce((sum, [key]) => sum + m[key], 0));
  const { top, step } = scale(Math.max(0, ...totals));
  axes(svg, minutes, top, step);
  const slot = PW / minutes.length;
  const width = Math.max(2, slot * 0.72);
  const bars = el("g", { class: "bars" });
  minutes.forEach((m, i) => {
    if (totals[i] === 0) return;
    const group = el("g");
    group.append(el("title", {}, `${clock(m.start)}: ${OUTCOMES.map(([k, , label]) => `${label.toLowerCase()} ${m[k]}`).join(", ")}`));
    let base = M.top + PH;
    for (const [key, cls] of OUTCOMES) {
      if (m[key] === 0) continue;
      const h = (m[key] / top) * PH;
      base -= h;
      group.append(el("rect", { class: `bar ${cls}`, x: M.left + slot * i + (slot - width) / 2, y: base, width, height: h }));
    }
    bars.append(group);
  });
  svg.append(bars);
  const sums = OUTCOMES.map(([key, , label]) => `${minutes.reduce((s, m) => s + m[key], 0)} ${label.toLowerCase()}`);
  svg.querySelector("desc").textContent = `Stacked bars per minute over the last hour: ${sums.join(", ")}.`;
}

export function depthLine(svg, minutes) {
  clear(svg);
  const values = minutes.map((m) => m.queue_depth);
  const { top, step } = scale(Math.max(0, ...values));
  axes(svg, minutes, top, step);
  const slot = PW / minutes.length;
  const points = values.map((v, i) => [M.left + slot * i + slot / 2, M.top + PH - (v / top) * PH]);
  const line = points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const first = points[0];
  const last = points[points.length - 1];
  svg.append(el("polygon", { class: "area", points: `${first[0]},${M.top + PH} ${line} ${last[0]},${M.top + PH}` }));
  svg.append(el("polyline", { class: "line", points: line }));
  const dot = el("circle", { class: "dot", cx: last[0], cy: last[1], r: 4 });
  dot.append(el("title", {}, `Now: ${values[values.length - 1]} in queue`));
  svg.append(dot);
  const peak = Math.max(0, ...values);
  svg.querySelector("desc").textContent = `Line of items in queue per minute over the last hour: now ${values[values.length - 1]}, peak ${peak}.`;
}

/** A data table (the text alternative of a chart): `rows` are [{start, cells: [head, ...]}]. */
export function renderTable(container, { caption, headers, rows, empty, id = null }) {
  if (rows.length === 0) {
    const p = document.createElement("p");
    p.className = "muted small";
    p.textContent = empty;
    container.replaceChildren(p);
    return;
  }
  const table = document.createElement("table");
  table.className = "data";
  if (id) table.id = id;
  table.createCaption().textContent = caption;
  const head = table.createTHead().insertRow();
  for (const label of headers) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = label;
    head.append(th);
  }
  const body = table.createTBody();
  for (const { start, cells } of rows) {
    const tr = body.insertRow();
    if (start) tr.dataset.start = start;
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = cells[0];
    tr.append(th);
    for (const value of cells.slice(1)) tr.insertCell().textContent = value;
  }
  container.replaceChildren(table);
}

/** The chart's data as a table, the text alternative for every bar and point. */
export function dataTable(container, minutes, columns, caption) {
  renderTable(container, {
    caption,
    headers: ["Minute", ...columns.map(([, label]) => label)],
    rows: minutes
      .filter((m) => columns.some(([key]) => m[key] !== 0))
      .map((m) => ({ cells: [clock(m.start), ...columns.map(([key]) => String(m[key]))] })),
    empty: "Nothing in the last hour.",
  });
}
