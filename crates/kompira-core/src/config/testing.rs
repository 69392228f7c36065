//! Test support for the settings: a scratch directory to write kompira.conf files in and load
//! them from, used by the tests of `config` and of each consumer's `from_settings`.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{load, ConfigError, LoadOptions, Os, Override, Settings, Value};

/// A scratch directory with helpers to write files and load from them.
pub(crate) struct Fixture {
    pub(crate) dir: tempfile::TempDir,
    env: HashMap<String, String>,
    overrides: Vec<Override>,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        Fixture { dir: tempfile::tempdir().unwrap(), env: HashMap::new(), overrides: Vec::new() }
    }

    pub(crate) fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub(crate) fn env(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    pub(crate) fn flag(mut self, section: &str, key: &str, value: Value, flag: &str) -> Self {
        self.overrides.push(Override { section: section.into(), key: key.into(), value, flag: flag.into() });
        self
    }

    /// Loads with only `explicit` (or no file at all when `None`).
    pub(crate) fn load_file(&self, explicit: Option<PathBuf>) -> Result<Settings, ConfigError> {
        let env = |name: &str| self.env.get(name).cloned();
        load(&LoadOptions {
            os: Os::Linux,
            // With no explicit file, search a directory that has none.
            explicit_config: explicit,
            exe: None,
            cwd: Some(self.dir.path().join("empty")),
            include_user_file: false,
            env: &env,
            overrides: self.overrides.clone(),
        })
    }

    pub(crate) fn load_text(&self, text: &str) -> Result<Settings, ConfigError> {
        self.load_file(Some(self.file("kompira.conf", text)))
    }

    /// Loads through the search path: exe in `<dir>/prefix/bin`, cwd
    /// `<dir>/work`, user file under `<dir>/xdg`.
    pub(crate) fn load_search(&self, user_file: bool) -> Result<Settings, ConfigError> {
        let xdg = self.dir.path().join("xdg").to_string_lossy().into_owned();
        let env = |name: &str| match name {
            "XDG_CONFIG_HOME" => Some(xdg.clone()),
            _ => self.env.get(name).cloned(),
        };
        load(&LoadOptions {
            os: Os::Linux,
            explicit_config: None,
            exe: Some(self.dir.path().join("prefix/bin/kompira-tray")),
            cwd: Some(self.dir.path().join("work")),
            include_user_file: user_file,
            env: &env,
            overrides: self.overrides.clone(),
        })
    }
}

pub(crate) fn value_of(settings: &Settings, section: &str, key: &str) -> Value {
    settings.get(section, key).unwrap().value.clone()
}

pub(crate) fn source_of(settings: &Settings, section: &str, key: &str) -> String {
    settings.get(section, key).unwrap().source.to_string()
}

pub(crate) fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}
