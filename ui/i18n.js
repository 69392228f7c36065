// Texts in English and Japanese. Each view registers its own table, so views can be added
// without touching one shared list. The language is the agent's (`[tray] language`, else the
// OS's, as the `status` answer says), so the page and the popups agree; until the agent has
// answered, the webview's.
const tables = { en: {}, ja: {} };
let lang = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
let agentLang = null;

export function register(texts) {
  for (const code of Object.keys(tables)) Object.assign(tables[code], texts[code] ?? {});
}

export const t = (key) => tables[lang][key] ?? tables.en[key] ?? key;
export const language = () => lang;

// "auto" (or nothing) follows the agent's choice; "en"/"ja" force a language (the Settings
// view shows its choice before it is saved). Re-labels the page.
export function setLanguage(choice) {
  const os = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
  lang = choice === "en" || choice === "ja" ? choice : agentLang ?? os;
  translate();
  document.dispatchEvent(new CustomEvent("language-changed"));
}

// The agent's language in force (`status.language`); the page follows it when it changes.
export function followAgent(code) {
  if (code !== "en" && code !== "ja") return;
  const changed = code !== agentLang;
  agentLang = code;
  if (changed && code !== lang) setLanguage(code);
}

export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
}
