// main.js: the pages' start. Loads the catalogue, asks who is signed in,
// builds the header and hands the rest to the router: #/signin (mailbox
// users), #/signin/admin, #/forgot, #/reset/<token>, #/apply, #/me (a mailbox user's own page),
// #/admin/... (the administrators' pages: admin.js). Every view is made with dom.js (text as
// text, never HTML).
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { byId, replace } from "./dom.js";
import { route, otherwise, start, go, dispatch } from "./router.js";
import { status } from "./form.js";
import * as session from "./session.js";
import { signInView } from "./signin.js";
import { meView } from "./me.js";
import { registerAdminRoutes } from "./admin.js";
import { forgotView, resetLinkView } from "./recovery.js";
import { applyView } from "./apply.js";

function home() {
  const p = session.who();
  if (!p) return "/signin";
  return p.kind === "mailbox_user" ? "/me" : "/admin";
}

// The header's text in the current language, and who is signed in.
export function renderHeader() {
  document.title = t("app.title");
  byId("brand").textContent = t("app.name");
  byId("lang-label").textContent = t("lang.label");
  byId("lang-en").textContent = t("lang.en");
  byId("lang-zh-CN").textContent = t("lang.zh-CN");
  byId("lang").value = i18n.language();
  const p = session.who();
  const signout = byId("signout");
  signout.textContent = t("nav.signout");
  signout.hidden = !p;
  byId("who").textContent = p ? t("nav.signed_in_as", { name: p.name }) : "";
}

// Renders a view that needs a principal of one of `kinds`; others go home.
function guarded(kinds, view) {
  return (params) => {
    const p = session.who();
    if (!p || !kinds.includes(p.kind)) return go(home());
    return view(params, { onEnded: ended });
  };
}

// The session ended under a view (401): back to sign-in, saying why.
function ended(messageKey) {
  session.forget();
  renderHeader();
  go("/signin");
  status(t(messageKey || "signin.ended"), "info");
}

async function boot() {
  await i18n.load(i18n.choose());
  try {
    await session.refresh();
  } catch (e) {
    status(e.text ? e.text() : t("error.generic"), "error");
  }
  renderHeader();
  byId("lang").addEventListener("change", async (event) => {
    await i18n.choosePermanently(event.target.value);
    renderHeader();
    dispatch();
  });
  byId("signout").addEventListener("click", async () => {
    await session.signOut();
    renderHeader();
    status(t("signin.signed_out"), "info");
    go("/signin");
  });
  const signedIn = (principal) => {
    renderHeader();
    status("");
    go(principal.kind === "mailbox_user" ? "/me" : "/admin");
  };
  route("/signin", () => (session.who() ? go(home()) : signInView("mailbox", signedIn)));
  route("/signin/admin", () => (session.who() ? go(home()) : signInView("admin", signedIn)));
  // Open to anyone: the forgotten password and the application form.
  route("/forgot", forgotView);
  route("/reset", resetLinkView);
  route("/reset/:token", resetLinkView);
  route("/apply", applyView);
  route("/apply/:domain", applyView);
  route("/me", guarded(["mailbox_user"], meView));
  registerAdminRoutes(route, guarded, go);
  otherwise(() => go(home()));
  start();
}

boot().catch(() => {
  replace(byId("main"), "roster: the pages could not start (see the browser's console).");
});
