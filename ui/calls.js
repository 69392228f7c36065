// Every call the page makes and every event it hears, named once. CALLS and EVENTS are the
// contract with the agent (enum Call and enum Event in crates/kompira-tray-ipc; a Rust test
// checks these lists against them); COMMANDS are the window's own (its Settings and templates).

const { invoke } = window.__TAURI__.core;
const { listen } = window.__TAURI__.event;

export const CALLS = [
  "ping", "open", "status",
  "list_alerts", "mark_alerts_read", "clear_alerts",
  "send_event", "list_outbox", "retry_outbox", "discard_outbox",
  "run_jobflow", "list_jobflows", "plan_remedy", "run_remedy", "list_remedies",
  "list_tasks", "submit_task", "cancel_task",
  "settings_saved", "get_autostart", "set_autostart", "quit",
];

export const EVENTS = [
  "alerts-changed", "status-changed", "outbox-changed", "tasks-changed",
  "run-update", "autostart-changed", "show-window", "quit",
];

export const COMMANDS = [
  "initial_view", "page_painted", "list_templates", "save_template", "delete_template",
  "get_settings", "save_settings", "test_amqp_connection", "test_rest_token",
];

// The window's own events (not the agent's): which view to show, which alert to mark, which
// alert's remedy to confirm.
export const WINDOW_EVENTS = ["show-view", "focus-alert", "confirm-remedy"];

const known = (list, kind, name) => {
  if (!list.includes(name)) throw new Error(`no ${kind} named ${name} in ui/calls.js`);
  return name;
};

// Asks the agent (through the window's one forwarding command); resolves to its answer.
export const call = (name, args) => invoke("call", { name: known(CALLS, "call", name), args: args ?? null });

// Asks the window process itself.
export const command = (name, args) => invoke(known(COMMANDS, "command", name), args);

// Hears an event of the agent or of the window.
export const on = (name, handler) =>
  listen(EVENTS.includes(name) ? name : known(WINDOW_EVENTS, "event", name), handler);
