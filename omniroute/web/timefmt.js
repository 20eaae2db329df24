// The one time format of the product: the browser's locale, the browser's time zone.
// Pages rendered on the server mark times as <time datetime="..." data-local="time|datetime">.

const TIME = { hour: "2-digit", minute: "2-digit" };
const TIME_S = { hour: "2-digit", minute: "2-digit", second: "2-digit" };
const DATETIME = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" };

const formats = new Map();
function format(options) {
  const key = JSON.stringify(options);
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(undefined, options));
  return formats.get(key);
}

function parse(value) {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** "14:05" (or "2:05 PM"), as the browser's locale writes it. */
export function timeOf(value) {
  const d = value ? parse(value) : null;
  return d ? format(TIME).format(d) : "";
}

/** "14:05:09" in the browser's locale. */
export function timeWithSeconds(value) {
  const d = value ? parse(value) : null;
  return d ? format(TIME_S).format(d) : "";
}

/** "3 Dec, 14:05" (or "Dec 3, 2:05 PM"). */
export function dateTimeOf(value) {
  const d = value ? parse(value) : null;
  return d ? format(DATETIME).format(d) : "";
}

/** Fill every <time data-local> under root with the local rendering of its datetime. */
export function localizeTimes(root = document) {
  for (const el of root.querySelectorAll("time[data-local]")) {
    const value = el.getAttribute("datetime");
    el.textContent = el.dataset.local === "time" ? timeOf(value) : dateTimeOf(value);
    el.title = value;
  }
}

if (typeof document !== "undefined" && document.querySelector?.("time[data-local]")) localizeTimes();
