//! The contract between Kompira Tray's two processes: the window (`kompira-tray`, Tauri) and the
//! agent (`kompira-tray-agent`, resident). Both depend on this crate and on neither of each other.
//!
//! - [`Call`]: everything a window may ask the agent, one variant per call with its arguments;
//!   the agent's `calls::dispatch` matches on it exhaustively, the window forwards the page's
//!   calls generically, and `ui/calls.js` lists the names (a test here checks that list).
//! - [`Event`]: everything the agent tells windows, with its payload.
//! - The forms and answers both sides share ([`SendForm`], [`RunForm`], [`SendOutcome`],
//!   [`RunUpdate`], [`Opening`]) and the form rows ([`rows`]).
//! - [`wire`]: the socket address, line framing, `call`, `connect`, `listen`.
//! - [`settings`]: kompira.conf as the app loads it; [`init_logging`].
//!
//! Why two processes: a process that links WebKitGTK holds about 60 MB before it shows anything
//! and keeps most of a webview's memory after the webview is gone (BENCHMARKS.md), so the part
//! that stays while the user is logged in (tray, watcher, popups, runs, tasks, outbox) links no
//! GTK, and the window process ends a minute after its window was hidden.
//!
//! ```text
//! login ─► kompira-tray --minimized ─exec─► kompira-tray-agent ── tray, watcher, popups, runs
//!            tray menu, popup "Open" ─spawn────┘  ▲ JSON lines on a per-user socket
//! user  ─► kompira-tray [--view V] ─ping/open─────┤ ($XDG_RUNTIME_DIR/kompira-tray.sock,
//!            (starts the agent if needed; hands   │  a named pipe on Windows)
//!             over to a window already open) ◄────┘ events after `subscribe`
//! ```
//!
//! One connection carries one call (`{"call", "args"}` → `{"ok"}`/`{"err"}`) or, after
//! `subscribe`, the agent's events until either side goes away. The socket also makes the agent
//! a single instance: a second agent finds the first answering and exits 0. `open` answers
//! whether a window is connected (or on its way), so a second `kompira-tray` launch exits and
//! the open window shows the view; a window the agent started passes `--from-agent` so it never
//! hands over to itself. Quit sends `quit` to windows before the agent ends; a window whose agent
//! vanished unasked starts a new one and reloads its views.

pub mod rows;
pub mod settings;
pub mod wire;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use rows::Row;

/// A call from a window to the agent. On the wire `{"call": "snake_name", "args": {…}}`; calls
/// without arguments need no `args`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "call", content = "args", rename_all = "snake_case")]
pub enum Call {
    /// The agent's process id: whether it runs.
    Ping,
    /// A `kompira-tray` launch asks to be shown: `true` when a window already open shows
    /// `opening` (the launch is handed over), `false` when the asker is to become the window.
    Open(Opening),
    /// The status line's facts (settings, watcher, outbox, tray model).
    Status,
    /// The alert history, newest first, filtered by `query`.
    ListAlerts {
        query: Option<String>,
    },
    MarkAlertsRead,
    ClearAlerts,
    /// Quick send: a [`SendOutcome`].
    SendEvent {
        form: SendForm,
    },
    ListOutbox,
    /// Retry one waiting event, or all with no `id`.
    RetryOutbox {
        id: Option<i64>,
    },
    /// Discard one waiting event, or all with no `id`.
    DiscardOutbox {
        id: Option<i64>,
    },
    /// Starts a job flow: its run number; the rest comes as [`Event::RunUpdate`].
    RunJobflow {
        form: RunForm,
    },
    ListJobflows,
    /// What the remedy of an alert of the history would run (job flow, exact parameters, what
    /// is left out), for the user to confirm.
    PlanRemedy {
        id: u64,
    },
    /// Runs the remedy configured for an alert of the history: its run number.
    RunRemedy {
        id: u64,
    },
    ListRemedies,
    ListTasks,
    /// Answers a task; `result` absent or null sends none (Kompira answers "OK").
    SubmitTask {
        id: i64,
        result: Option<Value>,
    },
    CancelTask {
        id: i64,
    },
    /// The window saved kompira.conf: the agent reads it again and restarts what depends on it.
    SettingsSaved,
    /// Whether the app starts at login.
    GetAutostart,
    /// Turns start at login on or off: the state now in force (also sent as
    /// [`Event::AutostartChanged`]).
    SetAutostart {
        enabled: bool,
    },
    /// Ends the agent as the tray's Quit does (for tools and tests where no tray can be clicked,
    /// as under Wine); answered first, then windows are told to close.
    Quit,
}

impl Call {
    /// The call's name on the wire (`list_alerts`).
    pub fn name(&self) -> String {
        tag(self, "call")
    }

