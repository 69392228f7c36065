//! kompira.conf as the app loads it, in both processes: the official search list plus the
//! per-user file, held in a [`SettingsCell`] that a save replaces as a whole.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use kompira_core::config::{self, LoadOptions, Os, Settings};

/// Settings as last loaded, or the sentence saying why they could not be.
pub type LoadedSettings = Result<Arc<Settings>, String>;

/// Settings as loaded, replaced as a whole when the settings screen saves (see
/// [`SettingsCell::reload`]). The agent and the window each keep one.
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

/// Reads kompira.conf from the places the official tools use, plus the per-user file;
/// `KOMPIRA_CONF` names one file explicitly.
pub fn load_settings() -> LoadedSettings {
    with_load_options(|opts| config::load(opts).map(Arc::new).map_err(|e| e.to_string()))?
}

/// Runs `f` with the options the app loads kompira.conf with: the official search list but for
/// the current directory, plus the per-user file, or only `KOMPIRA_CONF` when that is set; the
/// real environment.
pub fn with_load_options<R>(f: impl FnOnce(&LoadOptions) -> R) -> Result<R, String> {
    let env = |name: &str| std::env::var(name).ok();
    Ok(f(&LoadOptions {
        os: Os::current(),
        explicit_config: std::env::var_os("KOMPIRA_CONF").map(Into::into),
        exe: std::env::current_exe().ok(),
        // Not the directory the app was started in: a window opened from a downloaded folder
        // must not take the server, `insecure` or remedies from a kompira.conf there.
        cwd: None,
        include_user_file: true,
        env: &env,
        overrides: Vec::new(),
    }))
}

/// The per-user kompira.conf (which may not exist yet).
pub fn user_config_file() -> Option<PathBuf> {
    config::user_config_path(Os::current(), &|name| std::env::var(name).ok())
}
