// recovery.js: the forgotten-password views, open to anyone (doc/api.md
// "Password recovery"). #/forgot: the address, then the user's own security
// question, then the answer and a new password; a 429 after too many wrong
// answers shows when the lock lifts (a 429 of the per-client throttle says
// that instead: code reset_locked tells them apart); where the domain offers
// links, "mail me a link" instead. #/reset/<token>: the link from that mail.
// The token is read from the fragment (never sent to the server in a URL),
// the fragment is cleared at once (history.replaceState), and the token goes
// in the POST's body. Every decision is the server's; these views only ask
// and show.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status, heading, focusHeading } from "./form.js";
import { call, ApiError } from "./api.js";
import { go } from "./router.js";

function back() {
  return el("p", { class: "switch" }, el("a", { href: "#/signin", id: "recovery-back" }, t("recovery.back")));
}

// The time a lock lifts, in the user's language (the server says how many
// seconds are left; the page adds them to its own clock).
function lockLifts(seconds) {
  const at = new Date(Date.now() + seconds * 1000);
  return new Intl.DateTimeFormat(i18n.language(), { dateStyle: "medium", timeStyle: "short" }).format(at);
}

function showLock(seconds) {
  const message = t("recovery.locked", { time: lockLifts(seconds || 1800) });
  const box = byId("recovery-locked");
  if (box) box.textContent = message;
  status(message, "error");
}

// A 429 is one of two things (doc/api.md "Errors"): the reset of this
// mailbox locked after wrong answers (code reset_locked: an administrator
// can lift it), or this client's own calls throttled (too_many_attempts:
// nothing about the mailbox; waiting is the only way). Each says so.
function throttled(e) {
  return e instanceof ApiError && e.status === 429 && e.code !== "reset_locked";
}

function throttledMessage(e) {
  return t("recovery.throttled", { time: lockLifts(e.retryAfter || 900) });
}

// Step 1: the address.
export function forgotView() {
  const submit = el("button", { type: "submit", id: "recovery-continue" }, t("recovery.continue"));
  const form = el("form", { class: "card", id: "recovery-address-form", novalidate: true },
    field({ id: "recovery-address", label: t("signin.address"), type: "email", autocomplete: "username", hint: t("signin.address_hint") }),
    el("div", {}, submit));
  replace(byId("main"), heading(t("recovery.title")), el("p", {}, t("recovery.intro")), form, back());
  focusHeading();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const address = byId("recovery-address").value.trim();
    if (!address) return fieldError("recovery-address", t("signin.need_address"));
    submit.disabled = true;
    try {
      const answer = await call("POST", "/v1/recovery/question", { address }, "recovery");
      status("");
      answerStep(answer.address || address, answer.question, answer.link === true);
    } catch (e) {
      const message = throttled(e) ? throttledMessage(e) : e.text ? e.text() : t("error.generic");
      status(message, "error");
      fieldError("recovery-address", message);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
}

// "Mail me a link": the same answer whether a mail went or not.
function linkButton(address) {
  const button = el("button", { type: "button", id: "recovery-link", class: "secondary" }, t("recovery.link"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await call("POST", "/v1/recovery/link", { address }, "recovery");
      status(t("recovery.link_requested"), "info");
    } catch (e) {
      if (throttled(e)) status(throttledMessage(e), "error");
      else status(e.text ? e.text() : t("error.generic"), "error");
    } finally {
      button.disabled = false;
    }
  });
  return el("p", {}, button);
}

// Step 2: the question, the answer and the new password.
function answerStep(address, question, link) {
  const main = byId("main");
  if (!question) {
    replace(main, heading(t("recovery.title")),
      el("p", { id: "recovery-none" }, t("recovery.no_question", { address })),
      link ? linkButton(address) : null,
      back());
    focusHeading();
    return;
  }
  const submit = el("button", { type: "submit", id: "recovery-submit" }, t("recovery.submit"));
  const form = el("form", { class: "card", id: "recovery-form", novalidate: true },
    el("p", {}, el("span", { class: "hint" }, t("recovery.question_label")),
      el("strong", { id: "recovery-question" }, question)),
    field({ id: "recovery-answer", label: t("recovery.answer"), hint: t("recovery.answer_hint"), maxlength: 255 }),
    field({ id: "recovery-password", label: t("me.password.new"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    field({ id: "recovery-password2", label: t("me.password.repeat"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    el("p", { id: "recovery-locked", class: "field-error", role: "alert" }),
    el("div", {}, submit));
  replace(main, heading(t("recovery.title")),
    el("p", { id: "recovery-for" }, t("recovery.for", { address })),
    form,
    link ? linkButton(address) : null,
    back());
  focusHeading();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const answer = byId("recovery-answer").value;
    const password = byId("recovery-password").value;
    if (!answer.trim()) return fieldError("recovery-answer", t("recovery.need_answer"));
    if (!password) return fieldError("recovery-password", t("me.password.need_new"));
    if (password !== byId("recovery-password2").value) return fieldError("recovery-password2", t("me.password.mismatch"));
    submit.disabled = true;
    try {
      await call("POST", "/v1/recovery/reset", { address, answer, password }, "recovery");
      go("/signin");
      status(t("recovery.done"), "info");
    } catch (e) {
      byId("recovery-answer").value = "";
      if (throttled(e)) {
        fieldError("recovery-answer", throttledMessage(e));
        status(throttledMessage(e), "error");
      } else if (e instanceof ApiError && e.status === 429) {
        showLock(e.retryAfter);
        byId("recovery-answer").focus();
      } else {
        const message = e.text ? e.text() : t("error.generic");
        status(message, "error");
        const map = { answer: "recovery-answer", password: "recovery-password" };
        fieldError(map[e.field] || "recovery-answer", message);
      }
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
}

// #/reset/<token>: the link a recovery mail carried. The token leaves the
// address bar (and the history) before anything else happens.
export function resetLinkView(params) {
  const token = (params && params.token) || "";
  history.replaceState(null, "", location.pathname + location.search + "#/reset");
  const main = byId("main");
  if (!token) {
    replace(main, heading(t("recovery.link_title")), el("p", { id: "recovery-link-missing" }, t("recovery.link_missing")), back());
    focusHeading();
    return;
  }
  const submit = el("button", { type: "submit", id: "link-reset-submit" }, t("recovery.submit"));
  const form = el("form", { class: "card", id: "link-reset-form", novalidate: true },
    field({ id: "link-password", label: t("me.password.new"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    field({ id: "link-password2", label: t("me.password.repeat"), type: "password", autocomplete: "new-password", maxlength: 1024 }),
    el("div", {}, submit));
  replace(main, heading(t("recovery.link_title")), form, back());
  focusHeading();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const password = byId("link-password").value;
    if (!password) return fieldError("link-password", t("me.password.need_new"));
    if (password !== byId("link-password2").value) return fieldError("link-password2", t("me.password.mismatch"));
    submit.disabled = true;
    try {
      await call("POST", "/v1/recovery/link/reset", { token, password }, "recovery_link");
      go("/signin");
      status(t("recovery.done"), "info");
    } catch (e) {
      const message = throttled(e) ? throttledMessage(e) : e.text ? e.text() : t("error.generic");
      status(message, "error");
      fieldError("link-password", message);
    } finally {
      submit.disabled = false;
    }
    return undefined;
  });
}
