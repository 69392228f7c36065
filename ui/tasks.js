// The Tasks view: job flows waiting for a person (Kompira tasks meant for this user). Each
// task shows its title, message and the answers its job flow offers; a choice or a typed
// answer submits it, Cancel cancels it, and an answered task leaves the list. The agent reads
// the tasks; task text comes from the server, so it only ever reaches the page as textContent.
import { register, language, t } from "./i18n.js";
import { call, on } from "./calls.js";


register({
  en: {
    "tab.tasks": "Tasks", "tasks.none": "No tasks are waiting for you.", "tasks.refresh": "Refresh",
    "tasks.answer": "Answer", "tasks.answerHint": "Empty sends Kompira's default answer, OK.",
    "tasks.submit": "Submit", "tasks.cancel": "Cancel task", "tasks.off": "Tasks are not read: set [rest] url and token, and [notify] task_poll above 0.",
    "tasks.cancelled": "Cancelled. The job flow waiting on it stays WAITING until its process is terminated.",
    "tasks.sent": "Answer sent.",
  },
  ja: {
    "tab.tasks": "タスク", "tasks.none": "回答を待っているタスクはありません。", "tasks.refresh": "更新",
    "tasks.answer": "回答", "tasks.answerHint": "空のまま送ると Kompira の既定の回答 OK になります。",
    "tasks.submit": "送信", "tasks.cancel": "タスクをキャンセル", "tasks.off": "タスクを読んでいません: [rest] の url と token を設定し、[notify] task_poll を 0 より大きくしてください。",
    "tasks.cancelled": "キャンセルしました。待っているジョブフローは、プロセスを停止するまで WAITING のままです。",
    "tasks.sent": "回答を送信しました。",
  },
});

const $ = (id) => document.getElementById(id);

export async function refresh() {
  let list;
  try {
    list = await call("list_tasks");
  } catch (message) {
    list = { tasks: [], error: String(message), enabled: true };
  }
  $("task-list").replaceChildren(...list.tasks.map(renderTask));
  $("no-tasks").hidden = list.tasks.length > 0;
  $("no-tasks").textContent = list.enabled ? t("tasks.none") : t("tasks.off");
  $("tasks-error").hidden = !list.error;
  $("tasks-error").textContent = list.error ?? "";
}

function renderTask(task) {
  const item = document.createElement("li");
  item.dataset.id = String(task.id);
  const title = document.createElement("div");
  title.className = "title";
  title.textContent = task.title || task.name || task.path;
  const body = document.createElement("p");
  body.className = "body";
  body.textContent = task.message;
  const meta = document.createElement("div");
  meta.className = "meta";
  const created = task.created_date ? new Date(task.created_date).toLocaleString(language()) : "";
  meta.textContent = [task.path, task.owner, created].filter(Boolean).join(" · ");
  item.append(title, body, meta);

  const actions = document.createElement("div");
  actions.className = "toolbar task-actions";
  for (const choice of task.choices) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "choice";
    button.textContent = choice.label;
    button.addEventListener("click", () => submit(task.id, choice.value));
    actions.append(button);
  }
  item.append(actions);

  // A free answer: always possible, as on the Kompira web page.
  const form = document.createElement("form");
  form.className = "task-answer";
  form.noValidate = true;
  const label = document.createElement("label");
  const inputId = `task-answer-${task.id}`;
  label.htmlFor = inputId;
  label.textContent = t("tasks.answer");
  const input = document.createElement("input");
  input.id = inputId;
  input.autocomplete = "off";
  input.placeholder = t("tasks.answerHint");
  const send = document.createElement("button");
  send.type = "submit";
  send.className = "submit";
  send.textContent = t("tasks.submit");
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "cancel";
  cancel.textContent = t("tasks.cancel");
  cancel.addEventListener("click", () => cancelTask(task.id));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit(task.id, input.value === "" ? null : input.value);
  });
  form.append(label, input, send, cancel);
  item.append(form);

  return item;
}

function setBusy(id, busy) {
  const item = $("task-list").querySelector(`li[data-id="${id}"]`);
  for (const button of item?.querySelectorAll("button") ?? []) button.disabled = busy;
}

// The outcome of an answer: a sentence under the toolbar (the task itself may be gone from the
// list by then, e.g. answered elsewhere, so it cannot carry the message).
function outcome(text, failed) {
  $("tasks-result").textContent = text;
  $("tasks-result").classList.toggle("error", failed);
}

async function answer(id, name, args, done) {
  setBusy(id, true);
  try {
    await call(name, { id, ...args });
    outcome(t(done), false);
  } catch (message) {
    outcome(String(message), true);
  }
  await refresh();
}

const submit = (id, result) => answer(id, "submit_task", { result }, "tasks.sent");
const cancelTask = (id) => answer(id, "cancel_task", {}, "tasks.cancelled");

export function init() {
  $("tasks-refresh").addEventListener("click", refresh);
  on("tasks-changed", () => {
    if (!$("view-tasks").hidden) refresh();
  });
  document.addEventListener("language-changed", () => {
    if (!$("view-tasks").hidden) refresh();
  });
}

// Opening the view reads the tasks afresh.
export const shown = () => {
  outcome("", false);
  return refresh();
};
