// How the page proves who it is. Until session sign-in exists, a bearer token kept in
// sessionStorage; switching to the session cookie means changing only this module.
const KEY = "omniroute.supervisor.token";

export function signedIn() {
  return Boolean(sessionStorage.getItem(KEY));
}

export function signIn(token) {
  sessionStorage.setItem(KEY, token.trim());
}

export function signOut() {
  sessionStorage.removeItem(KEY);
}

/** Headers that authenticate a fetch. */
export function authHeaders() {
  const token = sessionStorage.getItem(KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** The WebSocket URL of a path; browsers cannot set headers, so the token goes in the query. */
export function socketUrl(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const token = sessionStorage.getItem(KEY);
  if (token) url.searchParams.set("token", token);
  return url.toString();
}
