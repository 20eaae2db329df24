// The workspace's only way to the server: JSON, the session cookie and the CSRF token.

let csrfToken = null;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function setCsrf(token) {
  csrfToken = token;
}

export function csrf() {
  return csrfToken;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch (err) {
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const e = data?.error || {};
    throw new ApiError(response.status, e.code || "HTTP_" + response.status,
      e.message || response.statusText, e.field);
  }
  return data;
}
