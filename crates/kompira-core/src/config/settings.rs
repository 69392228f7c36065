//! The resolved settings: every known key's [`Value`] with its [`Source`], and the accessors
//! that read them. Which keys exist and what they may hold is `keys.rs`; how the layers are
//! resolved is `resolve.rs`. Each consumer builds its own typed view from a [`Settings`]
//! (`event::AmqpSettings`, `rest::RestSettings`, `watch::NotifySettings`,
//! `outbox::OutboxSettings`, `remedy::from_settings`), so this module knows none of them.

use std::fmt;
use std::path::PathBuf;

use super::ini::IniDocument;
use super::keys::{
    default_value, find_spec, is_secret, AMQP, EVENT, KEYS, KOMPIRA, LOGGING, MASK, RAW_AMQP_KEYS, SECRETS, TRAY,
};
use super::paths::{self, Os};

/// A typed setting value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    /// Not set (JSON `null`).
    Null,
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
}

impl Value {
    /// The text, if the value is text.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if the value is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean, if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// How the value reads in an error message.
    pub(super) fn show(&self) -> String {
        match self {
            Value::Null => "null".to_string(),
            Value::Str(s) => crate::quote::quoted(s),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The built-in default.
    Default,
    /// Computed from other settings; the text says from what.
    Derived(&'static str),
    /// A kompira.conf file and the line of the key.
    File {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
    },
    /// An environment variable (its name).
    Env(String),
    /// A command-line flag (its spelling, e.g. `--port`).
    Flag(String),
    /// The OS keyring (`[secrets] store = keyring`).
    Keyring,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Derived(why) => write!(f, "derived: {why}"),
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Env(name) => write!(f, "environment {name}"),
            Source::Flag(flag) => write!(f, "command line {flag}"),
            Source::Keyring => f.write_str("OS keyring"),
        }
    }
}

/// A value and its source.
#[derive(Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The value.
    pub value: Value,
    /// Where it came from.
    pub source: Source,
}

impl Resolved {
    /// The value as a person should see it for `[section] key`: secrets masked, unset values
    /// marked. Every screen and listing goes through this, so none can leak a password.
    pub fn shown(&self, section: &str, key: &str) -> String {
        match &self.value {
            Value::Null => "(not set)".to_owned(),
            _ if is_secret(section, key) => MASK.to_owned(),
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }
}

// By hand: a `Resolved` carries no section name, so its Debug never shows a value.
impl fmt::Debug for Resolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolved").field("source", &self.source).finish_non_exhaustive()
    }
}

/// Logging settings, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggingSettings {
    /// One of DEBUG, INFO, WARNING, ERROR, CRITICAL.
    pub level: String,
    /// The log directory.
    pub dir: PathBuf,
    /// Rotate at this size; 0 means rotate by time (`when`) instead.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub backups: u32,
    /// Time rotation: S, M, H, D, MIDNIGHT or W0–W6.
    pub when: String,
}

/// The resolved settings.
#[derive(Clone)]
pub struct Settings {
    pub(super) os: Os,
    pub(super) entries: Vec<(&'static str, &'static str, Resolved)>,
    pub(super) files_read: Vec<PathBuf>,
    pub(super) files_searched: Vec<PathBuf>,
    pub(super) warnings: Vec<String>,
    /// The merged files as read, for sections other modules own (`crate::templates`).
    pub(super) document: IniDocument,
}

impl fmt::Debug for Settings {
    // By hand so that a stray `{:?}` never prints the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (section, key, resolved) in &self.entries {
            let value = if is_secret(section, key) && resolved.value != Value::Null {
                MASK.to_string()
            } else {
                format!("{:?}", resolved.value)
            };
            map.entry(&format_args!("{section}.{key}"), &format_args!("{value} ({})", resolved.source));
        }
        map.finish()?;
        write!(f, " files_read={:?}", self.files_read)
    }
}

impl Settings {
    /// The merged files as read (sections, keys, values with file and line).
    pub fn document(&self) -> &IniDocument {
        &self.document
    }

    /// Whether `[secrets] store = keyring`: the password and the token belong in the OS keyring.
    pub fn secrets_in_keyring(&self) -> bool {
        self.get(SECRETS, "store").and_then(|r| r.value.as_str()) == Some("keyring")
    }

