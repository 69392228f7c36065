// The Settings view: kompira.conf keys with their values and where each comes from, saved by
// the app through the engine's writer; connection tests with the values in the form; start at
// login. Secrets never come here: their fields start empty, and empty means "keep"; with the
// keyring chosen, a typed secret is stored there by the app, not in the file.
import { register, setLanguage, t, translate } from "./i18n.js";
import { call, command, on } from "./calls.js";


register({
  en: {
    "tab.settings": "Settings",
    "set.group.amqp": "Sending events (AMQP)", "set.group.rest": "Kompira server (REST API)",
    "set.group.notify": "Notifications", "set.group.app": "App",
    "set.amqp-connection.server": "Server", "set.amqp-connection.port": "Port",
    "set.amqp-connection.user": "User", "set.amqp-connection.password": "Password",
    "set.amqp-connection.ssl": "Use TLS", "set.amqp-connection.ssl_verify": "Verify the server certificate",
    "set.amqp-connection.ssl_cacertfile": "CA certificate file",
    "set.amqp-connection.ssl_certfile": "Client certificate file",
    "set.amqp-connection.ssl_keyfile": "Client key file",
    "set.amqp-connection.max_retry": "Retries after a failed connection",
    "set.amqp-connection.retry_interval": "Seconds between retries",
    "set.amqp-connection.connect_timeout": "Connection timeout (seconds)",
    "set.event.channel": "Default channel", "set.kompira.site_id": "Site id",
    "set.rest.url": "Server URL", "set.rest.token": "REST API token",
    "set.rest.ca_file": "Extra CA file (PEM)", "set.rest.insecure": "Accept any certificate (test servers only)",
    "set.rest.timeout": "Request timeout (seconds)",
    "set.notify.channels": "Watched channels (separated by commas)",
    "set.notify.min_severity": "Lowest severity that pops up",
    "set.notify.quiet_hours": "Quiet hours (HH:MM-HH:MM)",
    "set.notify.breakthrough": "Pops up even in quiet hours from",
    "set.notify.sound": "Play a sound",
    "set.notify.task_poll": "Seconds between looks for tasks waiting for you (0: never)",
    "set.notify.task_user": "Your Kompira user name, for tasks (empty: every task the token can read)",
    "set.tray.language": "Language",
    "set.secrets.store": "Keep the password and token in",
    "store.file": "kompira.conf (readable only by you)", "store.keyring": "The OS keyring (Secret Service, Credential Manager)",
    "set.channelsHint": "Watching takes messages off a channel: watch one of your own, not one that job flows wait on.",
    "set.from": "From: ", "set.fromDefault": "From: default", "set.notSetHere": "not set in a file",
    "set.keepSecret": "Set (hidden). Leave empty to keep it.", "set.noSecret": "Not set",
    "set.target": "Saves to: ", "set.files": "Files read: ", "set.none": "none",
    "set.save": "Save (Ctrl+Enter)", "set.saved": "Saved to ", "set.unchanged": "Nothing changed.",
    "set.testAmqp": "Test AMQP connection", "set.testRest": "Test REST token", "set.testing": "Testing…",
    "set.autostart": "Start at login",
    "sev.Not classified": "Not classified", "sev.Information": "Information", "sev.Warning": "Warning",
    "sev.Average": "Average", "sev.High": "High", "sev.Disaster": "Disaster", "sev.none": "None",
    "opt.true": "On", "opt.false": "Off",
    "lang.auto": "Auto (follow the system)", "lang.en": "English", "lang.ja": "日本語",
  },
  ja: {
    "tab.settings": "設定",
    "set.group.amqp": "イベント送信 (AMQP)", "set.group.rest": "Kompira サーバー (REST API)",
    "set.group.notify": "通知", "set.group.app": "アプリ",
    "set.amqp-connection.server": "サーバー", "set.amqp-connection.port": "ポート",
    "set.amqp-connection.user": "ユーザー", "set.amqp-connection.password": "パスワード",
    "set.amqp-connection.ssl": "TLS を使う", "set.amqp-connection.ssl_verify": "サーバー証明書を検証する",
    "set.amqp-connection.ssl_cacertfile": "CA 証明書ファイル",
    "set.amqp-connection.ssl_certfile": "クライアント証明書ファイル",
    "set.amqp-connection.ssl_keyfile": "クライアント鍵ファイル",
    "set.amqp-connection.max_retry": "接続失敗後の再試行回数",
    "set.amqp-connection.retry_interval": "再試行の間隔（秒）",
    "set.amqp-connection.connect_timeout": "接続のタイムアウト（秒）",
    "set.event.channel": "既定のチャネル", "set.kompira.site_id": "サイト ID",
    "set.rest.url": "サーバー URL", "set.rest.token": "REST API トークン",
    "set.rest.ca_file": "追加の CA ファイル (PEM)", "set.rest.insecure": "どの証明書も受け入れる（テストサーバー専用）",
    "set.rest.timeout": "リクエストのタイムアウト（秒）",
    "set.notify.channels": "監視するチャネル（カンマ区切り）",
    "set.notify.min_severity": "ポップアップする最低の重要度",
    "set.notify.quiet_hours": "通知しない時間帯 (HH:MM-HH:MM)",
    "set.notify.breakthrough": "通知しない時間帯でもポップアップする重要度",
    "set.notify.sound": "音を鳴らす",
    "set.notify.task_poll": "回答待ちタスクを確認する間隔（秒、0 で確認しない）",
    "set.notify.task_user": "タスクの宛先とする Kompira ユーザー名（空ならトークンで読めるすべてのタスク）",
    "set.tray.language": "言語",
    "set.secrets.store": "パスワードとトークンの保存先",
    "store.file": "kompira.conf（本人のみ読み取り可）", "store.keyring": "OS のキーリング（Secret Service、資格情報マネージャー）",
    "set.channelsHint": "監視するとチャネルからメッセージを取り出します。ジョブフローが待っているチャネルではなく、専用のチャネルを監視してください。",
    "set.from": "設定元: ", "set.fromDefault": "設定元: 既定値", "set.notSetHere": "ファイルで未設定",
    "set.keepSecret": "設定済み（非表示）。空のままなら変更しません。", "set.noSecret": "未設定",
    "set.target": "保存先: ", "set.files": "読み込んだファイル: ", "set.none": "なし",
    "set.save": "保存 (Ctrl+Enter)", "set.saved": "保存しました: ", "set.unchanged": "変更はありません。",
    "set.testAmqp": "AMQP 接続をテスト", "set.testRest": "REST トークンをテスト", "set.testing": "テスト中…",
    "set.autostart": "ログイン時に起動",
    "sev.Not classified": "未分類", "sev.Information": "情報", "sev.Warning": "警告",
    "sev.Average": "軽度の障害", "sev.High": "重度の障害", "sev.Disaster": "致命的な障害", "sev.none": "なし",
    "opt.true": "オン", "opt.false": "オフ",
    "lang.auto": "自動（システムに従う）", "lang.en": "English", "lang.ja": "日本語",
  },
});

