// router.js: hash routing (#/signin, #/me, ...): the server serves static
// files only, and nothing after '#' ever reaches it. A route is a pattern of
// literal parts and :names and a function that renders the view.

const routes = [];
let fallback = null;

export function route(pattern, render) {
  routes.push({ parts: pattern.split("/").filter(Boolean), render });
}

export function otherwise(render) {
  fallback = render;
}

export function current() {
  return location.hash.replace(/^#/, "") || "/";
}

export function go(path) {
  if (current() === path) {
    dispatch();
  } else {
    location.hash = "#" + path;  // hashchange dispatches
  }
}

export function dispatch() {
  const parts = current().split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (e) {
      return p;
    }
  });
  for (const r of routes) {
    if (r.parts.length !== parts.length) continue;
    const params = {};
    let ok = true;
    r.parts.forEach((p, i) => {
      if (p.startsWith(":")) params[p.slice(1)] = parts[i];
      else if (p !== parts[i]) ok = false;
    });
    if (ok) return r.render(params);
  }
  if (fallback) return fallback();
  return undefined;
}

export function start() {
  window.addEventListener("hashchange", dispatch);
  dispatch();
}
