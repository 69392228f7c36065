//! Everything the app keeps between events: settings, the alert history, the watcher.

use std::sync::Mutex;

use kompira_core::config::{self, LoadOptions, Os, Settings};
use kompira_core::watch::{AlertHistory, WatchState, Watcher};

/// The app's state, shared with commands and the tray.
pub struct AppState {
    /// Settings as loaded at start; `Err` holds the reason they could not be read.
    pub settings: Result<Settings, String>,
    /// Alerts seen so far, newest first.
    pub history: Mutex<AlertHistory>,
    /// The watcher's latest state (None while not watching).
    pub watch_state: Mutex<Option<WatchState>>,
    /// Kept alive while the app runs.
    pub watcher: Mutex<Option<Watcher>>,
}

impl AppState {
    /// Loads kompira.conf the way the official tools do, plus the per-user file.
    pub fn load() -> Self {
        let env = |name: &str| std::env::var(name).ok();
        let settings = std::env::current_dir()
            .map_err(|e| format!("no current directory: {e}"))
            .and_then(|cwd| {
                config::load(&LoadOptions {
                    os: Os::current(),
                    explicit_config: std::env::var_os("KOMPIRA_CONF").map(Into::into),
                    exe: std::env::current_exe().ok(),
                    cwd,
                    include_user_file: true,
                    env: &env,
                    overrides: Vec::new(),
                })
                .map_err(|e| e.to_string())
            });
        if let Err(reason) = &settings {
            tracing::error!("settings not loaded: {reason}");
        }
        Self {
            settings,
            history: Mutex::new(AlertHistory::default()),
            watch_state: Mutex::new(None),
            watcher: Mutex::new(None),
        }
    }
}

/// A lock that survives a panic elsewhere: the data is still the best we have.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
