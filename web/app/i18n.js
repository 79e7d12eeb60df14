// i18n.js: the message catalogues (i18n/en.json, i18n/zh-CN.json: flat key ->
// string, "{name}" placeholders). The language is the one the user chose
// (saved in localStorage), else the first of the browser's languages that a
// catalogue serves, else English. A missing key falls back to English, then
// to the key itself.

export const LANGUAGES = ["en", "zh-CN"];
const STORAGE_KEY = "roster.lang";

let current = "en";
let messages = {};
let english = {};

async function fetchCatalogue(lang) {
  const r = await fetch(`i18n/${lang}.json`, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`catalogue ${lang}: ${r.status}`);
  return r.json();
}

// The catalogue for a browser language tag, or null: "zh", "zh-CN",
// "zh-Hans", "zh-SG" read Simplified Chinese; "en-*" English.
export function match(tag) {
  const t = String(tag || "").toLowerCase();
  if (t === "zh" || t.startsWith("zh-cn") || t.startsWith("zh-hans") || t.startsWith("zh-sg")) return "zh-CN";
  if (t === "en" || t.startsWith("en-")) return "en";
  return null;
}

export function choose() {
  let saved = null;
  try {
    saved = localStorage.getItem(STORAGE_KEY);
  } catch (e) {
    saved = null;  // storage refused (private mode): the browser's languages decide
  }
  if (LANGUAGES.includes(saved)) return saved;
  for (const tag of navigator.languages || [navigator.language]) {
    const lang = match(tag);
    if (lang) return lang;
  }
  return "en";
}

export async function load(lang) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  if (Object.keys(english).length === 0) english = await fetchCatalogue("en");
  messages = lang === "en" ? english : await fetchCatalogue(lang);
  current = lang;
  document.documentElement.lang = lang;
}

// Chosen by the user: kept for the next visit.
export async function choosePermanently(lang) {
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch (e) {
    // not kept; this visit still switches
  }
  await load(lang);
}

export function language() {
  return current;
}

// The message `key` with its {placeholders} replaced by params' values (as
// text: the caller puts the result in textContent).
export function t(key, params) {
  let text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key]
    : Object.prototype.hasOwnProperty.call(english, key) ? english[key] : key;
  return text.replace(/\{([a-z_]+)\}/g, (whole, name) =>
    params && Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole);
}

// Figures in the current language's way.
export function number(n) {
  return new Intl.NumberFormat(current).format(n);
}

export function bytes(n) {
  const units = ["unit.bytes", "unit.kib", "unit.mib", "unit.gib", "unit.tib"];
  let value = Number(n);
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i += 1;
  }
  const shown = new Intl.NumberFormat(current, { maximumFractionDigits: i === 0 ? 0 : 1 }).format(value);
  return t(units[i], { n: shown });
}

export function dateTime(text) {
  // The API's times are UTC "YYYY-MM-DD HH:MM:SS" (or ISO 8601).
  const iso = String(text).replace(" ", "T");
  const d = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : iso + "Z");
  if (Number.isNaN(d.getTime())) return String(text);
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(d);
}
