// selfservice.js: the mailbox user's own settings on their page (me.js adds
// them): the security question and its answer and the recovery address
// (the current password required, as the API demands), app passwords
// (listed; a new one shown once, right after it is made; revoked), and the
// forwards the user owns (incoming subscriptions on their own address).
// Each section asks the API itself; a 403 or 404 (the server does not offer
// it to this user) leaves the section out. All text goes in as text.
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";
import { el, byId, replace } from "./dom.js";
import { field, clearErrors, fieldError, status } from "./form.js";
import { call, segment, ApiError } from "./api.js";

function section(id, title, ...children) {
  return el("section", { id, "aria-labelledby": id + "-title" }, el("h2", { id: id + "-title" }, title), children);
}

function failed(e, onEnded) {
  if (e instanceof ApiError && e.status === 401) {
    onEnded();
    return true;
  }
  status(e.text ? e.text() : t("error.generic"), "error");
  return false;
}

// ------------------------------------------------------------------ question

export function recoverySection(address, onEnded) {
  const box = section("recovery", t("self.recovery.title"), el("p", {}, t("me.loading")));
  const load = async () => {
    let current;
    try {
      current = await call("GET", `/v1/mailboxes/${segment(address)}/recovery`, undefined, "self");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return box.remove();
      return failed(e, onEnded);
    }
    const submit = el("button", { type: "submit", id: "self-recovery-submit" }, t("self.recovery.submit"));
    const form = el("form", { class: "card", id: "self-recovery-form", novalidate: true },
      field({ id: "self-question", label: t("self.recovery.question"), hint: t("self.recovery.question_hint"), maxlength: 255, required: false }),
      field({ id: "self-answer", label: t("self.recovery.answer"), hint: t("self.recovery.answer_hint"), maxlength: 255, required: false }),
      field({ id: "self-recovery-address", label: t("self.recovery.address"), type: "email", hint: t("self.recovery.address_hint"), required: false }),
      field({ id: "self-current-password", label: t("me.password.current"), type: "password", autocomplete: "current-password", maxlength: 1024 }),
      el("div", {}, submit));
    replace(box, el("h2", { id: "recovery-title" }, t("self.recovery.title")),
      el("dl", { class: "facts" },
        el("dt", {}, t("self.recovery.question")),
        el("dd", { id: "self-current-question" }, current.question || t("self.recovery.none")),
        el("dt", {}, t("self.recovery.address")),
        el("dd", { id: "self-current-address" }, current.recovery_address || t("self.recovery.none")),
        current.locked_until
          ? [el("dt", {}, t("self.recovery.lock")), el("dd", { id: "self-locked" }, i18n.dateTime(current.locked_until))]
          : null),
      form);
    form.querySelector("#self-recovery-address").value = current.recovery_address || "";
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const question = byId("self-question").value.trim();
      const answer = byId("self-answer").value;
      const recovery = byId("self-recovery-address").value.trim();
      const password = byId("self-current-password").value;
      const body = { current_password: password };
      if (question || answer) {
        if (!question) return fieldError("self-question", t("self.recovery.need_question"));
        if (!answer.trim()) return fieldError("self-answer", t("recovery.need_answer"));
        body.question = question;
        body.answer = answer;
      }
      if (recovery !== (current.recovery_address || "")) body.recovery_address = recovery;
      if (!("question" in body) && !("recovery_address" in body)) return fieldError("self-question", t("self.recovery.nothing"));
      if (!password) return fieldError("self-current-password", t("me.password.need_current"));
      submit.disabled = true;
      try {
        await call("PUT", `/v1/mailboxes/${segment(address)}/recovery`, body, "self_recovery");
        status(t("self.recovery.saved"), "info");
        await load();
      } catch (e) {
        byId("self-current-password").value = "";
        if (failed(e, onEnded)) return undefined;
        const map = { question: "self-question", answer: "self-answer", recovery_address: "self-recovery-address", current_password: "self-current-password" };
        // The page sends a question only with an answer, so the server's 400
        // on either is its bound (255 bytes).
        const tooLong = { question: "self.recovery.question_too_long", answer: "self.recovery.answer_too_long" };
        const message = e instanceof ApiError && e.code === "invalid" && tooLong[e.field]
          ? t(tooLong[e.field]) : e.text ? e.text() : t("error.generic");
        status(message, "error");
        fieldError(map[e.field] || "self-current-password", message);
      } finally {
        submit.disabled = false;
      }
      return undefined;
    });
    return undefined;
  };
  load();
  return box;
}

// ------------------------------------------------------------------ app passwords