const $ = (id) => document.getElementById(id);
const inputId = (fieldId) => `set-${fieldId}`;

let fields = [];
let dirty = false;

// An element with a text that follows the language.
function labelled(tag, key, className) {
  const el = document.createElement(tag);
  el.dataset.i18n = key;
  el.textContent = t(key);
  if (className) el.className = className;
  return el;
}

function optionKey(field, option) {
  if (field.key === "language") return `lang.${option}`;
  if (field.id === "secrets.store") return `store.${option}`;
  if (field.widget === "toggle") return `opt.${option}`;
  return `sev.${option}`;
}

function renderInput(field) {
  let input;
  if (field.widget === "choice") {
    input = document.createElement("select");
    for (const option of field.options) {
      const item = labelled("option", optionKey(field, option));
      item.value = option;
      input.append(item);
    }
    input.value = field.value;
  } else if (field.widget === "toggle") {
    input = document.createElement("input");
    input.type = "checkbox";
    input.checked = field.value === "true";
  } else {
    input = document.createElement("input");
    input.autocomplete = "off";
    input.spellcheck = false;
    if (field.widget === "secret") {
      input.type = "password";
      input.autocomplete = "new-password";
      input.dataset.i18nPlaceholder = field.placeholder === "********" ? "set.keepSecret" : "set.noSecret";
      input.placeholder = t(input.dataset.i18nPlaceholder);
    } else {
      input.value = field.value;
      input.placeholder = field.placeholder === "(not set)" ? "" : field.placeholder;
      if (field.widget === "number") input.inputMode = "numeric";
    }
  }
  input.id = inputId(field.id);
  input.name = field.id;
  return input;
}

function renderField(field) {
  const box = document.createElement("div");
  box.className = field.widget === "toggle" ? "field toggle" : "field";
  box.id = `field-${field.id}`;
  box.dataset.field = field.id;
  const label = document.createElement("label");
  label.htmlFor = inputId(field.id);
  const key = document.createElement("code");
  key.textContent = `[${field.section}] ${field.key}`;
  label.append(labelled("span", `set.${field.id}`), " ", key);
  const input = renderInput(field);
  const source = document.createElement("small");
  source.className = "source";
  if (field.source === "default") {
    source.dataset.i18n = "set.fromDefault";
    source.textContent = t("set.fromDefault");
  } else {
    source.append(labelled("span", "set.from"), field.source);
  }
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.hidden = true;
  if (field.widget === "toggle") box.append(input, label, source, error);
  else box.append(label, input, source, error);
  if (field.id === "notify.channels") box.append(labelled("small", "set.channelsHint", "hint"));
  return box;
}

