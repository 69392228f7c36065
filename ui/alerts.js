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
    "remedy.title": "Run this job flow?", "remedy.run": "Run", "remedy.cancel": "Cancel",
    "remedy.none": "No parameters.",
    "remedy.dropped": "Not passed (not among the parameters [notify] remedies names): {}",
    "remedy.cut": "Cut to 300 characters (the alert held more): {}",
    "remedy.missing": "Not in the alert (the job flow's default applies): {}",
    "remedy.left-out": "{} more fields of the alert were not kept and are not passed.",
  },
  ja: {
    "tab.alerts": "アラート", "alerts.search": "検索", "alerts.clear": "クリア", "alerts.none": "アラートはまだありません。",
    "alerts.exit": "終了ステータス",
    "remedy.title": "このジョブフローを実行しますか？", "remedy.run": "実行", "remedy.cancel": "キャンセル",
    "remedy.none": "パラメータはありません。",
    "remedy.dropped": "渡さないフィールド（[notify] remedies で指定されたパラメータ以外）: {}",
    "remedy.cut": "300 文字で切り詰め（アラートにはさらに続きがあります）: {}",
    "remedy.missing": "アラートにないパラメータ（ジョブフローの既定値になります）: {}",
    "remedy.left-out": "保持されなかったアラートのフィールドが ほかに {} 個あり、渡しません。",
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

// A remedy runs only once the user has seen exactly what it runs: the job flow, each parameter
// and its value, and what the alert had that is not passed or was cut.
export async function confirmRemedy(id) {
  let plan;
  try {
    plan = await call("plan_remedy", { id });
  } catch (message) {
    runChanged(id, String(message));
    return;
  }
  const dialog = $("remedy-confirm");
  $("remedy-confirm-title").textContent = t("remedy.title");
  $("remedy-confirm-jobflow").textContent = plan.jobflow;
  const rows = plan.parameters.map(([key, value]) => {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = key;
    const shown = document.createElement("td");
    shown.textContent = value;
    row.append(name, shown);
    return row;
  });
  if (rows.length === 0) {
    const row = document.createElement("tr");
    const none = document.createElement("td");
    none.textContent = t("remedy.none");
    row.append(none);
    rows.push(row);
  }
  $("remedy-confirm-params").replaceChildren(...rows);
  const notes = [];
  const note = (key, list) => { if (list.length) notes.push(t(key).replace("{}", list.join(", "))); };
  note("remedy.dropped", plan.dropped);
  note("remedy.cut", plan.cut);
  note("remedy.missing", plan.missing);
  if (plan.fields_left_out > 0) notes.push(t("remedy.left-out").replace("{}", String(plan.fields_left_out)));
  $("remedy-confirm-notes").replaceChildren(...notes.map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  const run = $("remedy-confirm-run");
  run.textContent = t("remedy.run");
  const cancel = $("remedy-confirm-cancel");
  cancel.textContent = t("remedy.cancel");
  const answered = new Promise((resolve) => {
    run.onclick = () => resolve(true);
    cancel.onclick = () => resolve(false);
    dialog.oncancel = () => resolve(false);
  });
  dialog.showModal();
  cancel.focus();
  const confirmed = await answered;
  dialog.close();
  if (!confirmed) return;
  try {
    await call("run_remedy", { id });
  } catch (message) {
    runChanged(id, String(message));
  }
}

const runRemedy = confirmRemedy;

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
  // A popup's "Run <job flow>": confirm first, here.
  on("confirm-remedy", ({ payload }) => confirmRemedy(payload));
  // Remedy runs, started here or from a popup, show on their alert.
  on("run-update", ({ payload }) => {
    if (payload.alert !== null) runChanged(payload.alert, payload);
  });
  document.addEventListener("language-changed", refresh);
  loadRemedies().finally(refresh);
}
