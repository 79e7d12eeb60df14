// form.js: labelled fields and the messages about them. Each input has its
// <label for>, an optional hint and an error line tied to it by
// aria-describedby; an error marks the field aria-invalid, says what is wrong
// in words and moves the focus there. Page-wide messages go to the status
// region (role=status, aria-live=polite).
import { el, byId, replace } from "./dom.js";

// A field: {id, label, type, autocomplete, hint, required}.
export function field(spec) {
  const hintId = spec.hint ? spec.id + "-hint" : null;
  const errorId = spec.id + "-error";
  const input = el("input", {
    id: spec.id,
    name: spec.id,
    type: spec.type || "text",
    autocomplete: spec.autocomplete || "off",
    required: spec.required !== false,
    spellcheck: "false",
    autocapitalize: "none",
    maxlength: spec.maxlength || 320,
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
  });
  return el("div", { class: "field" },
    el("label", { for: spec.id }, spec.label),
    spec.hint ? el("span", { class: "hint", id: hintId }, spec.hint) : null,
    input,
    el("span", { class: "field-error", id: errorId }));
}

export function clearErrors(form) {
  for (const input of form.querySelectorAll("input")) {
    input.removeAttribute("aria-invalid");
    const e = byId(input.id + "-error");
    if (e) e.textContent = "";
  }
}

// Marks a field wrong with a message, and focuses it.
export function fieldError(id, message) {
  const input = byId(id);
  if (!input) return false;
  input.setAttribute("aria-invalid", "true");
  const e = byId(id + "-error");
  if (e) e.textContent = message;
  input.focus();
  return true;
}

export function status(message, kind) {
  const region = byId("status");
  region.className = "status" + (kind === "error" ? " error" : "");
  replace(region, message || "");
}

// A view's heading, focused when the view opens (screen readers announce
// where they are; Tab goes on to the view's first control).
export function heading(text) {
  return el("h1", { tabindex: "-1", id: "view-title" }, text);
}

export function focusHeading() {
  const h = byId("view-title");
  if (h) h.focus();
}
