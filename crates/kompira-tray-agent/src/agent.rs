//! The agent: the resident half of Kompira Tray, one per desktop session. It owns the tray icon,
//! the alert watcher and its popups, remedy and job-flow runs and the outbox drainer; the window
//! (`kompira-tray`, a Tauri process that comes and goes) reads and changes all of that through
//! [`crate::ipc`], and hears about changes as events.
//!
//! Why two processes: a process that links WebKitGTK holds ~60 MB before it shows anything, and
//! keeps most of a webview's memory after the webview is gone. The agent links neither GTK nor
//! WebKit, so the app at rest costs what watching Kompira costs (BENCHMARKS.md).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::ipc::{Opening, WireEvent};
use crate::state::{lock, AppState};
use crate::tray::TrayHandle;

/// Events a slow window may fall behind by before it misses some (it then reloads its views).
const EVENT_BACKLOG: usize = 256;

/// How long a window process we started may take to connect before a second one is started.
const WINDOW_START_GRACE: Duration = Duration::from_secs(15);

/// The agent's state and its links to the tray and the window.
pub struct Agent {
    pub state: AppState,
    events: broadcast::Sender<WireEvent>,
    tray: Mutex<Option<TrayHandle>>,
    /// When a window process was last started and had not yet connected.
    window_started: Mutex<Option<Instant>>,
    quit: watch::Sender<bool>,
    runtime: tokio::runtime::Handle,
    /// The window's program (`kompira-tray` next to this one).
    window_exe: PathBuf,
}

impl Agent {
    /// An agent around loaded state; must be called inside the tokio runtime it will use.
    pub fn new(state: AppState, window_exe: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            state,
            events: broadcast::channel(EVENT_BACKLOG).0,
            tray: Mutex::new(None),
            window_started: Mutex::new(None),
            quit: watch::channel(false).0,
            runtime: tokio::runtime::Handle::current(),
            window_exe,
        })
    }

    /// Runs `future` on the agent's runtime, from any thread (popup buttons answer on their own).
    pub fn spawn<F>(&self, future: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(future);
    }

    /// Tells every connected window (none is fine: a window reads the state when it opens).
    pub fn emit(&self, event: &str, payload: impl Serialize) {
        let payload = serde_json::to_value(payload).unwrap_or(serde_json::Value::Null);
        let _ = self.events.send(WireEvent { event: event.to_owned(), payload });
    }

    /// A new window's stream of events.
    pub fn subscribe(&self) -> broadcast::Receiver<WireEvent> {
        lock(&self.window_started).take();
        self.events.subscribe()
    }

    /// Whether a window process is connected.
    pub fn has_window(&self) -> bool {
        self.events.receiver_count() > 0
    }

    /// Whether a window is connected, or one the agent started is still on its way.
    pub fn window_present(&self) -> bool {
        self.has_window() || lock(&self.window_started).is_some_and(|at| at.elapsed() < WINDOW_START_GRACE)
    }

    /// Shows the window on `view` (with `alert` marked): the connected one if there is one, else
    /// a new window process.
    pub fn open_window(&self, view: &str, alert: Option<u64>) {
        let opening = Opening { view: view.to_owned(), alert };
        if self.window_present() {
            // A window on its way opens on the view it was started with; this one is dropped.
            return self.emit("show-window", opening);
        }
        *lock(&self.window_started) = Some(Instant::now());
        let mut command = Command::new(&self.window_exe);
        // `--from-agent`: it is the window on its way, so it must not hand over to itself.
        command.arg("--from-agent").args(opening.to_args()).stdin(Stdio::null());
        if let Err(e) = command.spawn() {
            lock(&self.window_started).take();
            tracing::error!("cannot start the window ({}): {e}", self.window_exe.display());
            crate::popups::show(
                "Kompira Tray".into(),
                format!("The window cannot open: {} did not start ({e}).", self.window_exe.display()),
                crate::popups::Loudness::Normal,
            );
        }
    }

    /// Keeps the tray backend's handle (see [`crate::tray::start`]).
    pub fn set_tray(&self, tray: TrayHandle) {
        *lock(&self.tray) = Some(tray);
    }

    /// Redraws the tray from the current state.
    pub fn refresh_tray(&self) {
        if let Some(tray) = lock(&self.tray).as_ref() {
            tray.show(crate::tray::model(self));
        }
    }

    /// Ends the agent: windows are told to close first.
    pub fn quit(&self) {
        self.emit("quit", ());
        let _ = self.quit.send(true);
    }

    /// Resolves when [`Agent::quit`] was called.
    pub async fn quitting(&self) {
        let mut quit = self.quit.subscribe();
        let _ = quit.wait_for(|q| *q).await;
    }
}
