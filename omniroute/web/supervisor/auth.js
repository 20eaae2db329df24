// How the page proves who it is: the browser session (cookie) of a supervisor, or, for
// administrators who have only an API token, a bearer token kept in sessionStorage.
const KEY = "omniroute.supervisor.token";
let csrfToken = null;

function storedToken() {
  return sessionStorage.getItem(KEY);
}

/** Who is signed in: {name, supervisor} for a session, {name: "API token"} for a token, or null. */
export async function whoAmI() {
  if (storedToken()) return { name: "API token", supervisor: true };
  const r = await fetch("/api/v1/session", { credentials: "same-origin" });
  if (!r.ok) return null;
  const body = await r.json();
  csrfToken = body.csrf_token;
  return { name: body.name, supervisor: body.supervisor };
}

async function errorMessage(r, fallback) {
  const body = await r.json().catch(() => ({}));
  return body?.error?.message ?? fallback;
}

/** Sign in with email and password; throws an Error whose message says what to fix. */
export async function signInWithPassword(email, password) {
  const r = await fetch("/api/v1/session", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!r.ok) throw new Error(await errorMessage(r, "Sign-in failed."));
  const body = await r.json();
  csrfToken = body.csrf_token;
  return { name: body.name, supervisor: body.supervisor };
}

export function signInWithToken(token) {
  sessionStorage.setItem(KEY, token.trim());
}

export async function signOut() {
  if (storedToken()) {
    sessionStorage.removeItem(KEY);
    return;
  }
  if (csrfToken) {
    await fetch("/api/v1/session", {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken },
    }).catch(() => null);
    csrfToken = null;
  }
}

/** Forget a token the server refused (a session cookie is the server's to end). */
export function dropToken() {
  sessionStorage.removeItem(KEY);
}

/** Headers that authenticate a fetch: the token's, or none (the cookie goes by itself). */
export function authHeaders() {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Headers for a change: the token's, or the session's CSRF token. */
export function changeHeaders() {
  const headers = { ...authHeaders(), "Content-Type": "application/json" };
  if (!storedToken() && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  return headers;
}

/** The WebSocket URL of a path; browsers cannot set headers, so a token goes in the query. */
export function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const token = storedToken();
  if (token) url.searchParams.set("token", token);
  return url.toString();
}
