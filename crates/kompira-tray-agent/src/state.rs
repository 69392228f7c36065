//! Everything the agent keeps between events: settings, the alert history, the watcher.

use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use kompira_core::config::{self, LoadOptions, Os, Settings};
use kompira_core::rest::{Client, RestSettings};
use kompira_core::watch::{AlertHistory, WatchState, Watcher};

/// Settings as last loaded, or the sentence saying why they could not be.
pub type LoadedSettings = Result<Arc<Settings>, String>;

/// Settings as loaded, replaced as a whole when the settings screen saves (see
/// [`SettingsCell::reload`]). The window keeps one too, for the Settings and template views.
pub struct SettingsCell(RwLock<LoadedSettings>);

impl SettingsCell {
    /// A cell around already-loaded settings.
    pub fn new(settings: LoadedSettings) -> Self {
        if let Err(reason) = &settings {
            tracing::error!("settings not loaded: {reason}");
        }
        Self(RwLock::new(settings))
    }

    /// The current settings; callers take a snapshot and never hold the lock across awaits.
    pub fn get(&self) -> LoadedSettings {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads kompira.conf again (after a save); returns the new settings.
    pub fn reload(&self) -> LoadedSettings {
        let fresh = load_settings();
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = fresh.clone();
        fresh
    }
}

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
    pub outbox: Mutex<Option<crate::outbox::OutboxHandle>>,
    /// Events waiting in the outbox, as last counted.
    pub outbox_pending: AtomicU64,
    /// Why the outbox is missing or its events are not going out, for the status line.
    pub outbox_error: Mutex<Option<String>>,
    /// Messages waiting on each watched channel, as the server last counted them.
    pub channel_depths: Mutex<Vec<ChannelDepth>>,
    /// Tasks waiting for the user, as last read (see tasks.rs).
    pub tasks: crate::tasks::TaskBoard,
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
            tasks: crate::tasks::TaskBoard::default(),
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

/// Reads kompira.conf from the places the official tools use, plus the per-user file;
/// `KOMPIRA_CONF` names one file explicitly.
pub fn load_settings() -> LoadedSettings {
    with_load_options(|opts| config::load(opts).map(Arc::new).map_err(|e| e.to_string()))?
}

/// Runs `f` with the options the app loads kompira.conf with: the official search list plus
/// the per-user file, or only `KOMPIRA_CONF` when that is set; the real environment.
pub fn with_load_options<R>(f: impl FnOnce(&LoadOptions) -> R) -> Result<R, String> {
    let env = |name: &str| std::env::var(name).ok();
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    Ok(f(&LoadOptions {
        os: Os::current(),
        explicit_config: std::env::var_os("KOMPIRA_CONF").map(Into::into),
        exe: std::env::current_exe().ok(),
        cwd,
        include_user_file: true,
        env: &env,
        overrides: Vec::new(),
    }))
}

/// Settings read from `file` alone, as with `KOMPIRA_CONF` and an empty environment: what the
/// unit tests of both processes load their scratch kompira.conf with.
pub fn settings_from_file(file: &std::path::Path) -> Result<Settings, String> {
    let no_env = |_: &str| None;
    config::load(&LoadOptions {
        os: Os::Linux,
        explicit_config: Some(file.to_path_buf()),
        exe: None,
        cwd: file.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        include_user_file: false,
        env: &no_env,
        overrides: Vec::new(),
    })
    .map_err(|e| e.to_string())
}

/// The per-user kompira.conf (which may not exist yet).
pub fn user_config_file() -> Option<PathBuf> {
    config::user_config_path(Os::current(), &|name| std::env::var(name).ok())
}

/// A lock that survives a panic elsewhere: the data is still the best we have.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