export function appPasswordsSection(address, onEnded) {
  const box = section("app-passwords", t("self.apps.title"), el("p", {}, t("me.loading")));
  const path = `/v1/mailboxes/${segment(address)}/app-passwords`;
  const load = async (made) => {
    let list;
    try {
      list = await call("GET", path, undefined, "self");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return box.remove();
      return failed(e, onEnded);
    }
    const items = (list && list.items) || [];
    const rows = items.map((a) => {
      const revoke = el("button", { type: "button", class: "link", "data-id": String(a.id),
        "aria-label": t("self.apps.revoke", { label: a.label }) }, t("self.apps.revoke_button"));
      revoke.addEventListener("click", async () => {
        revoke.disabled = true;
        try {
          await call("DELETE", `${path}/${segment(String(a.id))}`, undefined, "self");
          status(t("self.apps.revoked", { label: a.label }), "info");
          await load();
        } catch (e) {
          failed(e, onEnded);
          revoke.disabled = false;
        }
      });
      return el("tr", {},
        el("td", {}, a.label),
        el("td", {}, a.protocols || t("self.apps.all")),
        el("td", {}, a.created ? i18n.dateTime(a.created) : ""),
        el("td", {}, a.last_used ? i18n.dateTime(a.last_used) : t("self.apps.never")),
        el("td", {}, revoke));
    });
    const submit = el("button", { type: "submit", id: "app-password-submit" }, t("self.apps.create"));
    const form = el("form", { class: "card", id: "app-password-form", novalidate: true },
      field({ id: "app-password-label", label: t("self.apps.label"), hint: t("self.apps.label_hint"), maxlength: 100 }),
      el("div", {}, submit));
    replace(box, el("h2", { id: "app-passwords-title" }, t("self.apps.title")),
      made ? el("div", { class: "status", id: "app-password-made" },
        el("p", {}, t("self.apps.shown_once", { label: made.label })),
        el("p", {}, el("code", { id: "app-password-new" }, made.password))) : null,
      items.length
        ? el("table", { id: "app-passwords-table" },
          el("thead", {}, el("tr", {},
            el("th", { scope: "col" }, t("self.apps.label")),
            el("th", { scope: "col" }, t("self.apps.protocols")),
            el("th", { scope: "col" }, t("self.apps.created")),
            el("th", { scope: "col" }, t("self.apps.last_used")),
            el("th", { scope: "col" }, t("self.apps.action")))),
          el("tbody", {}, rows))
        : el("p", { id: "app-passwords-none" }, t("self.apps.none")),
      form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const label = byId("app-password-label").value.trim();
      if (!label) return fieldError("app-password-label", t("self.apps.need_label"));
      submit.disabled = true;
      try {
        const answer = await call("POST", path, { label }, "self");
        await load({ label: answer.label, password: answer.password });
      } catch (e) {
        if (!failed(e, onEnded)) {
          // The name is the one input: any 400 is about it (at most 100
          // characters, common/app_passwords.h).
          const message = e instanceof ApiError && e.code === "invalid" ? t("error.self.label.invalid")
            : e.text ? e.text() : t("error.generic");
          status(message, "error");
          fieldError("app-password-label", message);
        }
      } finally {
        submit.disabled = false;
      }
      return undefined;
    });
    return undefined;
  };
  load();
  return box;
}

// ------------------------------------------------------------------ forwards

export function forwardsSection(address, onEnded) {
  const box = section("forwards", t("self.forwards.title"), el("p", {}, t("me.loading")));
  const one = (recipient) => `/v1/subscriptions/incoming/${segment(address)}/${segment(recipient)}`;
  const load = async () => {
    let list;
    try {
      list = await call("GET", `/v1/subscriptions?address=${segment(address)}`, undefined, "self");
    } catch (e) {
      if (e instanceof ApiError && (e.status === 403 || e.status === 404)) return box.remove();
      return failed(e, onEnded);
    }
    const items = ((list && list.items) || []).filter((s) => s.direction === "incoming");
    const entries = items.map((s) => {
      const remove = el("button", { type: "button", class: "link" }, t("self.forwards.remove", { recipient: s.recipient }));
      remove.addEventListener("click", async () => {
        remove.disabled = true;
        try {
          await call("DELETE", one(s.recipient), undefined, "self");
          await load();
        } catch (e) {
          failed(e, onEnded);
          remove.disabled = false;
        }
      });
      return el("li", {}, el("span", { class: "recipient" }, s.recipient), " ", remove);
    });
    const submit = el("button", { type: "submit", id: "forward-submit" }, t("self.forwards.add"));
    const form = el("form", { class: "card", id: "forward-form", novalidate: true },
      field({ id: "forward-recipient", label: t("self.forwards.recipient"), type: "email", hint: t("self.forwards.hint") }),
      el("div", {}, submit));
    replace(box, el("h2", { id: "forwards-title" }, t("self.forwards.title")),
      entries.length ? el("ul", { id: "forwards-list" }, entries) : el("p", { id: "forwards-none" }, t("self.forwards.none")),
      form);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const recipient = byId("forward-recipient").value.trim();
      if (!recipient) return fieldError("forward-recipient", t("signin.need_address"));
      submit.disabled = true;
      try {
        await call("PUT", one(recipient), undefined, "self_forward");
        await load();
      } catch (e) {
        if (!failed(e, onEnded)) fieldError("forward-recipient", e.text ? e.text() : t("error.generic"));
      } finally {
        submit.disabled = false;
      }
      return undefined;
    });
    return undefined;
  };
  load();
  return box;
}
