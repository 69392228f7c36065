// The Alerts view: history with unread state, severity, search, clear; the alert a popup's
// "Open" named is marked and scrolled to; an alert whose channel has a remedy offers
// "Run <job flow>" and shows how that run goes. Alert text comes from the server, so it is
// only ever put in the page with textContent.
import { register, language, t } from "./i18n.js";
import { call, on } from "./calls.js";


register({
  en: {
    "tab.alerts": "Alerts", "alerts.search": "Search", "alerts.clear": "Clear", "alerts.none": "No alerts yet.",
    "alerts.exit": "exit status",
  },
  ja: {
    "tab.alerts": "アラート", "alerts.search": "検索", "alerts.clear": "クリア", "alerts.none": "アラートはまだありません。",
    "alerts.exit": "終了ステータス",
  },
});

const $ = (id) => document.getElementById(id);
// Channel → {jobflow, label} from [notify] remedies.
let remedies = new Map();
// The alert a popup's "Open" asked for.
let focusedId = null;
// Alert id → the latest `run-update` of its remedy, or an error sentence.
const runs = new Map();

export async function refresh() {
  const alerts = await call("list_alerts", { query: $("search").value });
  $("alert-list").replaceChildren(...alerts.map(renderAlert));
  $("no-alerts").hidden = alerts.length > 0;
  const focused = focusedId === null ? null : $("alert-list").querySelector(`li[data-id="${focusedId}"]`);
  focused?.scrollIntoView({ block: "center" });
}

function runText(run) {
  if (typeof run === "string") return run;
  const parts = [`${run.jobflow}: ${run.status}`];
  if (run.process) parts.push(run.process);
  if (run.exit_status !== null) parts.push(`${t("alerts.exit")} ${run.exit_status}`);
  if (run.error) parts.push(run.error);
  return parts.join(" · ");
}

function renderAlert(entry) {
  const item = document.createElement("li");
  item.dataset.id = String(entry.id);
  item.dataset.severity = entry.alert.severity === "NotClassified" ? "Not classified" : entry.alert.severity;
  if (!entry.read) item.classList.add("unread");
  if (entry.id === focusedId) {
    item.classList.add("focused");
    item.setAttribute("aria-current", "true");
  }
  const title = document.createElement("div");
  title.className = "title";
  // Worded by the agent in its language, as in the popup.
  title.textContent = entry.title;
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = entry.alert.body;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${new Date(entry.alert.received).toLocaleString(language())} · ${entry.alert.channel}`;
  item.append(title, body, meta);
  const remedy = remedies.get(entry.alert.channel);
  if (remedy) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "remedy";
    button.textContent = remedy.label;
    button.title = remedy.jobflow;
    button.addEventListener("click", () => runRemedy(entry.id));
    item.append(button);
  }
  showRun(item, entry.id);
  return item;
}

// The remedy run's line on an alert; updated in place so the focus stays where it is.
function showRun(item, id) {
  if (!runs.has(id)) return;
  let status = item.querySelector(".run-status");
  if (!status) {
    status = document.createElement("p");
    status.className = "run-status";
    status.setAttribute("role", "status");
    item.append(status);
  }
  status.textContent = runText(runs.get(id));
}

function runChanged(id, run) {
  runs.set(id, run);
  const item = $("alert-list").querySelector(`li[data-id="${id}"]`);
  if (item) showRun(item, id);
}

async function runRemedy(id) {
  try {
    await call("run_remedy", { id });
  } catch (message) {
    runChanged(id, String(message));
  }
}

async function loadRemedies() {
  const list = await call("list_remedies");
  remedies = new Map(list.map((r) => [r.channel, r]));
}

// Opening the view reads everything in it.
export const shown = () => call("mark_alerts_read").then(refresh);

// Marks alert `id` (a popup's "Open"), even if the search would hide it.
export function focus(id) {
  focusedId = id;
  $("search").value = "";
  refresh();
}

export function init() {
  $("search").addEventListener("input", refresh);
  $("clear-alerts").addEventListener("click", () => call("clear_alerts").then(refresh));
  on("alerts-changed", refresh);
  // A popup's "Open": show that alert, even if the search would hide it.
  on("focus-alert", ({ payload }) => focus(payload));
  // Remedy runs, started here or from a popup, show on their alert.
  on("run-update", ({ payload }) => {
    if (payload.alert !== null) runChanged(payload.alert, payload);
  });
  document.addEventListener("language-changed", refresh);
  loadRemedies().finally(refresh);
}
