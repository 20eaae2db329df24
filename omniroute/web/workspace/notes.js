// Internal notes: in the conversation's timeline, for agents and supervisors, never for the customer.
import { t } from "./i18n.js";
import { api } from "./api.js";
import { h, dateTimeOf, toast } from "./dom.js";

function notesPath(doc) {
  const kind = doc.document_type === "case" ? "cases" : "interactions";
  return `/${kind}/${encodeURIComponent(doc.id)}/notes`;
}

export function noteItem(note) {
  return h("li", { class: "note", "data-at": note.created_at, "data-note": note.id },
    h("div", { class: "note-head" }, h("strong", {}, t("notes.label")), " · ", note.author_name,
      h("span", { class: "muted small" }, ` ${dateTimeOf(note.created_at)}`)),
    h("div", { class: "note-body" }, note.body));
}

// Put a dated item where it belongs among the timeline's dated items.
export function placeByTime(list, item) {
  const at = item.dataset.at;
  const after = [...list.children].find((el) => el.dataset.at && el.dataset.at > at);
  if (after) list.insertBefore(item, after); else list.append(item);
}

// A colleague's note pushed on the feed (`note.added`): into the open timeline, once.
export function showNote(list, d) {
  if (list.querySelector(`[data-note="${CSS.escape(d.note_id)}"]`)) return;
  placeByTime(list, noteItem({ id: d.note_id, author_name: d.author_name, body: d.body, created_at: d.created_at }));
  list.scrollTop = list.scrollHeight;
}

export async function loadNotes(list, doc) {
  try {
    const notes = await api("GET", notesPath(doc));
    for (const note of notes) {
      if (!list.querySelector(`[data-note="${note.id}"]`)) placeByTime(list, noteItem(note));
    }
  } catch { /* notes are extra: the conversation works without them */ }
}

// A folded form under the composer (it keeps the transcript tall): the note goes to the
// timeline, never to the customer.
export function noteForm(list, doc) {
  const input = h("textarea", { id: "note-input", rows: "2", maxlength: "10000", placeholder: t("notes.placeholder") });
  const add = h("button", { class: "btn btn-secondary", type: "submit" }, t("notes.add"));
  const form = h("form", {},
    h("label", { for: "note-input", class: "composer-label" }, t("notes.label")), input,
    h("div", { class: "composer-actions" }, add));
  const box = h("details", { class: "note-form" }, h("summary", {}, t("notes.open")), form);
  box.addEventListener("toggle", () => { if (box.open) input.focus(); });
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
      box.open = false;
      toast(t("notes.added"));
    } catch (err) {
      toast(t("notes.failed", { error: err.message }), "error");
    } finally {
      add.disabled = false;
    }
  });
  return box;
}
