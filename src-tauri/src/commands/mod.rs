//! Tauri commands. Settings and templates are the window's own (they edit kompira.conf); every
//! other call is the agent's, forwarded by the one generic command in `forwarded.rs`.

pub mod forwarded;
pub mod settings;
pub mod templates;

/// Settings read from `file` alone, as with `KOMPIRA_CONF` and no environment (unit tests).
#[cfg(test)]
pub(crate) fn settings_from_file(file: &std::path::Path) -> kompira_core::config::Settings {
    kompira_testkit::settings_from_file(file)
}