    /// Reads a call as it arrived; an error sentence naming the call when there is no such call
    /// or its arguments do not fit. Absent or null arguments count as `{}` for calls that take
    /// some (all of whose arguments are then optional).
    pub fn from_request(name: &str, args: Value) -> Result<Call, String> {
        let read = |args: Value| {
            let mut request = serde_json::Map::new();
            request.insert("call".into(), Value::String(name.to_owned()));
            if !args.is_null() {
                request.insert("args".into(), args);
            }
            serde_json::from_value::<Call>(Value::Object(request))
        };
        let first = match read(args.clone()) {
            Ok(call) => return Ok(call),
            Err(e) => e,
        };
        if first.to_string().starts_with("unknown variant") {
            return Err(format!("the agent has no call named {name:?} (is it older than the window?)"));
        }
        let error = if args.is_null() {
            match read(Value::Object(Default::default())) {
                Ok(call) => return Ok(call),
                Err(e) => e,
            }
        } else {
            first
        };
        Err(format!("{name}: bad arguments ({error})"))
    }

    /// Every call's name, as serde knows them (tests compare the page's list with it).
    pub fn names() -> Vec<String> {
        variant_names::<Call>("call")
    }
}

/// Something the agent tells every connected window. On the wire `{"event": "kebab-name",
/// "payload": …}`; the window hands each to its page under the same name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "payload", rename_all = "kebab-case")]
pub enum Event {
    AlertsChanged,
    StatusChanged,
    OutboxChanged,
    TasksChanged,
    RunUpdate(RunUpdate),
    /// Start at login is now on (true) or off.
    AutostartChanged(bool),
    /// The window is to show this view (a tray item, a popup's "Open", a second launch).
    ShowWindow(Opening),
    /// The agent ends: windows close.
    Quit,
}

impl Event {
    /// The event's name on the wire and in the page (`alerts-changed`).
    pub fn name(&self) -> String {
        tag(self, "event")
    }

    /// The payload as JSON (null for events without one).
    pub fn payload(&self) -> Value {
        match serde_json::to_value(self) {
            Ok(Value::Object(mut map)) => map.remove("payload").unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }

    /// What a window that missed events (or lost its agent) reloads by: every "changed" event.
    pub const RELOAD: [Event; 4] =
        [Event::StatusChanged, Event::AlertsChanged, Event::OutboxChanged, Event::TasksChanged];

    /// Every event's name, as serde knows them.
    pub fn names() -> Vec<String> {
        variant_names::<Event>("event")
    }
}

fn tag(value: &impl Serialize, key: &str) -> String {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map.get(key).and_then(Value::as_str).unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// The variant names of an adjacently tagged enum, read from serde's own "expected one of"
/// list: no second list to keep in step.
fn variant_names<T: for<'de> Deserialize<'de>>(key: &str) -> Vec<String> {
    let probe = serde_json::json!({ key: "\u{0}" });
    let Err(error) = serde_json::from_value::<T>(probe) else { return Vec::new() };
    let message = error.to_string();
    let list = message.split_once("expected one of ").map_or("", |(_, list)| list);
    list.split(", ").map(|name| name.trim_matches('`').to_owned()).filter(|n| !n.is_empty()).collect()
}

/// Which view a window opens on, and the alert to mark there (a popup's "Open").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
    /// `send`, `jobflow`, `alerts` or `settings`; empty keeps the view the window shows.
    pub view: String,
    pub alert: Option<u64>,
    /// Ask to confirm the remedy of `alert` (a popup's "Run <job flow>"): the window shows what
    /// it would run, and runs it only when the user says so.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remedy: bool,
}

impl Opening {
    /// The window program's arguments for this opening.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if !self.view.is_empty() {
            args.extend(["--view".to_owned(), self.view.clone()]);
        }
        if let Some(id) = self.alert {
            args.extend(["--alert".to_owned(), id.to_string()]);
        }
        if self.remedy {
            args.push("--remedy".to_owned());
        }
        args
    }
}

/// What the quick-send form sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendForm {
    /// Target channel; empty means the `[event] channel`.
    #[serde(default)]
    pub channel: String,
    /// KEY=VALUE rows (blank rows ignored).
    #[serde(default)]
    pub fields: Vec<Row>,
    /// A raw text body, the alternative to fields.
    #[serde(default)]
    pub raw: String,
    /// Site id; none means `[kompira] site_id`.
    pub site_id: Option<i64>,
}

/// What became of a sent form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendOutcome {
    /// The event's correlation id (the same on every retry).
    pub correlation_id: String,
    /// False: the broker acked it. True: it waits in the outbox and is sent when the broker
    /// takes it.
    pub queued: bool,
    /// Why it is still waiting (the last failure), when queued.
    pub reason: Option<String>,
}

/// What the Job flow form sends.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunForm {
    pub jobflow: String,
    #[serde(default)]
    pub parameters: Vec<Row>,
    #[serde(default)]
    pub step_mode: bool,
    #[serde(default)]
    pub checkpoint_mode: bool,
    /// NOTHING, MAIL or ABORT_MAIL; empty leaves the server's default.
    #[serde(default)]
    pub monitoring_mode: String,
    /// Follow the process to its end.
    #[serde(default)]
    pub wait: bool,
}

