// Small DOM helpers: every string goes in as text, never as HTML.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function mmss(totalSeconds) {
  const s = Math.max(0, Math.round(totalSeconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

// One time format across the product: the browser's locale (see /static/timefmt.js).
export { timeOf, dateTimeOf } from "../timefmt.js";

export const CHANNEL_LABELS = {
  chat: "Chat", email: "Email", case: "Case", voice: "Voice call", callback: "Callback",
};

export function channelLabel(id) {
  return CHANNEL_LABELS[id] || id;
}

export function channelBadge(id) {
  return h("span", { class: `badge ch-${id}` }, channelLabel(id));
}

// Announce a message to screen readers and show it as a toast.
export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  if (!region) return;
  const item = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 5000);
}

// A modal dialog built on <dialog>: focus is trapped by the browser, Escape closes it.
export function openDialog({ title, body, actions, onClose, labelledBy = "dlg-title" }) {
  const dlg = h("dialog", { class: "dialog", "aria-labelledby": labelledBy },
    h("form", { method: "dialog", class: "dialog-form" },
      h("h2", { id: labelledBy, class: "dialog-title" }, title),
      body,
      h("div", { class: "dialog-actions" }, actions),
    ),
  );
  dlg.addEventListener("close", () => { dlg.remove(); onClose?.(); });
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}
