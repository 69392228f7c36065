// Texts in English and Japanese. Each view registers its own table, so views can be added
// without touching one shared list. The language follows the OS locale unless the user chose one.
const tables = { en: {}, ja: {} };
let lang = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";

export function register(texts) {
  for (const code of Object.keys(tables)) Object.assign(tables[code], texts[code] ?? {});
}

export const t = (key) => tables[lang][key] ?? tables.en[key] ?? key;
export const language = () => lang;

// "auto" (or nothing) follows the OS; "en"/"ja" force a language. Re-labels the page.
export function setLanguage(choice) {
  const os = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
  lang = choice === "en" || choice === "ja" ? choice : os;
  translate();
  document.dispatchEvent(new CustomEvent("language-changed"));
}

export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
