// The window: quick send and the alert list. Everything from the server or the user is put in
// the page with textContent, never as HTML.
const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

const TEXT = {
  en: {
    "tab.send": "Quick send", "tab.alerts": "Alerts", "send.channel": "Channel",
    "send.fields": "Fields (KEY=VALUE, one per line)", "send.raw": "Or a raw body",
    "send.site": "Site id", "send.button": "Send (Ctrl+Enter)", "send.sent": "Sent. Correlation id: ",
    "send.badSite": "Site id must be a whole number.", "alerts.search": "Search",
    "alerts.clear": "Clear", "alerts.none": "No alerts yet.",
  },
  ja: {
    "tab.send": "クイック送信", "tab.alerts": "アラート", "send.channel": "チャネル",
    "send.fields": "フィールド（KEY=VALUE を1行に1つ）", "send.raw": "またはそのままの本文",
    "send.site": "サイト ID", "send.button": "送信 (Ctrl+Enter)", "send.sent": "送信しました。相関 ID: ",
    "send.badSite": "サイト ID は整数で入力してください。", "alerts.search": "検索",
    "alerts.clear": "クリア", "alerts.none": "アラートはまだありません。",
  },
};
const lang = (navigator.language || "en").toLowerCase().startsWith("ja") ? "ja" : "en";
const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;

function translate() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
}

function showTab(name) {
  for (const tab of ["send", "alerts"]) {
    const selected = tab === name;
    document.getElementById(`tab-${tab}`).setAttribute("aria-selected", String(selected));
    document.getElementById(`view-${tab}`).hidden = !selected;
  }
  if (name === "alerts") invoke("mark_alerts_read").then(refreshAlerts);
}

async function refreshStatus() {
  const status = await invoke("status");
  const parts = [status.summary];
  if (status.last_error) parts.push(status.last_error);
  if (status.settings_error) parts.push(status.settings_error);
  document.getElementById("status").textContent = parts.join(" — ");
  const channel = document.getElementById("channel");
  if (!channel.value && status.default_channel) channel.placeholder = status.default_channel;
}

async function refreshAlerts() {
  const query = document.getElementById("search").value;
  const alerts = await invoke("list_alerts", { query });
  const list = document.getElementById("alert-list");
  list.replaceChildren(...alerts.map(renderAlert));
  document.getElementById("no-alerts").hidden = alerts.length > 0;
}

function renderAlert(entry) {
  const item = document.createElement("li");
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
  meta.textContent = `${new Date(entry.alert.received).toLocaleString(lang)} · ${entry.alert.channel}`;
  item.append(title, body, meta);
  return item;
}

async function send(event) {
  event.preventDefault();
  const error = document.getElementById("send-error");
  const result = document.getElementById("send-result");
  error.hidden = result.hidden = true;
  const siteText = document.getElementById("site-id").value.trim();
  if (siteText && !/^-?\d+$/.test(siteText)) {
    error.textContent = t("send.badSite");
    error.hidden = false;
    return;
  }
  const form = {
    channel: document.getElementById("channel").value,
    fields: document.getElementById("fields").value,
    raw: document.getElementById("raw").value,
    site_id: siteText ? Number(siteText) : null,
  };
  const button = document.getElementById("send-button");
  button.disabled = true;
  try {
    const id = await invoke("send_event", { form });
    result.textContent = t("send.sent") + id;
    result.hidden = false;
  } catch (message) {
    error.textContent = String(message);
    error.hidden = false;
  } finally {
    button.disabled = false;
  }
}

translate();
document.getElementById("tab-send").addEventListener("click", () => showTab("send"));
document.getElementById("tab-alerts").addEventListener("click", () => showTab("alerts"));
document.getElementById("send-form").addEventListener("submit", send);
document.getElementById("search").addEventListener("input", refreshAlerts);
document.getElementById("clear-alerts").addEventListener("click", () => invoke("clear_alerts").then(refreshAlerts));
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.ctrlKey) document.getElementById("send-form").requestSubmit();
  if (e.key === "Escape") window.__TAURI__.window.getCurrentWindow().hide();
});
listen("alerts-changed", () => { refreshAlerts(); refreshStatus(); });
listen("status-changed", refreshStatus);
refreshStatus();
refreshAlerts();
