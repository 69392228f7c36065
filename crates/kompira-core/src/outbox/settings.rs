//! `[outbox]` as the outbox uses it: [`OutboxSettings::from_settings`].

use std::path::PathBuf;

use crate::config::{default_outbox_path, ConfigError, Os, Settings, OUTBOX};

/// `[outbox]` settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxSettings {
    /// The SQLite file.
    pub path: PathBuf,
    /// Most events the outbox holds; one more is refused, never dropped.
    pub max_events: u64,
    /// Most body bytes the outbox holds.
    pub max_bytes: u64,
}

impl OutboxSettings {
    /// The `[outbox]` settings: the store's file (the configured path, else the per-user data
    /// directory; an error naming the key when neither is known) and its limits.
    pub fn from_settings(settings: &Settings, env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let path = match settings.value(OUTBOX, "path").as_str() {
            Some(path) => PathBuf::from(path),
            None => default_outbox_path(settings.os(), env).ok_or_else(|| ConfigError::Missing {
                section: OUTBOX.into(),
                key: "path".into(),
                hint: match settings.os() {
                    Os::Linux => "(neither XDG_DATA_HOME nor HOME is set)".into(),
                    Os::Windows => "(LOCALAPPDATA is not set)".into(),
                },
            })?,
        };
        Ok(OutboxSettings {
            path,
            max_events: u64::try_from(settings.int_or_default(OUTBOX, "max_events")).unwrap_or(1),
            max_bytes: u64::try_from(settings.int_or_default(OUTBOX, "max_bytes")).unwrap_or(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::Fixture;

    #[test]
    fn outbox_settings_default_to_the_data_directory_and_refuse_bad_limits() {
        let f = Fixture::new();
        let env = |name: &str| (name == "HOME").then(|| "/home/u".to_owned());
        let outbox = OutboxSettings::from_settings(&f.load_text("").unwrap(), &env).unwrap();
        assert_eq!(outbox.path, PathBuf::from("/home/u/.local/share/kompira/outbox.sqlite3"));
        assert_eq!((outbox.max_events, outbox.max_bytes), (100_000, 64 * 1024 * 1024));
        let set = OutboxSettings::from_settings(
            &f.load_text("[outbox]\npath = /var/tmp/o.db\nmax_events = 5\nmax_bytes = 1_000\n").unwrap(),
            &|_: &str| None,
        )
        .unwrap();
        assert_eq!((set.path, set.max_events, set.max_bytes), (PathBuf::from("/var/tmp/o.db"), 5, 1000));
        let error = f.load_text("[outbox]\nmax_events = 0\n").unwrap_err().to_string();
        assert!(error.contains("max_events") && error.contains("out of range"), "{error}");
        let error = f.load_text("[outbox]\nmax_bytes = lots\n").unwrap_err().to_string();
        assert!(error.contains("max_bytes") && error.contains("not an integer"), "{error}");
        assert!(f.load_text("[outbox]\npath =\n").unwrap_err().to_string().contains("per-user data directory"));
        let error = OutboxSettings::from_settings(&f.load_text("").unwrap(), &|_: &str| None).unwrap_err().to_string();
        assert!(error.contains("[outbox]") || error.contains("outbox"), "{error}");
    }
}