/// What the window hears about a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunUpdate {
    /// The agent's number for the run (the form matches updates to its request by it).
    pub run: u64,
    pub jobflow: String,
    /// The alert whose remedy this is (the Alerts view shows the run on it).
    pub alert: Option<u64>,
    /// `/process/id_N` once started.
    pub process: Option<String>,
    /// STARTED, NEW, RUNNING, DONE, ABORTED, … or `FAILED` when the run could not be started or
    /// followed.
    pub status: String,
    pub exit_status: Option<i64>,
    /// The result value as JSON text (`null` when none).
    pub result: String,
    pub error: Option<String>,
    /// Console text added since the last update.
    pub console_tail: String,
    /// The last update of this run: it ended, failed, or was started without waiting.
    pub finished: bool,
}

/// Logs to stderr, `RUST_LOG` deciding what (info by default; lapin's chatter only from warn).
/// Both processes of the app log this way.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,lapin=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// A lock that survives a panic elsewhere: the data is still the best we have.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn calls_keep_the_wire_format_of_name_and_args() {
        let call = Call::ListAlerts { query: Some("web".into()) };
        assert_eq!(serde_json::to_value(&call).unwrap(), json!({"call": "list_alerts", "args": {"query": "web"}}));
        assert_eq!(serde_json::to_value(Call::Ping).unwrap(), json!({"call": "ping"}));
        assert_eq!(call.name(), "list_alerts");
        let open = Call::Open(Opening { view: "alerts".into(), alert: Some(3), remedy: false });
        assert_eq!(
            serde_json::to_value(&open).unwrap(),
            json!({"call": "open", "args": {"view": "alerts", "alert": 3}})
        );
    }

    #[test]
    fn requests_are_read_leniently_and_refused_by_name() {
        assert_eq!(Call::from_request("status", Value::Null), Ok(Call::Status));
        assert_eq!(Call::from_request("retry_outbox", Value::Null), Ok(Call::RetryOutbox { id: None }));
        assert_eq!(Call::from_request("list_alerts", json!({})), Ok(Call::ListAlerts { query: None }));
        assert_eq!(
            Call::from_request("submit_task", json!({"id": 4, "result": {"a": 1}})),
            Ok(Call::SubmitTask { id: 4, result: Some(json!({"a": 1})) })
        );
        assert!(Call::from_request("format_disk", Value::Null).unwrap_err().contains("no call named \"format_disk\""));
        assert!(Call::from_request("list_alerts", json!({"query": 5}))
            .unwrap_err()
            .starts_with("list_alerts: bad arguments"));
        assert!(Call::from_request("run_remedy", Value::Null).unwrap_err().starts_with("run_remedy: bad arguments"));
    }

    #[test]
    fn events_keep_the_wire_format_of_name_and_payload() {
        assert_eq!(serde_json::to_value(Event::Quit).unwrap(), json!({"event": "quit"}));
        assert_eq!(Event::AutostartChanged(true).name(), "autostart-changed");
        assert_eq!(Event::AutostartChanged(true).payload(), json!(true));
        assert_eq!(Event::AlertsChanged.payload(), Value::Null);
        // An older agent's line with an explicit null payload still reads.
        let read: Event = serde_json::from_value(json!({"event": "status-changed", "payload": null})).unwrap();
        assert_eq!(read, Event::StatusChanged);
    }

    #[test]
    fn names_come_from_the_enums() {
        let calls = Call::names();
        assert!(calls.contains(&"ping".to_owned()) && calls.contains(&"set_autostart".to_owned()), "{calls:?}");
        let events = Event::names();
        assert!(events.contains(&"run-update".to_owned()) && events.contains(&"quit".to_owned()), "{events:?}");
    }

    /// The page names every call and event from `ui/calls.js`; it must list exactly the enums'.
    #[test]
    fn the_pages_list_of_calls_and_events_matches_the_enums() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/calls.js");
        let text = std::fs::read_to_string(file).expect("ui/calls.js");
        let listed = |name: &str| -> Vec<String> {
            let start =
                text.find(&format!("export const {name} = [")).unwrap_or_else(|| panic!("no {name} in ui/calls.js"));
            let body = &text[start..];
            let body = &body[body.find('[').unwrap() + 1..body.find(']').unwrap()];
            let mut names: Vec<String> =
                body.split(',').map(|n| n.trim().trim_matches('"').to_owned()).filter(|n| !n.is_empty()).collect();
            names.sort();
            names
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(listed("CALLS"), sorted(Call::names()), "ui/calls.js CALLS vs enum Call");
        assert_eq!(listed("EVENTS"), sorted(Event::names()), "ui/calls.js EVENTS vs enum Event");
    }

    #[test]
    fn an_opening_becomes_the_window_programs_arguments() {
        let opening = |view: &str, alert, remedy| Opening { view: view.into(), alert, remedy };
        assert_eq!(opening("alerts", Some(3), false).to_args(), ["--view", "alerts", "--alert", "3"]);
        assert_eq!(opening("alerts", Some(3), true).to_args(), ["--view", "alerts", "--alert", "3", "--remedy"]);
        assert_eq!(opening("send", None, false).to_args(), ["--view", "send"]);
        assert!(Opening::default().to_args().is_empty());
    }
}
