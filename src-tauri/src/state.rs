//! What the window process keeps: the settings its Settings and template views read and write.
//! Everything else lives in the agent.

use kompira_tray_ipc::settings::{LoadedSettings, SettingsCell};

pub use kompira_tray_ipc::settings::{user_config_file, with_load_options};

pub struct WindowState {
    settings: SettingsCell,
    /// Held while writing kompira.conf: one save at a time.
    pub saving: tokio::sync::Mutex<()>,
}

impl WindowState {
    /// Loads kompira.conf as the agent does.
    pub fn load() -> Self {
        Self::with_settings(kompira_tray_ipc::settings::load_settings())
    }

    /// A state around already-loaded settings (tests build it this way).
    pub fn with_settings(settings: LoadedSettings) -> Self {
        Self { settings: SettingsCell::new(settings), saving: tokio::sync::Mutex::new(()) }
    }

    /// The current settings (a snapshot).
    pub fn settings(&self) -> LoadedSettings {
        self.settings.get()
    }

    /// Reads kompira.conf again (after a save); returns the new settings.
    pub fn reload(&self) -> LoadedSettings {
        self.settings.reload()
    }
}
