// api.js: the pages' one way to the API (doc/api.md), on the same origin.
// The session is the HttpOnly cookie the server set at sign-in (no script
// can read it); every change carries the session's CSRF token in
// X-Roster-CSRF, as the server demands. An error answer becomes an ApiError
// whose message() is a sentence from the catalogue, never the server's text.
import { t } from "./i18n.js";

let csrf = "";

export function setCsrf(token) {
  csrf = token || "";
}

export class ApiError extends Error {
  constructor(status, code, field, context) {
    super(code);
    this.status = status;
    this.code = code;      // the server's error.code, or "network"
    this.field = field;    // the input field it is about, or null
    this.context = context || "";
    this.retryAfter = 0;   // seconds, from a 429's Retry-After
  }

  // The catalogue's sentence for this error: error.<context>.<code> first
  // (a sign-in's 401 reads differently from a session that ended), then
  // error.<code>, then a general one.
  message_key() {
    const keys = [];
    if (this.context && this.field) keys.push(`error.${this.context}.${this.field}.${this.code}`);
    if (this.context) keys.push(`error.${this.context}.${this.code}`);
    keys.push(`error.${this.code}`);
    for (const key of keys) if (t(key) !== key) return key;
    return "error.generic";
  }

  text(params) {
    return t(this.message_key(), Object.assign({ status: String(this.status) }, params || {}));
  }
}

// One request: method, path ("/v1/..."), body (an object, sent as JSON) and
// a context naming the form, for the error messages. Resolves to the parsed
// answer (null for 204); rejects with an ApiError.
export async function call(method, path, body, context) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && method !== "HEAD" && csrf) headers["X-Roster-CSRF"] = csrf;
  let r;
  try {
    r = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
    });
  } catch (e) {
    throw new ApiError(0, "network", null, context);
  }
  let answer = null;
  if (r.status !== 204) {
    try {
      answer = await r.json();
    } catch (e) {
      answer = null;
    }
  }
  if (!r.ok) {
    const err = (answer && answer.error) || {};
    const error = new ApiError(r.status, typeof err.code === "string" ? err.code : "http_" + r.status,
      typeof err.field === "string" ? err.field : null, context);
    const wait = Number(r.headers.get("Retry-After"));
    if (Number.isFinite(wait) && wait > 0) error.retryAfter = wait;
    throw error;
  }
  return answer;
}

// An address for a path segment: every character but the unreserved escaped.
export function segment(text) {
  return encodeURIComponent(text);
}
