//! The agent: the resident half of Kompira Tray, one per desktop session. It owns the tray icon,
//! the alert watcher and its popups, remedy and job-flow runs and the outbox drainer; the window
//! (`kompira-tray`, a Tauri process that comes and goes) reads and changes all of that through
//! `kompira_tray_ipc`, and hears about changes as events. Its parts see it as a
//! [`Shell`]; only the top (`lib.rs`, `server.rs`) names this type.
//!
//! Why two processes: a process that links WebKitGTK holds ~60 MB before it shows anything, and
//! keeps most of a webview's memory after the webview is gone. The agent links neither GTK nor
//! WebKit, so the app at rest costs what watching Kompira costs (BENCHMARKS.md).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kompira_tray_ipc::{lock, Event, Opening};
use tokio::sync::{broadcast, watch};

use crate::shell::{Shell, Task};
use crate::state::AppState;
use crate::tray::TrayHandle;

/// Events a slow window may fall behind by before it misses some (it then reloads its views).
const EVENT_BACKLOG: usize = 256;

/// How long a window process we started may take to connect before a second one is started.
const WINDOW_START_GRACE: Duration = Duration::from_secs(15);

/// The agent's state and its links to the tray and the window.
pub struct Agent {
    state: AppState,
    events: broadcast::Sender<Event>,
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

    /// A new window's stream of events.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        lock(&self.window_started).take();
        self.events.subscribe()
    }

    /// Whether a window process is connected.
    pub fn has_window(&self) -> bool {
        self.events.receiver_count() > 0
    }

    /// Keeps the tray backend's handle (see [`crate::tray::start`]).
    pub fn set_tray(&self, tray: TrayHandle) {
        *lock(&self.tray) = Some(tray);
    }

    /// Resolves when [`Shell::quit`] was called.
    pub async fn quitting(&self) {
        let mut quit = self.quit.subscribe();
        let _ = quit.wait_for(|q| *q).await;
    }
}

impl Shell for Agent {
    fn state(&self) -> &AppState {
        &self.state
    }

    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }

    fn window_present(&self) -> bool {
        self.has_window() || lock(&self.window_started).is_some_and(|at| at.elapsed() < WINDOW_START_GRACE)
    }

    fn show(&self, opening: Opening) {
        if self.window_present() {
            // A window on its way opens on the view it was started with; this one is dropped.
            return self.emit(Event::ShowWindow(opening));
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

    fn refresh_tray(&self) {
        if let Some(tray) = lock(&self.tray).as_ref() {
            tray.show(crate::tray::model(self));
        }
    }

    fn quit(&self) {
        self.emit(Event::Quit);
        let _ = self.quit.send(true);
    }

    fn spawn_task(&self, task: Task) {
        self.runtime.spawn(task);
    }
}
