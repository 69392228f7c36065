// The outbox panel under quick send: events queued and not yet acked by the broker, with
// "Retry now" and "Discard" (which asks twice: a discarded event is gone).
import { register, t } from "./i18n.js";
import { call, on } from "./calls.js";


register({
  en: {
    "outbox.title": "Waiting to send", "outbox.retryAll": "Retry all now", "outbox.discardAll": "Discard all",
    "outbox.retry": "Retry now", "outbox.discard": "Discard", "outbox.sure": "Click again to discard",
    "outbox.attempts": "attempts", "outbox.sending": "sending…",
  },
  ja: {
    "outbox.title": "送信待ち", "outbox.retryAll": "すべて今すぐ再送", "outbox.discardAll": "すべて破棄",
    "outbox.retry": "今すぐ再送", "outbox.discard": "破棄", "outbox.sure": "もう一度押すと破棄します",
    "outbox.attempts": "試行", "outbox.sending": "送信中…",
  },
});

const $ = (id) => document.getElementById(id);
const CONFIRM_MS = 4000;

// Makes `button` run `action` only on a second click within CONFIRM_MS; `labelKey` is its text.
function confirmOnSecondClick(button, labelKey, action) {
  let armed = null;
  button.addEventListener("click", () => {
    if (armed) {
      clearTimeout(armed);
      armed = null;
      button.textContent = t(labelKey);
      action();
      return;
    }
    button.textContent = t("outbox.sure");
    armed = setTimeout(() => { armed = null; button.textContent = t(labelKey); }, CONFIRM_MS);
  });
  return button;
}

function button(label, action) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", action);
  return b;
}

function describe(entry) {
  const when = new Date(entry.queued_at).toLocaleString();
  const parts = [when, entry.channel, `${entry.size} B`, `${t("outbox.attempts")} ${entry.attempts}`];
  if (entry.in_flight) parts.push(t("outbox.sending"));
  return parts.join(" · ");
}

async function act(name, args) {
  const error = $("outbox-error");
  try {
    await call(name, args);
    error.hidden = true;
  } catch (message) {
    error.textContent = String(message);
    error.hidden = false;
  }
  await refresh();
}

export async function refresh() {
  let entries;
  try {
    entries = await call("list_outbox");
  } catch {
    entries = []; // no outbox: the status line says why
  }
  const list = $("outbox-list");
  list.replaceChildren();
  for (const entry of entries) {
    const item = document.createElement("li");
    const text = document.createElement("span");
    text.textContent = describe(entry);
    item.append(text);
    if (entry.last_error) {
      const why = document.createElement("span");
      why.className = "error";
      why.textContent = entry.last_error;
      item.append(why);
    }
    const id = document.createElement("code");
    id.textContent = entry.correlation_id;
    item.append(id);
    item.append(
      button(t("outbox.retry"), () => act("retry_outbox", { id: entry.id })),
      confirmOnSecondClick(button(t("outbox.discard"), () => {}), "outbox.discard", () => act("discard_outbox", { id: entry.id })),
    );
    list.append(item);
  }
  $("outbox").hidden = entries.length === 0;
}

export function init() {
  $("outbox-retry-all").addEventListener("click", () => act("retry_outbox", { id: null }));
  confirmOnSecondClick($("outbox-discard-all"), "outbox.discardAll", () => act("discard_outbox", { id: null }));
  on("outbox-changed", refresh);
  document.addEventListener("language-changed", refresh);
  refresh();
}
