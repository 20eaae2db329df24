// Keyboard shortcuts; `?` lists them. Single keys act only when the agent is not typing.
import { h, openDialog } from "./dom.js";
import { t } from "./i18n.js";

// [keys shown, catalogue key]; the reply-box keys work while typing in a reply.
export const SHORTCUTS = [
  [["A"], "keys.accept"],
  [["R"], "keys.reject"],
  [["J"], "keys.next"],
  [["K"], "keys.previous"],
  [["C"], "keys.compose"],
  [["/"], "keys.canned"],
  [["Enter"], "keys.send_chat"],
  [["Ctrl", "Enter"], "keys.send_email"],
  [["Shift", "Enter"], "keys.newline"],
  [["Esc"], "keys.close"],
  [["?"], "keys.help"],
];

function typing(target) {
  const el = target instanceof Element ? target : null;
  return Boolean(el?.closest("input, textarea, select, [contenteditable=''], [contenteditable=true]"));
}

export function bindShortcuts({ inbox, worklist, conversation }) {
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.altKey || ev.metaKey || ev.ctrlKey || ev.isComposing) return;
    if (document.querySelector("dialog[open]") || typing(ev.target)) return;
    const action = {
      a: () => inbox.acceptFirst(),
      r: () => inbox.rejectFirst(),
      j: () => worklist.step(1),
      k: () => worklist.step(-1),
      c: () => conversation.focusComposer(),
      "/": () => conversation.focusComposer("/"),
      "?": () => showHelp(),
    }[ev.key.length === 1 ? ev.key.toLowerCase() : ev.key];
    if (!action) return;
    ev.preventDefault();
    action();
  });
}

export function showHelp() {
  if (document.getElementById("keys-title")) return;
  openDialog({
    title: t("keys.title"),
    labelledBy: "keys-title",
    body: h("div", { class: "dialog-body" },
      h("table", { class: "keys" },
        h("tbody", {}, SHORTCUTS.map(([keys, label]) => h("tr", {},
          h("td", {}, keys.map((k, i) => [i ? " + " : "", h("kbd", {}, k)])),
          h("td", {}, t(label))))))),
    actions: [h("button", { class: "btn btn-primary", type: "submit", value: "close" }, t("common.close"))],
  });
}
