// The console's one door to the API: same origin, the access token in memory only, the refresh
// token an HttpOnly cookie auth sets (`refresh_cookie`) and this module never sees.

/** An answer the API refused, in the API's own words. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

let token = null;
let expiresAt = 0;
let refreshTimer = null;
let refreshing = null;
const tokenListeners = new Set();
const endListeners = new Set();

/** Called with every new access token (the live connection hands it over in-band). */
export function onToken(listener) {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

/** Called once when the session is over (logged out, revoked, or the refresh cookie refused). */
export function onSessionEnd(listener) {
  endListeners.add(listener);
  return () => endListeners.delete(listener);
}

export function accessToken() {
  return token;
}

function adopt(answer) {
  token = answer.token;
  expiresAt = Date.now() + answer.expires_in * 1000;
  clearTimeout(refreshTimer);
  // A minute before it expires (or at half its life, for short ones).
  const lead = Math.min(60_000, (answer.expires_in * 1000) / 2);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(1_000, expiresAt - Date.now() - lead));
  for (const listener of tokenListeners) listener(token);
}

function forget(reason) {
  const hadToken = token !== null;
  token = null;
  expiresAt = 0;
  clearTimeout(refreshTimer);
  if (hadToken) for (const listener of endListeners) listener(reason);
}

/** Ends the session here after the server ended it (a `session_ended` frame). */
export function sessionEnded(reason) {
  forget(reason);
}

async function readError(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `The server answered ${response.status}.`;
  try {
    const body = await response.json();
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  return new ApiError(response.status, code, message, Number.isFinite(retry) ? retry : null);
}

async function post(path, body, headers = {}) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await readError(response);
  return response.json();
}

/** Password login; the refresh token becomes the cookie. */
export async function login(username, password) {
  const answer = await post("/api/auth/login", { username, password, platform: "web", refresh_cookie: true });
  adopt(answer);
  return answer;
}

/** A Discord login's one-time code for a session. */
export async function exchange(code) {
  const answer = await post("/api/auth/exchange", { code, refresh_cookie: true });
  adopt(answer);
  return answer;
}

/** A new access token from the refresh cookie; one at a time across this browser's tabs. */
export function refresh() {
  if (!refreshing) {
    const run = async () => {
      try {
        adopt(await post("/api/auth/refresh", {}, { "X-Requested-With": "guildhall-console" }));
        return true;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
          forget(error.code);
          return false;
        }
        throw error;
      }
    };
    const locked = navigator.locks ? navigator.locks.request("guildhall-refresh", run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

/** After a reload: the session the cookie still holds, if any. */
export async function resume() {
  try {
    return await refresh();
  } catch {
    return false;
  }
}

export async function logout() {
  try {
    if (token) await request("POST", "/api/auth/logout");
  } finally {
    forget("logged_out");
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One API call. `query` becomes the query string (empty values left out), `body` JSON,
 * `idempotencyKey` the header of that name. A 401 refreshes once and tries again; a read the
 * server asks to wait for a few seconds (429, 503 with Retry-After) waits and tries again; any
 * other refusal throws an ApiError with the server's message.
 */
export async function request(method, path, { query, body, idempotencyKey, text = false } = {}) {
  if (token && expiresAt - Date.now() < 10_000) await refresh();
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const encoded = params.toString();
    if (encoded) url += `?${encoded}`;
  }
  for (let attempt = 0; ; attempt++) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
    const response = await fetch(url, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.ok) {
      if (text) return response.text();
      return response.status === 204 ? null : response.json();
    }
    const error = await readError(response);
    if (error.status === 401 && token && attempt === 0) {
      if (await refresh()) continue;
    }
    const idempotent = method === "GET" || idempotencyKey;
    if (idempotent && attempt < 2 && (error.status === 429 || error.status === 503) && error.retryAfter !== null && error.retryAfter <= 5) {
      await sleep(error.retryAfter * 1000 + 100);
      continue;
    }
    throw error;
  }
}

export const get = (path, query) => request("GET", path, { query });
export const send = (method, path, body, options = {}) => request(method, path, { body, ...options });

/** A fresh key for one user action (kept by the caller across its retries). */
export function newIdempotencyKey() {
  return crypto.randomUUID();
}