function render(view) {
  fields = view.fields;
  dirty = false;
  const target = $("settings-target");
  target.replaceChildren(labelled("span", "set.target"), view.target ?? "—");
  const files = $("settings-files");
  files.replaceChildren(labelled("span", "set.files"));
  if (view.files_read.length) files.append(view.files_read.join(", "));
  else files.append(labelled("span", "set.none"));
  const problems = [view.target_problem, ...view.warnings].filter(Boolean);
  $("settings-problem").textContent = problems.join("\n");
  $("settings-problem").hidden = problems.length === 0;
  $("settings-save").disabled = !view.target;
  for (const group of ["amqp", "rest", "notify", "app"]) {
    const set = $(`settings-${group}`);
    set.querySelectorAll(".field[data-field]").forEach((el) => el.remove());
    const anchor = set.querySelector(".group-end");
    for (const field of fields.filter((f) => f.group === group)) set.insertBefore(renderField(field), anchor);
  }
  $(inputId("tray.language")).addEventListener("change", (e) => setLanguage(e.target.value));
}

function formValues() {
  const values = {};
  for (const field of fields) {
    const input = $(inputId(field.id));
    values[field.id] = field.widget === "toggle" ? String(input.checked) : input.value;
  }
  return { values };
}

function clearMessages() {
  for (const el of document.querySelectorAll("#settings-form .error, #settings-form .result")) {
    if (el.id !== "settings-problem") el.hidden = true;
  }
}

// A refusal: next to its field when one is named, and above the Save button in any case.
function showError(error, where) {
  const { field, message } = typeof error === "object" && error !== null ? error : { field: null, message: String(error) };
  if (field) {
    const box = $(`field-${field}`);
    const slot = box?.querySelector(".error");
    if (slot) {
      slot.textContent = message;
      slot.hidden = false;
      $(inputId(field)).focus();
    }
  }
  where.textContent = message;
  where.className = "error";
  where.hidden = false;
}

async function load() {
  try {
    const view = await command("get_settings");
    render(view);
    setLanguage(view.language);
  } catch (message) {
    $("settings-problem").textContent = String(message);
    $("settings-problem").hidden = false;
    $("settings-save").disabled = true;
  }
}

async function save(event) {
  event.preventDefault();
  clearMessages();
  const button = $("settings-save");
  button.disabled = true;
  try {
    const saved = await command("save_settings", { form: formValues() });
    await load();
    const result = $("settings-result");
    result.textContent = saved.changed ? t("set.saved") + saved.path : t("set.unchanged");
    if (saved.notes.length) result.textContent += "\n" + saved.notes.join("\n");
    result.hidden = false;
  } catch (error) {
    showError(error, $("settings-error"));
  } finally {
    button.disabled = false;
  }
}

async function runTest(name, buttonId, resultId) {
  clearMessages();
  const button = $(buttonId);
  const result = $(resultId);
  button.disabled = true;
  result.className = "";
  result.textContent = t("set.testing");
  result.hidden = false;
  try {
    result.textContent = await command(name, { form: formValues() });
    result.className = "result";
  } catch (error) {
    showError(error, result);
  } finally {
    button.disabled = false;
  }
}

async function showAutostart(promise) {
  const box = $("autostart");
  const error = $("autostart-error");
  error.hidden = true;
  try {
    box.checked = await promise;
  } catch (message) {
    error.textContent = String(message);
    error.hidden = false;
    box.checked = await call("get_autostart").catch(() => false);
  }
}

// Reopening the view shows the file's current state, unless there are unsaved edits.
export const shown = () => (dirty ? undefined : load());

export function init() {
  $("settings-form").addEventListener("submit", save);
  $("settings-form").addEventListener("input", (e) => {
    if (e.target.id !== "autostart") dirty = true;
  });
  $("test-amqp").addEventListener("click", () => runTest("test_amqp_connection", "test-amqp", "test-amqp-result"));
  $("test-rest").addEventListener("click", () => runTest("test_rest_token", "test-rest", "test-rest-result"));
  $("autostart").addEventListener("change", (e) => showAutostart(call("set_autostart", { enabled: e.target.checked })));
  on("autostart-changed", (e) => { $("autostart").checked = e.payload; });
  showAutostart(call("get_autostart"));
  translate($("view-settings"));
  load();
}

export const submit = () => $("settings-form").requestSubmit();
