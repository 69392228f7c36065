// The Alerts view: history with unread state, severity, search, clear. Alert text comes from
// the server, so it is only ever put in the page with textContent.
import { register, language } from "./i18n.js";

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

register({
  en: { "tab.alerts": "Alerts", "alerts.search": "Search", "alerts.clear": "Clear", "alerts.none": "No alerts yet." },
  ja: { "tab.alerts": "アラート", "alerts.search": "検索", "alerts.clear": "クリア", "alerts.none": "アラートはまだありません。" },
});

const $ = (id) => document.getElementById(id);

export async function refresh() {
  const alerts = await invoke("list_alerts", { query: $("search").value });
  $("alert-list").replaceChildren(...alerts.map(renderAlert));
  $("no-alerts").hidden = alerts.length > 0;
}

function renderAlert(entry) {
  const item = document.createElement("li");
  item.dataset.id = String(entry.id);
  item.dataset.severity = entry.alert.severity === "NotClassified" ? "Not classified" : entry.alert.severity;
  if (!entry.read) item.classList.add("unread");
  const title = document.createElement("div");
  title.className = "title";
  title.textContent = entry.alert.title;
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = entry.alert.body;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${new Date(entry.alert.received).toLocaleString(language())} · ${entry.alert.channel}`;
  item.append(title, body, meta);
  return item;
}

// Opening the view reads everything in it.
export const shown = () => invoke("mark_alerts_read").then(refresh);

export function init() {
  $("search").addEventListener("input", refresh);
  $("clear-alerts").addEventListener("click", () => invoke("clear_alerts").then(refresh));
  listen("alerts-changed", refresh);
  document.addEventListener("language-changed", refresh);
  refresh();
}
