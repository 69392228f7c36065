// The window's shell: views as tabs, the status bar, keyboard shortcuts. Each view lives in its
// own module with its own texts; this file only wires them together.
import { followAgent, register, t, translate } from "./i18n.js";
import * as send from "./send.js";
import * as outbox from "./outbox.js";
import * as alerts from "./alerts.js";
import * as tasks from "./tasks.js";
import * as jobflow from "./jobflow.js";
import * as settings from "./settings.js";
import { call, command, on } from "./calls.js";


register({
  en: { "nav.views": "Views", "status.waiting": "{channel}: {n} waiting on the server" },
  ja: { "nav.views": "画面", "status.waiting": "{channel}: サーバーで {n} 件待機中" },
});

// View name → module; a module may export init(), shown() and submit().
const VIEWS = { send, jobflow, alerts, tasks, settings };

export function showView(name) {
  for (const view of Object.keys(VIEWS)) {
    const selected = view === name;
    document.getElementById(`tab-${view}`).setAttribute("aria-selected", String(selected));
    document.getElementById(`view-${view}`).hidden = !selected;
  }
  VIEWS[name].shown?.();
}

const visibleView = () => Object.keys(VIEWS).find((v) => !document.getElementById(`view-${v}`).hidden);

async function refreshStatus() {
  const status = await call("status");
  followAgent(status.language);
  const parts = [status.summary];
  if (status.last_error) parts.push(status.last_error);
  if (status.settings_error) parts.push(status.settings_error);
  if (status.outbox_error) parts.push(status.outbox_error);
  // Messages piling up on a watched channel (counted by the server, none taken) mean nobody is
  // receiving them: worth a glance during an incident.
  for (const { channel, waiting } of status.channel_depths ?? []) {
    if (waiting > 0) parts.push(t("status.waiting").replace("{channel}", channel.split("/").pop()).replace("{n}", waiting));
  }
  document.getElementById("status").textContent = parts.join(" — ");
  send.showDefaultChannel(status.default_channel);
}

translate();
outbox.init();
for (const [name, view] of Object.entries(VIEWS)) {
  document.getElementById(`tab-${name}`).addEventListener("click", () => showView(name));
  view.init?.();
}
document.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && e.ctrlKey) VIEWS[visibleView()].submit?.();
  // Closing hides the window; its process ends once it has stayed hidden a while.
  // Escape in an open dialog cancels the dialog, not the window.
  if (e.key === "Escape" && !document.querySelector("dialog[open]")) window.__TAURI__.window.getCurrentWindow().close();
});
// The tray asks for a view ("send", "alerts", …) when it opens the window.
on("show-view", (e) => showView(e.payload));
// A window opened by a popup or the tray menu was created just now: ask which view (and which
// alert) was meant; an empty view keeps the first one.
command("initial_view").then((opening) => {
  if (!opening) return;
  if (opening.alert !== null) alerts.focus(opening.alert);
  if (opening.view) showView(opening.view);
  if (opening.remedy && opening.alert !== null) alerts.confirmRemedy(opening.alert);
});
// Tells the window process when a frame has been drawn (after load, and after each show): two
// animation frames, since the first callback runs before that frame is painted.
const afterPaint = (shown) => requestAnimationFrame(() => requestAnimationFrame(() => command("page_painted", { shown })));
afterPaint(false);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") afterPaint(true);
});
on("alerts-changed", refreshStatus);
on("status-changed", refreshStatus);
refreshStatus();
