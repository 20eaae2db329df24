// Call controls for voice calls and callbacks: only the actions the provider offers right now.

import { h, clear, mmss } from "./dom.js";
import { t } from "./i18n.js";

function duration(seconds) {
  if (seconds < 3600) return mmss(seconds);
  const hours = Math.floor(seconds / 3600);
  return `${hours}:${mmss(seconds - hours * 3600).padStart(5, "0")}`;
}

// Canonical order, so buttons do not jump around between contexts.
// [action, tone]; labels come from the catalogue (call.action.<action>).
const ACTIONS = [
  ["answer", "primary"],
  ["dial", "primary"],
  ["retry_callback", "primary"],
  ["resume", "primary"],
  ["hold", "plain"],
  ["mute", "plain"],
  ["unmute", "plain"],
  ["transfer", "plain"],
  ["end", "danger"],
];

const STATES = new Set(["scheduled", "alerting", "dialing", "connected", "held", "no_answer", "ended"]);

const KINDS = new Set(["inbound", "outbound", "callback"]);
const TIMED_STATES = new Set(["connected", "held"]);
const timers = new WeakMap();

function elapsed(ctx, now) {
  if (!ctx.connected_at || !TIMED_STATES.has(ctx.state)) return null;
  return (now - Date.parse(ctx.connected_at)) / 1000;
}

function numberField(id, label, value, hint) {
  return h("div", { class: "cc-field" },
    h("label", { for: id }, label),
    h("input", {
      id, type: "tel", autocomplete: "off", inputmode: "tel", value: value || "",
      "aria-describedby": `${id}-hint`,
    }),
    h("span", { id: `${id}-hint`, class: "cc-hint" }, hint),
  );
}

/**
 * Render the controls for a call context into `container`; call it again with each new context.
 * `invoke(action, params)` returns a promise; a rejection's message is shown to the agent.
 * Returns {update(context), destroy()}.
 */
export function renderControls(container, callContext, { invoke, now = () => Date.now() } = {}) {
  if (typeof invoke !== "function") throw new TypeError("renderControls needs {invoke}");
  const previous = timers.get(container);
  if (previous) clearInterval(previous);
  // Keyboard users keep their place: focus returns to the same action, or the first one.
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  const focusedAction = focused?.dataset?.action || (focused ? "" : null);
  clear(container);
  container.classList.add("call-controls");
  if (!callContext) {
    container.append(h("p", { class: "cc-empty" }, t("call.none")));
    return { update: (ctx) => renderControls(container, ctx, { invoke, now }), destroy: () => clear(container) };
  }
  const uid = `cc-${Math.random().toString(36).slice(2, 8)}`;
  const ctx = callContext;
  const available = new Set(ctx.available_actions || []);
  const stateBadge = h("span", { class: `cc-state cc-state-${ctx.state}` }, STATES.has(ctx.state) ? t(`call.state.${ctx.state}`) : ctx.state);
  const mutedBadge = ctx.muted ? h("span", { class: "cc-muted" }, t("call.muted")) : null;
  const timer = h("span", { class: "cc-timer", role: "timer", "aria-label": t("call.time") });
  const error = h("p", { class: "cc-error", role: "alert" });
  const pending = h("p", { class: "cc-pending", role: "status", "aria-live": "polite" });
  const buttons = h("div", { class: "cc-buttons", role: "group", "aria-label": t("call.actions") });
  const form = h("div", { class: "cc-form" });

  const tick = () => {
    const seconds = elapsed(ctx, now());
    timer.textContent = seconds === null ? "" : duration(seconds);
    timer.hidden = seconds === null;
  };

  let busy = false;
  const setBusy = (value) => {
    // aria-disabled rather than disabled, so the focused button keeps the focus.
    busy = value;
    container.setAttribute("aria-busy", value ? "true" : "false");
    for (const b of container.querySelectorAll("button")) b.setAttribute("aria-disabled", String(value));
  };

  async function run(action, params = {}) {
    if (busy) return;
    error.textContent = "";
    setBusy(true);
    const label = t(`call.action.${action}`).replace("…", "");
    pending.textContent = t("call.sent", { action: label });
    try {
      await invoke(action, params);
    } catch (err) {
      pending.textContent = "";
      error.textContent = t("call.failed", { action: label, error: err?.message || err });
      setBusy(false);
      return;
    }
    // The buttons come back with the provider's next call context (update()).
    setBusy(false);
  }

  function askNumber(action, id, label, submitLabel, initial, hint) {
    clear(form);
    const field = numberField(id, label, initial, hint);
    const input = field.querySelector("input");
    const cancel = () => { clear(form); buttons.querySelector(`[data-action="${action}"]`)?.focus(); };
    const submit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) {
        error.textContent = t("call.required", { field: label });
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      clear(form);
      run(action, action === "dial" ? { number: value } : { target: value });
    };
    form.append(h("form", { class: "cc-inline", onsubmit: submit, onkeydown: (e) => { if (e.key === "Escape") cancel(); } },
      field,
      h("div", { class: "cc-inline-actions" },
        h("button", { type: "submit", class: "cc-btn cc-primary" }, submitLabel),
        h("button", { type: "button", class: "cc-btn cc-plain", onclick: cancel }, t("common.cancel")),
      ),
    ));
    input.focus();
    input.select();
  }

  for (const [action, tone] of ACTIONS) {
    const label = t(`call.action.${action}`);
    if (!available.has(action)) continue;
    const onclick = () => {
      if (busy) return;
      if (action === "transfer") {
        askNumber(action, `${uid}-target`, t("call.transfer_to"), t("call.transfer"), "",
          t("call.transfer_hint"));
      } else if (action === "dial") {
        askNumber(action, `${uid}-number`, t("call.dial_number"), t("call.action.dial"), ctx.customer_number,
          "A phone number, e.g. +44 20 7946 0000");
      } else run(action);
    };
    buttons.append(h("button", { type: "button", class: `cc-btn cc-${tone}`, "data-action": action, onclick }, label));
  }

  container.append(
    h("div", { class: "cc-head" },
      h("div", { class: "cc-who" },
        h("span", { class: "cc-kind" }, KINDS.has(ctx.kind) ? t(`call.kind.${ctx.kind}`) : t("call.kind.call")),
        h("span", { class: "cc-number" }, ctx.customer_number || t("call.unknown_number")),
      ),
      timer,
    ),
    h("div", { class: "cc-status", role: "status", "aria-live": "polite", "aria-label": t("call.state_label") },
      stateBadge, mutedBadge,
    ),
    available.size ? buttons : h("p", { class: "cc-empty" }, t("call.no_actions")),
    form, pending, error,
  );
  tick();
  if (TIMED_STATES.has(ctx.state) && ctx.connected_at) timers.set(container, setInterval(tick, 1000));
  if (focusedAction !== null) {
    (buttons.querySelector(`[data-action="${focusedAction}"]`) || buttons.querySelector("button"))?.focus();
  }
  return {
    update(next) {
      // Contexts may arrive out of order: the one that happened last is current.
      const older = next && next.interaction_id === ctx.interaction_id
        && Date.parse(next.occurred_at) < Date.parse(ctx.occurred_at);
      return older ? this : renderControls(container, next, { invoke, now });
    },
    destroy: () => { clearInterval(timers.get(container)); clear(container); },
  };
}
