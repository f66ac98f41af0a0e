// Every visible string comes from i18n/<lang>.json: t(key, vars) in scripts, and
// data-i18n / data-i18n-<attribute> in the HTML. The language is the user's choice
// (localStorage), else the first of navigator.languages the dashboard speaks.

export const LANGUAGES = ["en", "zh-CN"];
const STORED = "bohsense.lang";
let strings = {};
let current = "en";

export function pickLanguage() {
  const stored = localStorage.getItem(STORED);
  if (LANGUAGES.includes(stored)) return stored;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const lower = String(tag).toLowerCase();
    if (lower.startsWith("zh")) return "zh-CN";
    if (lower.startsWith("en")) return "en";
  }
  return "en";
}

export async function load(lang, { remember = false } = {}) {
  const res = await fetch(`i18n/${lang}.json`, { cache: "no-cache" });
  if (!res.ok) throw new Error(`i18n/${lang}.json: ${res.status}`);
  strings = await res.json();
  current = lang;
  document.documentElement.lang = lang;
  if (remember) localStorage.setItem(STORED, lang);
  apply(document);
}

export function language() {
  return current;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(strings, key);
}

/** The string of `key` with {name} placeholders filled; the key itself when missing. */
export function t(key, vars = {}) {
  const s = has(key) ? strings[key] : key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function apply(root) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("*")) {
    for (const a of el.getAttributeNames()) {
      if (a.startsWith("data-i18n-")) el.setAttribute(a.slice("data-i18n-".length), t(el.getAttribute(a)));
    }
  }
  if (has("app.title")) document.title = t("app.title");
}

const NS_PER_MS = 1e6;

export function fmtTime(ns) {
  if (ns === null || ns === undefined) return "—";
  return new Intl.DateTimeFormat(current, { dateStyle: "short", timeStyle: "short" }).format(
    new Date(Number(ns) / NS_PER_MS),
  );
}

export function fmtNumber(x, digits = 1) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  if (typeof x !== "number") return String(x);
  return new Intl.NumberFormat(current, { maximumFractionDigits: digits }).format(x);
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 3600) return t("unit.minutes", { n: fmtNumber(seconds / 60, 0) });
  return t("unit.hours", { n: fmtNumber(seconds / 3600, 1) });
}
