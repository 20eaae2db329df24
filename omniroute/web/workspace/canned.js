// Canned responses: type "/" in a reply box to pick one, or open the picker; placeholders fill in.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, openDialog } from "./dom.js";
import { state } from "./store.js";

let cache = null;

export async function cannedResponses({ fresh = false } = {}) {
  if (!cache || fresh) cache = api("GET", "/canned-responses").catch((err) => { cache = null; throw err; });
  return cache;
}

export function fillPlaceholders(body, doc) {
  const values = {
    "customer name": doc?.customer_name || "there",
    "agent name": state.me?.name || "",
  };
  return body.replace(/\{\s*(customer name|agent name)\s*\}/gi, (_, key) => values[key.toLowerCase()]);
}

function matches(item, query) {
  const q = query.toLowerCase();
  return !q || item.shortcut.toLowerCase().startsWith(q) || item.title.toLowerCase().includes(q);
}

function insertAt(input, start, end, text) {
  input.setRangeText(text, start, end, "end");
  input.dispatchEvent(new Event("input", { bubbles: true }));
  input.focus();
}

// A listbox under the reply box while the agent types "/word"; arrows move, Enter or Tab inserts.
export function attachSlashMenu(input, doc) {
  const menu = h("ul", { class: "canned-menu", role: "listbox", id: `${input.id}-canned`, hidden: true, "aria-label": t("canned.list") });
  input.setAttribute("aria-controls", menu.id);
  input.setAttribute("aria-autocomplete", "list");
  let items = [];
  let active = 0;
  let slash = -1;

  const close = () => { menu.hidden = true; slash = -1; input.setAttribute("aria-expanded", "false"); };
  const paint = () => {
    menu.replaceChildren(...items.map((item, i) => h("li", {
      role: "option", id: `${menu.id}-${i}`, class: `canned-option${i === active ? " active" : ""}`,
      "aria-selected": String(i === active),
      onmousedown: (ev) => { ev.preventDefault(); choose(i); },
    }, h("strong", {}, item.shortcut ? `/${item.shortcut}` : item.title), " ",
      h("span", { class: "muted" }, item.shortcut ? item.title : ""),
      h("span", { class: "canned-preview" }, fillPlaceholders(item.body, doc).slice(0, 90)))));
    if (items.length === 0) menu.append(h("li", { class: "canned-empty muted" }, t("canned.no_match")));
    input.setAttribute("aria-activedescendant", items.length ? `${menu.id}-${active}` : "");
  };
  const choose = (i) => {
    const item = items[i];
    if (!item) return;
    insertAt(input, slash, input.selectionStart, fillPlaceholders(item.body, doc));
    close();
  };
  const update = async () => {
    const before = input.value.slice(0, input.selectionStart);
    const m = before.match(/(^|\s)\/([\w-]*)$/);
    if (!m) { close(); return; }
    slash = before.length - m[2].length - 1;
    let all = [];
    try { all = await cannedResponses(); } catch { close(); return; }
    items = all.filter((item) => matches(item, m[2])).slice(0, 8);
    active = Math.min(active, Math.max(0, items.length - 1));
    menu.hidden = false;
    input.setAttribute("aria-expanded", "true");
    paint();
  };
  input.addEventListener("input", update);
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (ev) => {
    if (menu.hidden) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      active = (active + (ev.key === "ArrowDown" ? 1 : -1) + items.length) % Math.max(1, items.length);
      paint();
    } else if ((ev.key === "Enter" || ev.key === "Tab") && items.length) {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      choose(active);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      ev.stopImmediatePropagation();
      close();
    }
  }, { capture: true });
  return menu;
}

// A button that opens the picker: search shared and personal responses, insert one.
export function cannedButton(input, doc) {
  return h("button", { class: "btn btn-secondary btn-icon", type: "button", title: t("canned.button_title"),
    "aria-label": t("canned.button_label"), onclick: () => openPicker(input, doc) }, t("canned.button"));
}

async function openPicker(input, doc) {
  let all = [];
  try { all = await cannedResponses({ fresh: true }); } catch { all = []; }
  const filter = h("input", { type: "search", id: "canned-filter", placeholder: t("canned.search"), "aria-label": t("canned.search") });
  const list = h("div", { class: "choice-list canned-list", role: "listbox", "aria-label": t("canned.list") });
  const paint = () => {
    const shown = all.filter((item) => matches(item, filter.value) || item.body.toLowerCase().includes(filter.value.toLowerCase()));
    list.replaceChildren(...(shown.length ? shown.map((item) => h("button", { type: "button", class: "choice canned-choice",
      onclick: () => { insertAt(input, input.selectionStart, input.selectionEnd, fillPlaceholders(item.body, doc)); dlg.close(); } },
      h("span", { class: "choice-name" }, item.title),
      h("span", { class: "muted small" }, `${item.shortcut ? `/${item.shortcut} · ` : ""}${item.shared ? t("canned.shared") : t("canned.personal")}`),
      h("span", { class: "canned-preview" }, fillPlaceholders(item.body, doc)))) : [h("p", { class: "muted" }, t("canned.none"))]));
  };
  filter.addEventListener("input", paint);
  const dlg = openDialog({
    title: t("canned.list"),
    body: h("div", { class: "dialog-body" }, filter, list),
    actions: [h("button", { class: "btn btn-secondary", type: "submit", value: "cancel" }, t("common.close"))],
  });
  paint();
  filter.focus();
}
