// Shared workspace state: the signed-in agent, the catalog and the connection.
import { api } from "./api.js";

export const state = {
  me: null,
  catalog: { channels: [], presence: [], queues: new Map(), wrapUpCodes: [], rejectReasons: new Map() },
  presence: null,
  connection: "connecting",
};

// The catalog as GET /workspace/bootstrap returns it.
export function setCatalog(catalog) {
  state.catalog.channels = catalog.channels;
  state.catalog.presence = catalog.presence_states;
  state.catalog.queues = new Map(catalog.queues.map((q) => [q.id, q]));
  state.catalog.wrapUpCodes = catalog.wrap_up_codes;
}

export async function rejectReasons(channelId) {
  if (!state.catalog.rejectReasons.has(channelId)) {
    const reasons = await api("GET", `/channels/${encodeURIComponent(channelId)}/reject-reasons`);
    state.catalog.rejectReasons.set(channelId, reasons);
  }
  return state.catalog.rejectReasons.get(channelId);
}

export function queueName(id) {
  return state.catalog.queues.get(id)?.name || id;
}

const documents = new Map();

// An interaction or case by id, fetched once and refreshed on demand.
export async function fetchDocument(type, id, { fresh = false } = {}) {
  const key = `${type}:${id}`;
  if (fresh || !documents.has(key)) {
    const path = type === "case" ? `/cases/${encodeURIComponent(id)}` : `/interactions/${encodeURIComponent(id)}`;
    const doc = await api("GET", path);
    doc.document_type = type;
    documents.set(key, doc);
  }
  return documents.get(key);
}
