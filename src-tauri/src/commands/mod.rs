//! Tauri commands, one file per area; each validates input, calls the engine and returns plain
//! data or an error sentence for the window.

pub mod alerts;
pub mod events;
pub mod jobflows;
pub mod outbox;
pub mod rows;
pub mod settings;
pub mod status;
pub mod templates;

/// Settings read from `file` alone, as with `KOMPIRA_CONF` and no environment (unit tests).
#[cfg(test)]
pub(crate) fn settings_from_file(file: &std::path::Path) -> kompira_core::config::Settings {
    use kompira_core::config::{load, LoadOptions, Os};
    let no_env = |_: &str| None;
    load(&LoadOptions {
        os: Os::Linux,
        explicit_config: Some(file.to_path_buf()),
        exe: None,
        cwd: file.parent().expect("a file has a directory").to_path_buf(),
        include_user_file: false,
        env: &no_env,
        overrides: Vec::new(),
    })
    .expect("the test's kompira.conf loads")
}