    /// The resolved value of a known key.
    pub fn get(&self, section: &str, key: &str) -> Option<&Resolved> {
        self.entries.iter().find(|(s, k, _)| *s == section && *k == key).map(|(_, _, r)| r)
    }

    /// All known keys in display order: (section, key, resolved).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &Resolved)> {
        self.entries.iter().map(|(s, k, r)| (*s, *k, r))
    }

    /// Files that were read, in order.
    pub fn files_read(&self) -> &[PathBuf] {
        &self.files_read
    }

    /// Files that were looked for, in order (read or not).
    pub fn files_searched(&self) -> &[PathBuf] {
        &self.files_searched
    }

    /// Things the user should know that did not stop loading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whose path conventions the settings were loaded with.
    pub fn os(&self) -> Os {
        self.os
    }

    /// The value of a known key (the typed views read through this). Panics on a key that is
    /// not in the table: that is a mistake in this crate, not in a file.
    pub(crate) fn value(&self, section: &str, key: &str) -> &Value {
        &self.get(section, key).expect("key from KEYS").value
    }

    /// Falls back to the table default where a flag cleared a key.
    pub(crate) fn int_or_default(&self, section: &str, key: &str) -> i64 {
        self.value(section, key).as_int().unwrap_or_else(|| {
            let spec = find_spec(section, key).expect("key from KEYS");
            default_value(spec, self.os).as_int().unwrap_or(0)
        })
    }

    /// Falls back to the table default where a flag cleared a key.
    pub(crate) fn str_or_default(&self, section: &str, key: &str) -> String {
        match self.value(section, key).as_str() {
            Some(s) => s.to_string(),
            None => {
                let spec = find_spec(section, key).expect("key from KEYS");
                default_value(spec, self.os).as_str().unwrap_or_default().to_string()
            }
        }
    }

    /// `[kompira] site_id`.
    pub fn site_id(&self) -> i64 {
        self.int_or_default(KOMPIRA, "site_id")
    }

    /// `[event] channel`.
    pub fn channel(&self) -> &str {
        self.value(EVENT, "channel").as_str().unwrap_or("/system/channels/Alert")
    }

    /// `[tray] language`: `auto`, `en` or `ja`.
    pub fn language(&self) -> &str {
        self.value(TRAY, "language").as_str().unwrap_or("auto")
    }

    /// The `[logging]` settings.
    pub fn logging(&self) -> LoggingSettings {
        LoggingSettings {
            level: self.str_or_default(LOGGING, "loglevel"),
            dir: PathBuf::from(self.str_or_default(LOGGING, "logdir")),
            max_bytes: u64::try_from(self.int_or_default(LOGGING, "logmaxsz")).unwrap_or(0),
            backups: u32::try_from(self.int_or_default(LOGGING, "logbackup")).unwrap_or(0),
            when: self.str_or_default(LOGGING, "logwhen"),
        }
    }

    /// The `[amqp-connection]` values with derived defaults filled in, each
    /// with its source, in table order; for the settings screen.
    pub fn amqp_resolved(&self) -> Vec<(&'static str, Resolved)> {
        let derived = |value: Value, why: &'static str| Resolved { value, source: Source::Derived(why) };
        let set = |key: &str| Some(self.value(AMQP, key)).filter(|v| **v != Value::Null).cloned();
        // Dependencies first: server → local → ssl, user → port, password.
        let server = set("server").unwrap_or_else(|| Value::Str("localhost".into()));
        let local = matches!(server.as_str(), Some("localhost" | "127.0.0.1"));
        let place = if local { "local server" } else { "remote server" };
        // sendevt 2.0.0 connects without TLS unless told otherwise, even to a
        // remote server (the 1.6.8 manual says otherwise; we follow the tool).
        let ssl = set("ssl").and_then(|v| v.as_bool()).unwrap_or(false);
        let user = set("user").unwrap_or_else(|| Value::Str(if local { "guest" } else { "kompira" }.into()));

        KEYS.iter()
            .filter(|s| s.section == AMQP)
            .map(|spec| {
                let resolved = self.get(AMQP, spec.key).expect("key from KEYS");
                if resolved.value != Value::Null {
                    return (spec.key, resolved.clone());
                }
                let cert = |name| derived(self.cert_path(name), "default certificate directory");
                let value = match spec.key {
                    "server" => derived(server.clone(), "server not set"),
                    "ssl" => derived(Value::Bool(false), place),
                    "user" => derived(user.clone(), place),
                    "password" => derived(user.clone(), "same as user"),
                    "port" => {
                        derived(Value::Int(if ssl { 5671 } else { 5672 }), if ssl { "ssl on" } else { "ssl off" })
                    }
                    "ssl_cacertfile" => cert(paths::CA_FILE_NAME),
                    "ssl_certfile" => cert(paths::CLIENT_CERT_FILE_NAME),
                    "ssl_keyfile" => cert(paths::CLIENT_KEY_FILE_NAME),
                    // Only a command-line override can clear these: use the table default.
                    _ => Resolved { value: default_value(spec, self.os), source: Source::Default },
                };
                (spec.key, value)
            })
            .collect()
    }

    fn cert_path(&self, name: &str) -> Value {
        let path = paths::join(self.os, &paths::default_certs_dir(self.os), name);
        Value::Str(path.to_string_lossy().into_owned())
    }

    /// The 11 amqp keys the reference `--dry-run` prints, as configured
    /// (`null` where unset), with the password masked.
    pub fn amqp_raw_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for key in RAW_AMQP_KEYS {
            let value = match self.value(AMQP, key) {
                Value::Null => serde_json::Value::Null,
                _ if is_secret(AMQP, key) => serde_json::Value::String(MASK.to_string()),
                other => serde_json::to_value(other).expect("plain value"),
            };
            map.insert(key.to_string(), value);
        }
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{source_of, text, value_of, Fixture};

    #[test]
    fn defaults_without_any_file() {
        let s = Fixture::new().load_file(None).unwrap();
        assert!(s.files_read().is_empty());
        assert_eq!(s.site_id(), 1);
        assert_eq!(s.channel(), "/system/channels/Alert");
        assert_eq!(
            s.logging(),
            LoggingSettings {
                level: "INFO".into(),
                dir: PathBuf::from("/var/log/kompira"),
                max_bytes: 1_073_741_824,
                backups: 10,
                when: "MIDNIGHT".into(),
            }
        );
        assert_eq!(source_of(&s, "logging", "loglevel"), "default");
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "connect_timeout"), Value::Int(10));
        assert_eq!(value_of(&s, "amqp-connection", "heartbeat_interval"), Value::Int(10));
    }

    #[test]
    fn raw_json_lists_reference_keys_with_password_masked() {
        let s = Fixture::new().load_text("[amqp-connection]\npassword = secret\nssl = on\n").unwrap();
        let json = serde_json::to_string(&s.amqp_raw_json()).unwrap();
        assert_eq!(
            json,
            r#"{"server":"localhost","port":null,"user":null,"password":"********","ssl":true,"ssl_verify":false,"ssl_cacertfile":null,"ssl_certfile":null,"ssl_keyfile":null,"max_retry":3,"retry_interval":30}"#
        );
        let unset = Fixture::new().load_file(None).unwrap().amqp_raw_json();
        assert_eq!(unset["password"], serde_json::Value::Null);
    }

    #[test]
    fn value_serializes_as_plain_json() {
        let values = [Value::Null, text("a"), Value::Int(3), Value::Bool(true)];
        assert_eq!(serde_json::to_string(&values).unwrap(), r#"[null,"a",3,true]"#);
    }

    #[test]
    fn source_display_forms() {
        assert_eq!(Source::Default.to_string(), "default");
        assert_eq!(Source::Derived("remote server").to_string(), "derived: remote server");
        assert_eq!(
            Source::File { path: "/opt/kompira/kompira.conf".into(), line: 12 }.to_string(),
            "/opt/kompira/kompira.conf:12"
        );
        assert_eq!(Source::Env("AMQP_URL".into()).to_string(), "environment AMQP_URL");
        assert_eq!(Source::Flag("--port".into()).to_string(), "command line --port");
    }
}
