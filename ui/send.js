// The quick-send view: an event with KEY=VALUE rows or a raw body, channel and site id, and
// templates of such events.
import { register, t } from "./i18n.js";
import { createRowsEditor } from "./rows.js";
import { createTemplatePicker } from "./templates.js";
import { call } from "./calls.js";


register({
  en: {
    "tab.send": "Quick send", "send.channel": "Channel",
    "send.fields": "Fields (KEY=VALUE)", "send.raw": "Or a raw body",
    "send.site": "Site id", "send.button": "Send (Ctrl+Enter)", "send.sent": "Sent. Correlation id: ",
    "send.queued": "Queued, not sent yet: it goes out when the broker takes it (see below). Correlation id: ",
    "send.badSite": "Site id must be a whole number.", "send.fixRows": "Fix the marked fields first.",
  },
  ja: {
    "tab.send": "クイック送信", "send.channel": "チャネル",
    "send.fields": "フィールド（KEY=VALUE）", "send.raw": "またはそのままの本文",
    "send.site": "サイト ID", "send.button": "送信 (Ctrl+Enter)", "send.sent": "送信しました。相関 ID: ",
    "send.queued": "送信待ちに入れました。ブローカーが受け取りしだい送信します（下を参照）。相関 ID: ",
    "send.badSite": "サイト ID は整数で入力してください。", "send.fixRows": "印の付いたフィールドを先に直してください。",
  },
});

const $ = (id) => document.getElementById(id);
let fields;

// The form's values, or a message saying what to fix first.
function formValues() {
  const siteText = $("site-id").value.trim();
  if (siteText && !/^-?\d+$/.test(siteText)) throw t("send.badSite");
  if (!fields.check()) throw t("send.fixRows");
  return {
    channel: $("channel").value,
    fields: fields.rows(),
    site_id: siteText ? Number(siteText) : null,
  };
}

function fill(template) {
  $("channel").value = template.channel;
  $("site-id").value = template.site_id ?? "";
  fields.set(template.fields);
  $("raw").value = template.body;
}

async function send(event) {
  event.preventDefault();
  const error = $("send-error");
  const result = $("send-result");
  error.hidden = result.hidden = true;
  let form;
  try {
    form = { ...formValues(), raw: $("raw").value };
  } catch (message) {
    error.textContent = String(message);
    error.hidden = false;
    return;
  }
  const button = $("send-button");
  button.disabled = true;
  try {
    const outcome = await call("send_event", { form });
    result.textContent = (outcome.queued ? t("send.queued") : t("send.sent")) + outcome.correlation_id;
    result.classList.toggle("queued", outcome.queued);
    result.hidden = false;
    if (outcome.queued && outcome.reason) {
      error.textContent = outcome.reason;
      error.hidden = false;
    }
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
  fields = createRowsEditor($("fields"), "fields");
  createTemplatePicker($("send-templates"), "event", {
    fill,
    collect: () => ({ ...formValues(), body: $("raw").value }),
  });
  $("send-form").addEventListener("submit", send);
}

// Ctrl+Enter submits the form of the visible view.
export const submit = () => $("send-form").requestSubmit();
