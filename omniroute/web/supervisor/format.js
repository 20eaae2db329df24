// Number and time formatting shared by the tiles, the table and the charts.

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
}

export function percent(share) {
  return share === null || share === undefined ? "—" : `${Math.round(share * 100)}%`;
}

// Times follow the browser's locale and time zone, as everywhere in the product.
export { timeOf as clock, timeWithSeconds as clockSeconds } from "../timefmt.js";

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
