// The address names the open conversation (#interaction/ID or #case/ID), so a reload or a
// shared link opens it again.

const PATTERN = /^#(interaction|case)\/([^/]+)$/;

export function openedItem() {
  const m = PATTERN.exec(location.hash);
  return m ? { type: m[1], id: decodeURIComponent(m[2]) } : null;
}

export function showItem(doc) {
  const hash = doc ? `#${doc.document_type}/${encodeURIComponent(doc.id)}` : "";
  if (location.hash === hash) return;
  history.replaceState(null, "", `${location.pathname}${location.search}${hash}`);
}
