// The Job flow view: path (offered from the server's list), parameters, modes, "wait for the
// result"; then the run's live status, result, exit status, error and console. Server text is
// only ever put in the page with textContent.
import { register, t } from "./i18n.js";
import { createRowsEditor } from "./rows.js";
import { createTemplatePicker } from "./templates.js";
import { call, on } from "./calls.js";


register({
  en: {
    "tab.jobflow": "Job flow", "jf.path": "Job flow", "jf.refresh": "Refresh the list of job flows",
    "jf.loading": "Loading job flows…", "jf.listFailed": "Job flows could not be listed (you can still type a path): ",
    "jf.count": " job flows on the server", "jf.params": "Parameters", "jf.modes": "Modes",
    "jf.step": "Step mode", "jf.checkpoint": "Checkpoint mode", "jf.monitoring": "Monitoring",
    "jf.monitoringDefault": "Server default", "jf.monitoringNothing": "Nothing", "jf.monitoringMail": "Mail",
    "jf.monitoringAbortMail": "Mail when aborted", "jf.wait": "Wait for the result",
    "jf.run": "Run (Ctrl+Enter)", "jf.fixRows": "Fix the marked parameters first.",
    "jf.status": "Status", "jf.process": "Process", "jf.result": "Result", "jf.exit": "Exit status",
    "jf.error": "Error", "jf.console": "Console (last 40 lines)", "jf.started": "Started; not waiting for the result.",
  },
  ja: {
    "tab.jobflow": "ジョブフロー", "jf.path": "ジョブフロー", "jf.refresh": "ジョブフローの一覧を更新",
    "jf.loading": "ジョブフローを読み込み中…", "jf.listFailed": "ジョブフローの一覧を取得できません（パスは直接入力できます）: ",
    "jf.count": " 件のジョブフロー", "jf.params": "パラメータ", "jf.modes": "モード",
    "jf.step": "ステップモード", "jf.checkpoint": "チェックポイントモード", "jf.monitoring": "監視",
    "jf.monitoringDefault": "サーバーの既定", "jf.monitoringNothing": "なし", "jf.monitoringMail": "メール",
    "jf.monitoringAbortMail": "異常終了時にメール", "jf.wait": "結果を待つ",
    "jf.run": "実行 (Ctrl+Enter)", "jf.fixRows": "印の付いたパラメータを先に直してください。",
    "jf.status": "状態", "jf.process": "プロセス", "jf.result": "結果", "jf.exit": "終了ステータス",
    "jf.error": "エラー", "jf.console": "コンソール（最後の40行）", "jf.started": "開始しました（結果は待ちません）。",
  },
});

const CONSOLE_LINES = 40;
const $ = (id) => document.getElementById(id);
let params;
let jobflowsLoaded = false;
// The run this view follows, and updates that arrived before `run_jobflow` answered.
let currentRun = null;
let starting = false;
let consoleText = "";
const early = new Map();
// Console text kept in memory; far more than is shown.
const CONSOLE_KEEP_CHARS = 64 * 1024;

function lastLines(text, count) {
  return text.replace(/\n$/, "").split("\n").slice(-count).join("\n");
}

async function loadJobflows() {
  const note = $("jobflow-list-note");
  note.classList.remove("error");
  note.textContent = t("jf.loading");
  try {
    const choices = await call("list_jobflows");
    $("jobflow-choices").replaceChildren(...choices.map((c) => {
      const option = document.createElement("option");
      option.value = c.path;
      if (c.name) option.label = `${c.path} — ${c.name}`;
      return option;
    }));
    note.textContent = choices.length + t("jf.count");
    jobflowsLoaded = true;
  } catch (message) {
    note.classList.add("error");
    note.textContent = t("jf.listFailed") + String(message);
  }
}

function formValues() {
  return {
    jobflow: $("jobflow-path").value,
    parameters: params.rows(),
    wait: $("jobflow-wait").checked,
  };
}

function fill(template) {
  $("jobflow-path").value = template.jobflow;
  params.set(template.parameters);
  $("jobflow-wait").checked = template.wait;
}

// The result arrives as JSON text: a string shows as itself, anything else indented.
function readable(json) {
  try {
    const value = JSON.parse(json);
    if (value === null) return "";
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  } catch {
    return json;
  }
}

function setText(id, text) {
  const el = $(id);
  el.textContent = text ?? "";
  el.closest(".field").hidden = text === null || text === undefined || text === "";
}

function showUpdate(update) {
  consoleText = (consoleText + update.console_tail).slice(-CONSOLE_KEEP_CHARS);
  const output = $("jobflow-output");
  const first = output.hidden;
  output.hidden = false;
  setText("jobflow-status", update.status);
  setText("jobflow-process", update.process);
  setText("jobflow-result", readable(update.result));
  setText("jobflow-exit", update.exit_status === null ? "" : String(update.exit_status));
  setText("jobflow-error", update.error);
  setText("jobflow-console", lastLines(consoleText, CONSOLE_LINES));
  const note = $("jobflow-note");
  note.hidden = !(update.finished && update.status === "STARTED");
  note.textContent = t("jf.started");
  $("jobflow-output").dataset.status = update.status;
  // Bring the output into view when it appears and when the run ends (it grew meanwhile).
  if (first || update.finished) output.scrollIntoView({ block: "start" });
  if (update.finished) $("jobflow-run").disabled = false;
}

async function run(event) {
  event.preventDefault();
  const error = $("jobflow-form-error");
  error.hidden = true;
  if (!params.check()) {
    error.textContent = t("jf.fixRows");
    error.hidden = false;
    return;
  }
  const form = {
    ...formValues(),
    step_mode: $("jobflow-step").checked,
    checkpoint_mode: $("jobflow-checkpoint").checked,
    monitoring_mode: $("jobflow-monitoring").value,
  };
  const button = $("jobflow-run");
  button.disabled = true;
  starting = true;
  try {
    currentRun = await call("run_jobflow", { form });
    consoleText = "";
    $("jobflow-output").hidden = true;
    for (const update of early.get(currentRun) ?? []) showUpdate(update);
    early.clear();
  } catch (message) {
    error.textContent = String(message);
    error.hidden = false;
    button.disabled = false;
  } finally {
    starting = false;
  }
}

export function init() {
  params = createRowsEditor($("jobflow-params"), "params", { expressions: true });
  createTemplatePicker($("jobflow-templates"), "jobflow", {
    fill,
    collect: () => {
      if (!params.check()) throw t("jf.fixRows");
      return formValues();
    },
  });
  $("jobflow-form").addEventListener("submit", run);
  $("jobflow-refresh").addEventListener("click", loadJobflows);
  on("run-update", ({ payload }) => {
    if (payload.run === currentRun) showUpdate(payload);
    else if (starting && payload.alert === null) {
      // Perhaps ours, arriving before `run_jobflow` answered with its number.
      if (!early.has(payload.run)) early.set(payload.run, []);
      early.get(payload.run).push(payload);
    }
  });
}

// The list is read once per session, when the view is first shown; the button reads it again.
export function shown() {
  if (!jobflowsLoaded) loadJobflows();
}

export const submit = () => $("jobflow-form").requestSubmit();
