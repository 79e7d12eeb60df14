// session.js: who is signed in, as the server says (GET /v1/session with the
// cookie). The principal is only for showing the right views: every
// decision is the server's, and a view the principal may not see gets the
// API's 403 like any other client.
import { call, setCsrf, ApiError } from "./api.js";

let principal = null;

export function who() {
  return principal;
}

// Asks the server; null when no session (401).
export async function refresh() {
  try {
    const me = await call("GET", "/v1/session", undefined, "session");
    principal = me.principal;
    setCsrf(me.csrf_token);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    principal = null;
    setCsrf("");
  }
  return principal;
}

// body: {name, password, totp} or {address, password}.
export async function signIn(body, context) {
  const answer = await call("POST", "/v1/session", Object.assign({}, body, { cookie: true }), context);
  principal = answer.principal;
  setCsrf(answer.csrf_token);
  return principal;
}

export async function signOut() {
  try {
    await call("DELETE", "/v1/session", undefined, "session");
  } catch (e) {
    // ended already (401 clears the cookie too): signed out all the same
  }
  principal = null;
  setCsrf("");
}

// A session that ended under a view (idle, or the password changed).
export function forget() {
  principal = null;
  setCsrf("");
}
