// The quick-send view: an event with KEY=VALUE lines or a raw body.
import { register, t } from "./i18n.js";

const { invoke } = window.__TAURI__.core;

register({
  en: {
    "tab.send": "Quick send", "send.channel": "Channel",
    "send.fields": "Fields (KEY=VALUE, one per line)", "send.raw": "Or a raw body",
    "send.site": "Site id", "send.button": "Send (Ctrl+Enter)", "send.sent": "Sent. Correlation id: ",
    "send.badSite": "Site id must be a whole number.",
  },
  ja: {
    "tab.send": "クイック送信", "send.channel": "チャネル",
    "send.fields": "フィールド（KEY=VALUE を1行に1つ）", "send.raw": "またはそのままの本文",
    "send.site": "サイト ID", "send.button": "送信 (Ctrl+Enter)", "send.sent": "送信しました。相関 ID: ",
    "send.badSite": "サイト ID は整数で入力してください。",
  },
});

const $ = (id) => document.getElementById(id);

async function send(event) {
  event.preventDefault();
  const error = $("send-error");
  const result = $("send-result");
  error.hidden = result.hidden = true;
  const siteText = $("site-id").value.trim();
  if (siteText && !/^-?\d+$/.test(siteText)) {
    error.textContent = t("send.badSite");
    error.hidden = false;
    return;
  }
  const form = {
    channel: $("channel").value,
    fields: $("fields").value,
    raw: $("raw").value,
    site_id: siteText ? Number(siteText) : null,
  };
  const button = $("send-button");
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

// The status bar knows the default channel; the form shows it as the placeholder.
export function showDefaultChannel(channel) {
  if (channel) $("channel").placeholder = channel;
}

export function init() {
  $("send-form").addEventListener("submit", send);
}

// Ctrl+Enter submits the form of the visible view.
export const submit = () => $("send-form").requestSubmit();
