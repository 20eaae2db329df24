// Internal notes: in the conversation's timeline, for agents and supervisors, never for the customer.
import { api } from "./api.js";
import { h, dateTimeOf, toast } from "./dom.js";
import { t } from "./i18n.js";

function notesPath(doc) {
  const kind = doc.document_type === "case" ? "cases" : "interactions";
  return `/${kind}/${encodeURIComponent(doc.id)}/notes`;
}

export function noteItem(note) {
  return h("li", { class: "note", "data-at": note.created_at, "data-note": note.id },
    h("div", { class: "note-head" }, h("strong", {}, t("note.title")), " · ", note.author_name,
      h("span", { class: "muted small" }, ` ${dateTimeOf(note.created_at)}`)),
    h("div", { class: "note-body" }, note.body));
}

// Put a dated item where it belongs among the timeline's dated items.
export function placeByTime(list, item) {
  const at = item.dataset.at;
  const after = [...list.children].find((el) => el.dataset.at && el.dataset.at > at);
  if (after) list.insertBefore(item, after); else list.append(item);
}

export async function loadNotes(list, doc) {
  try {
    const notes = await api("GET", notesPath(doc));
    for (const note of notes) {
      if (!list.querySelector(`[data-note="${note.id}"]`)) placeByTime(list, noteItem(note));
    }
  } catch { /* notes are extra: the conversation works without them */ }
}

// A small form under the composer: the note goes to the timeline, never to the customer.
export function noteForm(list, doc) {
  const input = h("textarea", { id: "note-input", rows: "2", maxlength: "10000", placeholder: t("note.placeholder") });
  const add = h("button", { class: "btn btn-secondary", type: "submit" }, t("note.add"));
  const form = h("form", { class: "note-form" },
    h("label", { for: "note-input", class: "composer-label" }, t("note.title")), input,
    h("div", { class: "composer-actions" }, add));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = input.value.trim();
    if (!body) { input.focus(); return; }
    add.disabled = true;
    try {
      const note = await api("POST", notesPath(doc), { body });
      placeByTime(list, noteItem(note));
      list.scrollTop = list.scrollHeight;
      input.value = "";
      toast(t("note.added"));
    } catch (err) {
      toast(t("note.failed", { error: err.message }), "error");
    } finally {
      add.disabled = false;
    }
  });
  return form;
}
