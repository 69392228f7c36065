//! Everything the agent keeps between events: settings, the alert history, the watcher, the
//! outbox and the tasks. Plain data: this module uses no other module of the agent.

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kompira_core::outbox::Outbox;
use kompira_core::rest::{Client, RestSettings, Task};
use kompira_core::watch::{AlertHistory, WatchState, Watcher};
use kompira_tray_ipc::settings::{load_settings, LoadedSettings, SettingsCell};
use tokio::sync::watch;

/// The agent's state, shared by the window's calls, the tray and the watcher.
pub struct AppState {
    settings: SettingsCell,
    /// Alerts seen so far, newest first.
    pub history: Mutex<AlertHistory>,
    /// The watcher's latest state (None while not watching).
    pub watch_state: Mutex<Option<WatchState>>,
    /// Kept alive while the app runs; replaced when settings change.
    pub watcher: Mutex<Option<Watcher>>,
    /// Counts watcher restarts, so the task of a replaced watcher knows to stop reporting.
    pub watch_generation: AtomicU64,
    /// Popups held back from the tray menu; kept here so a restarted watcher stays paused.
    pub pause: Mutex<Option<Pause>>,
    /// The outbox quick send queues into, and its drainer (None when it could not be opened).
    pub outbox: Mutex<Option<OutboxHandle>>,
    /// Events waiting in the outbox, as last counted.
    pub outbox_pending: AtomicU64,
    /// Why the outbox is missing or its events are not going out, for the status line.
    pub outbox_error: Mutex<Option<String>>,
    /// Messages waiting on each watched channel, as the server last counted them.
    pub channel_depths: Mutex<Vec<ChannelDepth>>,
    /// Tasks waiting for the user, as last read (see tasks.rs).
    pub tasks: TaskBoard,
}

/// The open outbox and the switch that stops its drainer (see outbox.rs).
pub struct OutboxHandle {
    pub store: Arc<Outbox>,
    pub(crate) stop: watch::Sender<bool>,
}

/// The tasks as last read, for the window and the popups (see tasks.rs).
#[derive(Default)]
pub struct TaskBoard {
    pub(crate) inner: Mutex<Board>,
    /// Counts restarts, so the loop of replaced settings knows to stop.
    pub(crate) generation: AtomicU64,
}

#[derive(Default)]
pub(crate) struct Board {
    /// Waiting tasks meant for the user, newest first.
    pub(crate) waiting: Vec<Task>,
    /// Tasks already popped up (only ids still waiting are kept).
    pub(crate) popped: HashSet<i64>,
    /// Why the last poll failed.
    pub(crate) error: Option<String>,
    /// Whether a poll has answered since the start.
    pub(crate) loaded: bool,
}

/// A watched channel's queue on the server, read without taking a message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChannelDepth {
    pub channel: String,
    /// `None` when the count could not be read (the reason is in the log).
    pub waiting: Option<u64>,
}

/// Popups held back by the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// Until this moment (the "1 hour" menu item).
    Until(Instant),
    /// Until Resume.
    UntilResumed,
}

impl Pause {
    /// Whether popups are held back at `now`.
    pub fn holds(pause: Option<Pause>, now: Instant) -> bool {
        match pause {
            None => false,
            Some(Pause::UntilResumed) => true,
            Some(Pause::Until(until)) => now < until,
        }
    }
}

impl AppState {
    /// Loads kompira.conf the way the official tools do, plus the per-user file.
    pub fn load() -> Self {
        Self::with_settings(load_settings())
    }

    /// A state around already-loaded settings (tests build it this way).
    pub fn with_settings(settings: LoadedSettings) -> Self {
        Self {
            settings: SettingsCell::new(settings),
            history: Mutex::new(AlertHistory::default()),
            watch_state: Mutex::new(None),
            watcher: Mutex::new(None),
            watch_generation: AtomicU64::new(0),
            pause: Mutex::new(None),
            outbox: Mutex::new(None),
            outbox_pending: AtomicU64::new(0),
            outbox_error: Mutex::new(None),
            channel_depths: Mutex::new(Vec::new()),
            tasks: TaskBoard::default(),
        }
    }

    /// The current settings (a snapshot).
    pub fn settings(&self) -> LoadedSettings {
        self.settings.get()
    }

    /// Reads kompira.conf again (after the window saved it); returns the new settings.
    pub fn reload(&self) -> LoadedSettings {
        self.settings.reload()
    }

    /// Applies the pause chosen in the tray to a (new) watcher.
    pub fn apply_pause(&self, watcher: &Watcher) {
        match *lock(&self.pause) {
            None => watcher.resume(),
            Some(Pause::UntilResumed) => watcher.pause(None),
            Some(Pause::Until(until)) => watcher.pause(Some(until)),
        }
    }

    /// A REST client from the current `[rest]` settings, or why there is none.
    pub fn rest_client(&self) -> Result<Client, String> {
        let settings = self.settings()?;
        let rest = RestSettings::from_settings(&settings).map_err(|e| e.to_string())?;
        Client::new(&rest).map_err(|e| e.to_string())
    }
}

pub use kompira_tray_ipc::lock;
