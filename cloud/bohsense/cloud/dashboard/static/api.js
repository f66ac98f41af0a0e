// The HTTP API of this origin: the session (tokens), every call with its bearer token,
// one refresh on an expired token, and problem+json errors as ApiError.

export const V1 = "/api/v1";
const KEY = "bohsense.session";
const PROBLEM = "https://bohsense.dev/problems/";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
    this.type = String(this.problem.type || "").replace(PROBLEM, "");
  }
}

/** The signed-in person's tokens (per tab: sessionStorage). */
let session = JSON.parse(sessionStorage.getItem(KEY) || "null");
let onSignedOut = () => {};
let refreshing = null;

export function setSignedOutHandler(fn) {
  onSignedOut = fn;
}

export function hasSession() {
  return Boolean(session && session.access_token);
}

function keep(tokens) {
  session = tokens;
  if (tokens) sessionStorage.setItem(KEY, JSON.stringify(tokens));
  else sessionStorage.removeItem(KEY);
}

export function authHeaders() {
  return session && session.access_token ? { Authorization: `Bearer ${session.access_token}` } : {};
}

async function problemOf(res) {
  try {
    return await res.json();
  } catch {
    return { detail: res.statusText };
  }
}

async function tokenRequest(form) {
  const res = await fetch(`${V1}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form).toString(),
  });
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res.json();
}

export async function signIn(username, password) {
  const tokens = await tokenRequest({ grant_type: "password", username, password });
  keep(tokens);
  return tokens;
}

async function refresh() {
  if (!session || !session.refresh_token) return false;
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: session.refresh_token })
      .then((tokens) => {
        keep({ ...session, ...tokens });
        return true;
      })
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

export async function signOut() {
  if (hasSession()) {
    try {
      await fetch(`${V1}/auth/logout`, {
        method: "POST",
        headers: { ...authHeaders(), "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: session.refresh_token || "" }),
      });
    } catch {
      // signed out here whatever the server says
    }
  }
  keep(null);
}

/**
 * fetch() with the bearer token; on 401 token-expired, refresh once and retry; on any
 * other 401 the session is over (the sign-in form comes back).
 */
export async function send(path, init = {}, retried = false) {
  const headers = { Accept: "application/json", ...(init.headers || {}), ...authHeaders() };
  const res = await fetch(path.startsWith("/") ? path : `${V1}/${path}`, { ...init, headers });
  if (res.status === 401) {
    const problem = await problemOf(res);
    const type = String(problem.type || "").replace(PROBLEM, "");
    if (!retried && type === "token-expired" && (await refresh())) return send(path, init, true);
    keep(null);
    onSignedOut(problem);
    throw new ApiError(401, problem);
  }
  return res;
}

export async function call(path, { method = "GET", body, signal } = {}) {
  const init = { method, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { "Content-Type": "application/json" };
  }
  const res = await send(path, init);
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  if (res.status === 204) return null;
  return res.json();
}

function nextLink(res) {
  const link = res.headers.get("Link") || "";
  const m = link.match(/<([^>]+)>\s*;\s*rel="?next"?/);
  return m ? m[1] : null;
}

/** Every row of a list, following the Link cursor (at most `pages` pages). */
export async function list(path, { pages = 10, signal } = {}) {
  const rows = [];
  let next = path.startsWith("/") ? path : `${V1}/${path}`;
  for (let i = 0; next && i < pages; i += 1) {
    const res = await send(next, { signal });
    if (!res.ok) throw new ApiError(res.status, await problemOf(res));
    rows.push(...(await res.json()));
    next = nextLink(res);
  }
  return rows;
}

/** Who is signed in; null when the API has no sign-in (open, the local administrator). */
export async function me() {
  const res = await send(`${V1}/auth/me`);
  if (res.status === 404) return null;
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res.json();
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
