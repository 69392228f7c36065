//! Everything the app keeps between events: settings, the alert history, the watcher.

use std::sync::{Arc, Mutex, RwLock};

use kompira_core::config::{self, LoadOptions, Os, Settings};
use kompira_core::rest::Client;
use kompira_core::watch::{AlertHistory, WatchState, Watcher};

/// Settings as last loaded, or the sentence saying why they could not be.
pub type LoadedSettings = Result<Arc<Settings>, String>;

/// The app's state, shared with commands and the tray.
pub struct AppState {
    /// Replaced as a whole when the settings screen saves (see [`AppState::reload`]).
    settings: RwLock<LoadedSettings>,
    /// Alerts seen so far, newest first.
    pub history: Mutex<AlertHistory>,
    /// The watcher's latest state (None while not watching).
    pub watch_state: Mutex<Option<WatchState>>,
    /// Kept alive while the app runs; replaced when settings change.
    pub watcher: Mutex<Option<Watcher>>,
}

impl AppState {
    /// Loads kompira.conf the way the official tools do, plus the per-user file.
    pub fn load() -> Self {
        Self::with_settings(load_settings())
    }

    /// A state around already-loaded settings (tests build it this way).
    pub fn with_settings(settings: LoadedSettings) -> Self {
        if let Err(reason) = &settings {
            tracing::error!("settings not loaded: {reason}");
        }
        Self {
            settings: RwLock::new(settings),
            history: Mutex::new(AlertHistory::default()),
            watch_state: Mutex::new(None),
            watcher: Mutex::new(None),
        }
    }

    /// The current settings; commands take a snapshot and never hold the lock across awaits.
    pub fn settings(&self) -> LoadedSettings {
        self.settings.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads kompira.conf again (after a save); returns the new settings.
    #[allow(dead_code, reason = "the settings screen calls it")]
    pub fn reload(&self) -> LoadedSettings {
        let fresh = load_settings();
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        fresh
    }

    /// A REST client from the current `[rest]` settings, or why there is none.
    pub fn rest_client(&self) -> Result<Client, String> {
        let settings = self.settings()?;
        let rest = settings.rest().map_err(|e| e.to_string())?;
        Client::new(&rest).map_err(|e| e.to_string())
    }
}

/// Reads kompira.conf from the places the official tools use, plus the per-user file;
/// `KOMPIRA_CONF` names one file explicitly.
pub fn load_settings() -> LoadedSettings {
    let env = |name: &str| std::env::var(name).ok();
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    config::load(&LoadOptions {
        os: Os::current(),
        explicit_config: std::env::var_os("KOMPIRA_CONF").map(Into::into),
        exe: std::env::current_exe().ok(),
        cwd,
        include_user_file: true,
        env: &env,
        overrides: Vec::new(),
    })
    .map(Arc::new)
    .map_err(|e| e.to_string())
}

/// A lock that survives a panic elsewhere: the data is still the best we have.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
