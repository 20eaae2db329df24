// Files in the conversation: upload (raw body, CSRF header), show as links, download with the session.
import { t } from "./i18n.js";
import { ApiError, csrf } from "./api.js";
import { h, toast } from "./dom.js";

export async function uploadFile(interactionId, file, kind = "interactions") {
  const headers = { Accept: "application/json", "Content-Type": file.type || "application/octet-stream" };
  if (csrf()) headers["X-CSRF-Token"] = csrf();
  const response = await fetch(`/api/v1/${kind}/${encodeURIComponent(interactionId)}/attachments?filename=${encodeURIComponent(file.name)}`, {
    method: "POST", headers, body: file, credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const e = data?.error || {};
    throw new ApiError(response.status, e.code || `HTTP_${response.status}`, e.message || response.statusText, e.field);
  }
  return data;
}

export function sizeLabel(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.ceil(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function attachmentLinks(attachments, href = (a) => `/api/v1/attachments/${encodeURIComponent(a.id)}`) {
  if (!attachments?.length) return null;
  return h("ul", { class: "attachments", "aria-label": t("files.list") },
    attachments.map((a) => h("li", {}, h("a", { class: "attachment", href: href(a), download: a.filename },
      a.filename, h("span", { class: "muted small" }, ` ${sizeLabel(a.size)}`)))));
}

// A paperclip button with a hidden file input; `onFiles` gets the chosen files.
export function attachButton(onFiles, id) {
  const input = h("input", { type: "file", id, multiple: true, hidden: true, "aria-hidden": "true" });
  input.addEventListener("change", () => { const files = [...input.files]; input.value = ""; if (files.length) onFiles(files); });
  const button = h("button", { class: "btn btn-secondary btn-icon", type: "button", title: t("files.attach_label"),
    "aria-label": t("files.attach_label"), onclick: () => input.click() }, t("files.attach"));
  return h("span", { class: "attach" }, input, button);
}

// Files uploaded for an email reply and not sent yet, shown as removable chips.
export class PendingFiles {
  constructor(docId, kind = "interactions") {
    this.docId = docId;
    this.kind = kind;
    this.files = [];
    this.chips = h("ul", { class: "attachments pending", "aria-label": t("files.pending") });
  }

  async add(files) {
    for (const file of files) {
      try {
        this.files.push(await uploadFile(this.docId, file, this.kind));
      } catch (err) {
        toast(t("files.not_attached", { name: file.name, error: err.message }), "error");
      }
    }
    this.paint();
  }

  ids() { return this.files.map((a) => a.id); }

  clear() { this.files = []; this.paint(); }

  paint() {
    this.chips.replaceChildren(...this.files.map((a) => h("li", { class: "chip" }, `${a.filename} (${sizeLabel(a.size)})`,
      h("button", { class: "btn-link", type: "button", "aria-label": t("files.remove_label", { name: a.filename }),
        onclick: () => { this.files = this.files.filter((x) => x !== a); this.paint(); } }, t("files.remove")))));
  }
}
