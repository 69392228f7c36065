//! Resolving the effective settings, remembering where each value came from.
//!
//! Layers, later winning: built-in defaults → kompira.conf files (in search
//! order) → environment variables → command-line overrides. Only the keys in
//! [`KEYS`] are read; other sections and keys belong to other tools and are
//! left alone. Values are typed and validated here, once, so the rest of the
//! program never sees raw config text.

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::ConfigError;
use super::ini::{self, IniDocument};
use super::paths::{self, Os};
use super::templates::{read_templates, Template};
use super::writer::{apply_edits, Edit};
use crate::remedy::{parse_remedies, Remedy};
use crate::rest::RestSettings;
use crate::secret::Secret;
use crate::watch::{Policy, Severity};
use chrono::NaiveTime;
use std::time::Duration;

/// The mask shown instead of a password.
const MASK: &str = "********";

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
    fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// How the value reads in an error message.
    fn show(&self) -> String {
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

/// `[notify]`: what to watch and when to pop up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifySettings {
    /// Channel paths to watch.
    pub channels: Vec<String>,
    /// Popup rules.
    pub policy: Policy,
    /// Play the notification sound.
    pub sound: bool,
    /// Job flows alerts may offer to run, per channel.
    pub remedies: Vec<Remedy>,
    /// How often the tray app asks for tasks waiting for a person (`task_poll`, seconds);
    /// `None` when it should not (`task_poll = 0`).
    pub task_poll: Option<std::time::Duration>,
    /// The Kompira user the tasks are meant for (`task_user`): tasks assigned to that user,
    /// or to nobody and created by that user's job flows. `None` takes every waiting task
    /// the token can read: Kompira 1.6 has no REST call that names the token's user.
    pub task_user: Option<String>,
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

/// A value given on the command line, already typed (a `Value::Str` for an
/// integer or boolean key is parsed as the file would be).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// Section, e.g. `amqp-connection`.
    pub section: String,
    /// Key, e.g. `port`.
    pub key: String,
    /// The value.
    pub value: Value,
    /// The flag that gave it, for provenance and errors, e.g. `--port`.
    pub flag: String,
}

/// What [`load`] reads.
pub struct LoadOptions<'a> {
    /// Whose path conventions apply.
    pub os: Os,
    /// `-c FILE`: read only this file (not the search list nor the user
    /// file); it must exist.
    pub explicit_config: Option<PathBuf>,
    /// The running executable, for the install-prefix file.
    pub exe: Option<PathBuf>,
    /// The current directory.
    pub cwd: PathBuf,
    /// Also read the per-user file, last among the files.
    pub include_user_file: bool,
    /// Environment lookup (tests pass a map).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Command-line values, applied last.
    pub overrides: Vec<Override>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Str,
    Int,
    Bool,
}

#[derive(Clone, Copy)]
enum Fallback {
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// The OS's log directory.
    LogDir,
}

/// One known key.
struct KeySpec {
    section: &'static str,
    key: &'static str,
    kind: Kind,
    fallback: Fallback,
}

const fn spec(section: &'static str, key: &'static str, kind: Kind, fallback: Fallback) -> KeySpec {
    KeySpec { section, key, kind, fallback }
}

const KOMPIRA: &str = "kompira";
const LOGGING: &str = "logging";
const AMQP: &str = "amqp-connection";
const EVENT: &str = "event";
const NOTIFY: &str = "notify";
const REST: &str = "rest";
const TRAY: &str = "tray";
const OUTBOX: &str = "outbox";
const SECRETS: &str = "secrets";

/// The keys this program reads, in display order.
const KEYS: &[KeySpec] = &[
    spec(KOMPIRA, "site_id", Kind::Int, Fallback::Int(1)),
    spec(LOGGING, "loglevel", Kind::Str, Fallback::Str("INFO")),
    spec(LOGGING, "logdir", Kind::Str, Fallback::LogDir),
    spec(LOGGING, "logmaxsz", Kind::Int, Fallback::Int(1_073_741_824)),
    spec(LOGGING, "logbackup", Kind::Int, Fallback::Int(10)),
    spec(LOGGING, "logwhen", Kind::Str, Fallback::Str("MIDNIGHT")),
    spec(AMQP, "server", Kind::Str, Fallback::Str("localhost")),
    spec(AMQP, "port", Kind::Int, Fallback::None),
    spec(AMQP, "user", Kind::Str, Fallback::None),
    spec(AMQP, "password", Kind::Str, Fallback::None),
    spec(AMQP, "ssl", Kind::Bool, Fallback::None),
    spec(AMQP, "ssl_verify", Kind::Bool, Fallback::Bool(false)),
    spec(AMQP, "ssl_cacertfile", Kind::Str, Fallback::None),
    spec(AMQP, "ssl_certfile", Kind::Str, Fallback::None),
    spec(AMQP, "ssl_keyfile", Kind::Str, Fallback::None),
    spec(AMQP, "max_retry", Kind::Int, Fallback::Int(3)),
    spec(AMQP, "retry_interval", Kind::Int, Fallback::Int(30)),
    spec(AMQP, "heartbeat_interval", Kind::Int, Fallback::Int(10)),
    // Ours, not sendevt's: seconds allowed for the TCP + TLS + AMQP handshake.
    spec(AMQP, "connect_timeout", Kind::Int, Fallback::Int(10)),
    spec(EVENT, "channel", Kind::Str, Fallback::Str("/system/channels/Alert")),
    // Ours: the REST API of the Kompira server (the `kompira` command, the app).
    spec(REST, "url", Kind::Str, Fallback::None),
    spec(REST, "token", Kind::Str, Fallback::None),
    spec(REST, "ca_file", Kind::Str, Fallback::None),
    spec(REST, "insecure", Kind::Bool, Fallback::Bool(false)),
    spec(REST, "timeout", Kind::Int, Fallback::Int(30)),
    // Ours: desktop alerts. Unset channels means the [event] channel.
    spec(NOTIFY, "channels", Kind::Str, Fallback::None),
    spec(NOTIFY, "min_severity", Kind::Str, Fallback::Str("Not classified")),
    spec(NOTIFY, "quiet_hours", Kind::Str, Fallback::None),
    spec(NOTIFY, "breakthrough", Kind::Str, Fallback::Str("Disaster")),
    spec(NOTIFY, "sound", Kind::Bool, Fallback::Bool(true)),
    // `CHANNEL JOBFLOW` lines: alerts from CHANNEL offer to run JOBFLOW (see remedy.rs).
    spec(NOTIFY, "remedies", Kind::Str, Fallback::None),
    // Tasks (a job flow waiting for a person): seconds between polls (0: none), and whose.
    spec(NOTIFY, "task_poll", Kind::Int, Fallback::Int(15)),
    spec(NOTIFY, "task_user", Kind::Str, Fallback::None),
    // Ours: the tray app's own choices. Kompira's tools ignore sections they do not know.
    spec(TRAY, "language", Kind::Str, Fallback::Str("auto")),
    // Ours: the local store of events waiting for the broker. Unset path means the per-user
    // data directory (see `default_outbox_path`).
    spec(OUTBOX, "path", Kind::Str, Fallback::None),
    spec(OUTBOX, "max_events", Kind::Int, Fallback::Int(DEFAULT_OUTBOX_MAX_EVENTS)),
    spec(OUTBOX, "max_bytes", Kind::Int, Fallback::Int(DEFAULT_OUTBOX_MAX_BYTES)),
    // Ours: `keyring` reads the AMQP password and the REST token from the OS keyring first.
    spec(SECRETS, "store", Kind::Str, Fallback::Str("file")),
];

/// `[outbox] max_events` when unset: a day of one event a second, with room to spare.
pub const DEFAULT_OUTBOX_MAX_EVENTS: i64 = 100_000;
/// `[outbox] max_bytes` when unset (sum of body sizes): 64 MiB.
pub const DEFAULT_OUTBOX_MAX_BYTES: i64 = 64 * 1024 * 1024;

/// `[tray] language`: follow the OS, or force English or Japanese.
pub const LANGUAGES: [&str; 3] = ["auto", "en", "ja"];

/// The amqp keys the reference `--dry-run` prints, in its order.
const RAW_AMQP_KEYS: [&str; 11] = [
    "server",
    "port",
    "user",
    "password",
    "ssl",
    "ssl_verify",
    "ssl_cacertfile",
    "ssl_certfile",
    "ssl_keyfile",
    "max_retry",
    "retry_interval",
];

/// Environment variables that set one key each.
const ENV_VARS: &[(&str, &str, &str)] = &[
    ("AMQP_SSL_VERIFY", AMQP, "ssl_verify"),
    ("AMQP_SSL_CACERTFILE", AMQP, "ssl_cacertfile"),
    ("AMQP_SSL_CERTFILE", AMQP, "ssl_certfile"),
    ("AMQP_SSL_KEYFILE", AMQP, "ssl_keyfile"),
    ("AMQP_MAX_RETRY", AMQP, "max_retry"),
    ("AMQP_RETRY_INTERVAL", AMQP, "retry_interval"),
    ("LOGGING_LEVEL", LOGGING, "loglevel"),
    ("LOGGING_DIR", LOGGING, "logdir"),
    ("LOGGING_MAXSZ", LOGGING, "logmaxsz"),
    ("LOGGING_BACKUP", LOGGING, "logbackup"),
    ("LOGGING_WHEN", LOGGING, "logwhen"),
    ("KOMPIRA_URL", REST, "url"),
    ("KOMPIRA_TOKEN", REST, "token"),
];

/// The variable that sets server, port, user, password and ssl at once.
const AMQP_URL: &str = "AMQP_URL";

/// Fails when a variable the settings read is set but is not UTF-8 text. A lookup through
/// `std::env::var(..).ok()` would see such a variable as unset, and the setting would quietly
/// come from the file instead; binaries call this before [`load`]. `var_os` is
/// `std::env::var_os` (tests pass a map).
pub fn check_env_is_text(var_os: &dyn Fn(&str) -> Option<std::ffi::OsString>) -> Result<(), ConfigError> {
    let names = ENV_VARS.iter().map(|(var, _, _)| *var).chain([AMQP_URL, "XDG_CONFIG_HOME", "HOME", "APPDATA"]);
    for var in names {
        if var_os(var).is_some_and(|value| value.to_str().is_none()) {
            return Err(ConfigError::EnvNotText { var: var.to_owned() });
        }
    }
    Ok(())
}

const LOG_LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const LOG_WHENS: [&str; 12] = ["S", "M", "H", "D", "MIDNIGHT", "W0", "W1", "W2", "W3", "W4", "W5", "W6"];

fn find_spec(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.section == section && s.key == key)
}

/// Whether `[section] key` holds a secret (masked wherever it is shown).
pub(super) fn is_secret(section: &str, key: &str) -> bool {
    matches!((section, key), (AMQP, "password") | (REST, "token"))
}

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

/// AMQP connection settings with the derived defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmqpSettings {
    /// Host name or address.
    pub server: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Login password.
    pub password: Secret,
    /// Whether to use TLS.
    pub ssl: bool,
    /// Whether to check the server certificate and present a client one.
    pub ssl_verify: bool,
    /// CA bundle for checking the server.
    pub ca_file: PathBuf,
    /// Client certificate.
    pub cert_file: PathBuf,
    /// Client private key.
    pub key_file: PathBuf,
    /// Extra attempts after a failed connection.
    pub max_retry: u32,
    /// Seconds between attempts.
    pub retry_interval_secs: u64,
    /// AMQP heartbeat in seconds (0 disables it).
    pub heartbeat_secs: u16,
    /// Seconds allowed for TCP + TLS + AMQP handshake.
    pub connect_timeout_secs: u64,
    /// Whether `user` was configured (not derived).
    pub user_is_set: bool,
    /// Whether `port` was configured (not derived).
    pub port_is_set: bool,
}

/// The resolved settings.
#[derive(Clone)]
pub struct Settings {
    os: Os,
    entries: Vec<(&'static str, &'static str, Resolved)>,
    files_read: Vec<PathBuf>,
    files_searched: Vec<PathBuf>,
    warnings: Vec<String>,
    templates: Vec<Template>,
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

/// Reads the files, environment and overrides into [`Settings`].
pub fn load(opts: &LoadOptions) -> Result<Settings, ConfigError> {
    load_inner(opts, None)
}

/// What [`load`] would give once [`write_file`](super::write_file)`(path, edits)` had run,
/// without touching the file: the settings screen checks a save with the same rules as
/// every later load, and tests unsaved values with it. A missing `path` counts as empty.
/// `path` must be one of the files `load` reads ([`Settings::files_searched`]); otherwise
/// the edits could not take effect, and that is the error.
pub fn load_with_edits(opts: &LoadOptions, path: &Path, edits: &[Edit]) -> Result<Settings, ConfigError> {
    let text = match read_text(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(ConfigError::Unreadable { path: path.to_path_buf(), source }),
    };
    load_inner(opts, Some((path, &apply_edits(&text, edits))))
}

/// A file whose text is given rather than read.
type Replacement<'a> = Option<(&'a Path, &'a str)>;

fn load_inner(opts: &LoadOptions, replacement: Replacement) -> Result<Settings, ConfigError> {
    let mut settings = Settings {
        os: opts.os,
        entries: KEYS
            .iter()
            .map(|s| (s.section, s.key, Resolved { value: default_value(s, opts.os), source: Source::Default }))
            .collect(),
        files_read: Vec::new(),
        files_searched: Vec::new(),
        warnings: Vec::new(),
        templates: Vec::new(),
    };
    let doc = settings.read_files(opts, replacement)?;
    settings.apply_files(&doc)?;
    settings.templates = read_templates(&doc)?;
    settings.apply_env(opts.env)?;
    settings.apply_overrides(&opts.overrides)?;
    settings.validate(opts.env)?;
    settings.apply_keyring(&crate::secret_store::read);
    Ok(settings)
}

fn default_value(spec: &KeySpec, os: Os) -> Value {
    match spec.fallback {
        Fallback::None => Value::Null,
        Fallback::Str(s) => Value::Str(s.to_string()),
        Fallback::Int(i) => Value::Int(i),
        Fallback::Bool(b) => Value::Bool(b),
        Fallback::LogDir => Value::Str(paths::default_log_dir(os).to_string_lossy().into_owned()),
    }
}

/// Largest kompira.conf read. Real files are a few kilobytes; the limit keeps `-c /dev/zero`
/// or a runaway file from eating memory.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a file as UTF-8 text; the error says what to fix. Only regular files are read: a
/// device never ends and a named pipe without a writer blocks forever on open.
fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let invalid = |message: String| std::io::Error::new(std::io::ErrorKind::InvalidData, message);
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a directory" } else { "a device or pipe" };
        return Err(invalid(format!("not a regular file (it is {what})")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(invalid(format!("larger than {} MiB; is it really kompira.conf?", MAX_CONFIG_BYTES >> 20)));
    }
    text_of(bytes).map_err(invalid)
}

/// The text of a file's bytes, or why it is not UTF-8 text: UTF-16 (as some Windows editors
/// save) is named, and a bad byte is placed by its line. (A UTF-8 byte-order mark is fine:
/// the INI reader skips it.)
fn text_of(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err("UTF-16 text; save it as UTF-8".into());
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        format!("not UTF-8 text (line {line}); save it as UTF-8")
    })
}

impl Settings {
    /// With `[secrets] store = keyring`, the password and the token come from the OS keyring
    /// where it holds them; the environment and the command line still win. Where no keyring
    /// runs, the files' values stay and a warning says so (once).
    fn apply_keyring(&mut self, read: &dyn Fn(&str, &str) -> crate::secret_store::Lookup) {
        use crate::secret_store::{Lookup, KEYRING_KEYS};
        if !self.secrets_in_keyring() {
            return;
        }
        for (section, key) in KEYRING_KEYS {
            let slot = self.slot(section, key).expect("keyring key in KEYS");
            if matches!(slot.source, Source::Env(_) | Source::Flag(_)) {
                continue;
            }
            match read(section, key) {
                Lookup::Found(value) => *slot = Resolved { value: Value::Str(value), source: Source::Keyring },
                Lookup::Missing => {}
                Lookup::Unavailable(why) => {
                    self.warnings.push(format!(
                        "[secrets] store = keyring, but the OS keyring cannot be reached ({why}); \
                         the password and token come from kompira.conf"
                    ));
                    return;
                }
            }
        }
    }

    /// Puts values about to be stored in the OS keyring in force, as the next load will find
    /// them there: the settings screen checks and tests a form before it saves it. Only with
    /// `[secrets] store = keyring`; the environment and the command line still win.
    pub fn with_keyring_values(&mut self, values: &[(&str, &str, &str)]) {
        use crate::secret_store::Lookup;
        self.apply_keyring(&|section, key| {
            values
                .iter()
                .find(|(s, k, _)| *s == section && *k == key)
                .map_or(Lookup::Missing, |(_, _, value)| Lookup::Found((*value).to_owned()))
        });
    }

    fn read_files(&mut self, opts: &LoadOptions, replacement: Replacement) -> Result<IniDocument, ConfigError> {
        let replacement_is_read = |searched: &[PathBuf]| match replacement {
            Some((path, _)) if !searched.iter().any(|p| p == path) => {
                Err(ConfigError::NotRead { path: path.to_path_buf(), searched: searched.to_vec() })
            }
            _ => Ok(()),
        };
        // The replacement's text, or the file's.
        let read = |path: &Path| match replacement {
            Some((replaced, text)) if replaced == path => Ok(text.to_owned()),
            _ => read_text(path),
        };
        let mut doc = IniDocument::default();
        if let Some(path) = &opts.explicit_config {
            self.files_searched.push(path.clone());
            replacement_is_read(&self.files_searched)?;
            let text = read(path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => ConfigError::NotFound { path: path.clone() },
                _ => ConfigError::Unreadable { path: path.clone(), source },
            })?;
            doc.merge(ini::parse(&text, path)?);
            self.files_read.push(path.clone());
            return Ok(doc);
        }
        self.files_searched = paths::search_path(opts.os, opts.exe.as_deref(), &opts.cwd);
        if opts.include_user_file {
            if let Some(user) = paths::user_config_path(opts.os, opts.env) {
                self.files_searched.push(user);
            }
        }
        replacement_is_read(&self.files_searched)?;
        for path in self.files_searched.clone() {
            match read(&path) {
                Ok(text) => {
                    doc.merge(ini::parse(&text, &path)?);
                    self.files_read.push(path);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // ConfigParser skips such a file silently; say so instead.
                Err(e) => self.warnings.push(format!("skipped config file '{}': cannot read it: {e}", path.display())),
            }
        }
        Ok(doc)
    }

    fn slot(&mut self, section: &str, key: &str) -> Option<&mut Resolved> {
        self.entries.iter_mut().find(|(s, k, _)| *s == section && *k == key).map(|(_, _, r)| r)
    }

    fn apply_files(&mut self, doc: &IniDocument) -> Result<(), ConfigError> {
        for spec in KEYS {
            let Some(found) = doc.get(spec.section, spec.key)? else {
                continue;
            };
            let value = typed(spec.kind, &found.value).map_err(|problem| ConfigError::BadValue {
                path: found.path.clone(),
                line: found.line,
                section: spec.section.to_string(),
                key: spec.key.to_string(),
                message: format!("{} {problem}", crate::quote::quoted(&found.value)),
            })?;
            let source = Source::File { path: found.path, line: found.line };
            *self.slot(spec.section, spec.key).expect("key from KEYS") = Resolved { value, source };
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        // An empty variable counts as unset, as `if os.environ.get(...)` does.
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        if let Some(url) = get(AMQP_URL) {
            let parsed = parse_amqp_url(&url).map_err(|message| ConfigError::BadEnv {
                var: AMQP_URL.to_string(),
                value: mask_url_password(&url),
                message,
            })?;
            if let Some(vhost) = amqp_url_other_vhost(&url) {
                self.warnings.push(format!(
                    "AMQP_URL names the vhost {vhost:?}, which is ignored: events go to vhost \"/\", where Kompira consumes io_queue"
                ));
            }
            let source = Source::Env(AMQP_URL.to_string());
            let text = |v: Option<String>| v.map_or(Value::Null, Value::Str);
            for (key, value) in [
                ("server", text(parsed.host)),
                ("port", parsed.port.map_or(Value::Null, Value::Int)),
                ("user", text(parsed.user)),
                ("password", text(parsed.password)),
                ("ssl", Value::Bool(parsed.ssl)),
            ] {
                *self.slot(AMQP, key).expect("amqp key") = Resolved { value, source: source.clone() };
            }
        }
        for (var, section, key) in ENV_VARS {
            let Some(raw) = get(var) else { continue };
            let spec = find_spec(section, key).expect("env key in KEYS");
            let value = typed(spec.kind, &raw).map_err(|message| ConfigError::BadEnv {
                var: var.to_string(),
                value: if is_secret(section, key) { MASK.to_string() } else { raw.clone() },
                message,
            })?;
            *self.slot(section, key).expect("env key") = Resolved { value, source: Source::Env(var.to_string()) };
        }
        Ok(())
    }

    fn apply_overrides(&mut self, overrides: &[Override]) -> Result<(), ConfigError> {
        for o in overrides {
            let Some(spec) = find_spec(&o.section, &o.key) else {
                self.warnings.push(format!("ignored {}: kompira.conf has no key [{}] {}", o.flag, o.section, o.key));
                continue;
            };
            let value = match (&o.value, spec.kind) {
                (Value::Str(text), Kind::Int | Kind::Bool) => {
                    typed(spec.kind, text).map_err(|problem| ConfigError::BadFlag {
                        flag: o.flag.clone(),
                        message: format!("{} {problem}", crate::quote::quoted(text)),
                    })?
                }
                (Value::Null, _)
                | (Value::Str(_), Kind::Str)
                | (Value::Int(_), Kind::Int)
                | (Value::Bool(_), Kind::Bool) => o.value.clone(),
                (other, _) => {
                    return Err(ConfigError::BadFlag {
                        flag: o.flag.clone(),
                        message: format!("{} is not {}", other.show(), kind_name(spec.kind)),
                    })
                }
            };
            *self.slot(spec.section, spec.key).expect("key from KEYS") =
                Resolved { value, source: Source::Flag(o.flag.clone()) };
        }
        Ok(())
    }

    /// Range checks on the final values (a bad value that a later layer
    /// replaced does not matter, as in sendevt), normalising case.
    fn validate(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        for (section, key, resolved) in &mut self.entries {
            let checked = match check(section, key, &resolved.value) {
                Ok(Some(normal)) => {
                    resolved.value = normal;
                    continue;
                }
                Ok(None) => continue,
                Err(problem) => problem,
            };
            // A URL may carry a password or a token (`?token=`): never show those.
            let is_url = (*section, *key) == (REST, "url");
            let shown = match resolved.value.as_str() {
                Some(url) if is_url => crate::quote::quoted(&crate::quote::url_without_secrets(url)),
                _ => resolved.value.show(),
            };
            return Err(match &resolved.source {
                Source::File { path, line } => ConfigError::BadValue {
                    path: path.clone(),
                    line: *line,
                    section: section.to_string(),
                    key: key.to_string(),
                    message: format!("{shown} {checked}"),
                },
                Source::Env(var) if var == AMQP_URL => ConfigError::BadEnv {
                    var: var.clone(),
                    value: mask_url_password(&env(var).unwrap_or_default()),
                    message: format!("gives {key} {shown}, which {checked}"),
                },
                Source::Env(var) => ConfigError::BadEnv {
                    var: var.clone(),
                    value: match env(var).unwrap_or_default() {
                        url if is_url => crate::quote::url_without_secrets(&url),
                        value => value,
                    },
                    message: checked,
                },
                Source::Flag(flag) => {
                    ConfigError::BadFlag { flag: flag.clone(), message: format!("{shown} {checked}") }
                }
                // Built-in and derived values are valid by construction; the keyring is read
                // after validation, and only for keys that have no checks.
                Source::Default | Source::Derived(_) | Source::Keyring => {
                    unreachable!("invalid built-in {section}.{key}")
                }
            });
        }
        Ok(())
    }

    /// Desktop alert settings: the channels to watch (the `[event] channel` when unset) and the
    /// popup policy. Values were validated by [`load`].
    pub fn notify(&self) -> NotifySettings {
        let text = |key: &str| self.get(NOTIFY, key).and_then(|r| r.value.as_str().map(str::to_owned));
        let channels = text("channels")
            .and_then(|list| parse_channels(&list).ok())
            .filter(|list| !list.is_empty())
            .unwrap_or_else(|| vec![self.channel().to_owned()]);
        let severity = |key: &str| text(key).and_then(|name| Severity::parse(&name));
        NotifySettings {
            channels,
            policy: Policy {
                min_severity: severity("min_severity").unwrap_or(Severity::NotClassified),
                quiet_hours: text("quiet_hours").and_then(|t| parse_quiet_hours(&t).ok()),
                breakthrough: severity("breakthrough"),
            },
            sound: self.get(NOTIFY, "sound").and_then(|r| r.value.as_bool()).unwrap_or(true),
            remedies: text("remedies").and_then(|t| parse_remedies(&t).ok()).unwrap_or_default(),
            task_poll: match self.int_or_default(NOTIFY, "task_poll") {
                0 => None,
                secs => Some(std::time::Duration::from_secs(secs.clamp(5, 3600) as u64)),
            },
            task_user: text("task_user").map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
        }
    }

    /// Saved quick-send templates (`[template:NAME]` sections), in file order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
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

    fn value(&self, section: &str, key: &str) -> &Value {
        &self.get(section, key).expect("key from KEYS").value
    }

    /// Falls back to the table default where a flag cleared a key.
    fn int_or_default(&self, section: &str, key: &str) -> i64 {
        self.value(section, key).as_int().unwrap_or_else(|| {
            let spec = find_spec(section, key).expect("key from KEYS");
            default_value(spec, self.os).as_int().unwrap_or(0)
        })
    }

    fn str_or_default(&self, section: &str, key: &str) -> String {
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

    /// The `[outbox]` settings: the store's file (the configured path, else the per-user data
    /// directory; an error naming the key when neither is known) and its limits.
    pub fn outbox(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<OutboxSettings, ConfigError> {
        let path = match self.value(OUTBOX, "path").as_str() {
            Some(path) => PathBuf::from(path),
            None => paths::default_outbox_path(self.os, env).ok_or_else(|| ConfigError::Missing {
                section: OUTBOX.into(),
                key: "path".into(),
                hint: match self.os {
                    Os::Linux => "(neither XDG_DATA_HOME nor HOME is set)".into(),
                    Os::Windows => "(LOCALAPPDATA is not set)".into(),
                },
            })?,
        };
        Ok(OutboxSettings {
            path,
            max_events: u64::try_from(self.int_or_default(OUTBOX, "max_events")).unwrap_or(1),
            max_bytes: u64::try_from(self.int_or_default(OUTBOX, "max_bytes")).unwrap_or(1),
        })
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

    /// The connection settings with derived defaults applied.
    pub fn amqp(&self) -> AmqpSettings {
        let resolved = self.amqp_resolved();
        let value =
            |key: &str| resolved.iter().find(|(k, _)| *k == key).map(|(_, r)| r.value.clone()).unwrap_or(Value::Null);
        let text = |key: &str| value(key).as_str().unwrap_or_default().to_string();
        let int = |key: &str| value(key).as_int().unwrap_or(0);
        AmqpSettings {
            server: text("server"),
            port: u16::try_from(int("port")).unwrap_or(5672),
            user: text("user"),
            password: Secret::new(text("password")),
            ssl: value("ssl").as_bool().unwrap_or(false),
            ssl_verify: value("ssl_verify").as_bool().unwrap_or(false),
            ca_file: PathBuf::from(text("ssl_cacertfile")),
            cert_file: PathBuf::from(text("ssl_certfile")),
            key_file: PathBuf::from(text("ssl_keyfile")),
            max_retry: u32::try_from(int("max_retry")).unwrap_or(0),
            retry_interval_secs: u64::try_from(int("retry_interval")).unwrap_or(0),
            heartbeat_secs: u16::try_from(int("heartbeat_interval")).unwrap_or(0),
            connect_timeout_secs: u64::try_from(int("connect_timeout")).unwrap_or(1),
            user_is_set: *self.value(AMQP, "user") != Value::Null,
            port_is_set: *self.value(AMQP, "port") != Value::Null,
        }
    }

    /// The `[rest]` settings for the REST client; an unset url or token is an error that
    /// says which key (or variable) to set.
    pub fn rest(&self) -> Result<RestSettings, ConfigError> {
        let text =
            |key: &str| self.value(REST, key).as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let url = text("url").ok_or_else(|| ConfigError::Missing {
            section: REST.into(),
            key: "url".into(),
            hint: "(e.g. https://kompira.example.com) or KOMPIRA_URL".into(),
        })?;
        let token = text("token").ok_or_else(|| ConfigError::Missing {
            section: REST.into(),
            key: "token".into(),
            hint: "(the REST API token from your Kompira user settings) or KOMPIRA_TOKEN".into(),
        })?;
        let timeout = u64::try_from(self.int_or_default(REST, "timeout")).unwrap_or(30).max(1);
        Ok(RestSettings {
            url,
            token: Secret::new(token),
            ca_file: text("ca_file").map(PathBuf::from),
            insecure: self.value(REST, "insecure").as_bool().unwrap_or(false),
            timeout: Duration::from_secs(timeout),
        })
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

fn is_http_url(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| lower.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty()))
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "text",
        Kind::Int => "an integer",
        Kind::Bool => "a boolean",
    }
}

/// Text to a typed value; the error is a phrase such as "is not an integer".
fn typed(kind: Kind, text: &str) -> Result<Value, String> {
    match kind {
        Kind::Str => Ok(Value::Str(text.to_string())),
        Kind::Int => parse_int(text).map(Value::Int).ok_or_else(|| "is not an integer".to_string()),
        Kind::Bool => parse_bool(text)
            .map(Value::Bool)
            .ok_or_else(|| "is not a boolean (write 1/yes/true/on or 0/no/false/off)".to_string()),
    }
}

/// ConfigParser's `BOOLEAN_STATES`, any case.
fn parse_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Python's `int(text)` for decimal text: surrounding whitespace, an
/// optional sign, and `_` allowed between digits.
fn parse_int(text: &str) -> Option<i64> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let magnitude: i64 = clean.parse().ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// Range and spelling checks. `Ok(Some(v))` replaces the value with its
/// normal form (upper-case level names); the error is a phrase.
fn check(section: &str, key: &str, value: &Value) -> Result<Option<Value>, String> {
    let in_range = |low: i64, high: i64| match value.as_int() {
        Some(i) if i < low || i > high => {
            if high == i64::MAX {
                Err(format!("is out of range (must be {low} or more)"))
            } else {
                Err(format!("is out of range ({low}–{high})"))
            }
        }
        _ => Ok(None),
    };
    let one_of = |allowed: &[&str], what: &str| match value.as_str() {
        Some(s) => {
            let upper = s.to_uppercase();
            if allowed.contains(&upper.as_str()) {
                Ok(Some(Value::Str(upper)))
            } else {
                Err(format!("is not {what} (use one of {})", allowed.join(", ")))
            }
        }
        None => Ok(None),
    };
    match (section, key) {
        (LOGGING, "loglevel") => one_of(&LOG_LEVELS, "a log level"),
        (LOGGING, "logwhen") => one_of(&LOG_WHENS, "a rotation time"),
        (LOGGING, "logmaxsz") => in_range(0, i64::MAX),
        (LOGGING, "logbackup") => in_range(0, i64::from(u32::MAX)),
        (AMQP, "port") => in_range(1, 65535),
        (AMQP, "max_retry") => in_range(0, i64::from(u32::MAX)),
        (AMQP, "retry_interval") => in_range(0, i64::MAX),
        (AMQP, "heartbeat_interval") => in_range(0, 65535),
        (AMQP, "connect_timeout") => in_range(1, i64::MAX),
        (NOTIFY, "min_severity") => severity_name(value, false),
        (NOTIFY, "breakthrough") => severity_name(value, true),
        (NOTIFY, "quiet_hours") => match value.as_str() {
            Some(text) => parse_quiet_hours(text)
                .map(|(from, to)| Some(Value::Str(format!("{}-{}", from.format("%H:%M"), to.format("%H:%M"))))),
            None => Ok(None),
        },
        (NOTIFY, "task_poll") => match value.as_int() {
            Some(secs) if secs != 0 && !(5..=3600).contains(&secs) => {
                Err("is out of range (0 to never ask, else 5–3600 seconds)".into())
            }
            _ => Ok(None),
        },
        (NOTIFY, "remedies") => match value.as_str() {
            Some(text) => parse_remedies(text).map(|_| None),
            None => Ok(None),
        },
        (NOTIFY, "channels") => match value.as_str() {
            Some(text) => parse_channels(text).map(|list| Some(Value::Str(list.join(", ")))),
            None => Ok(None),
        },
        (REST, "timeout") => in_range(1, i64::MAX),
        (OUTBOX, "max_events") => in_range(1, i64::MAX),
        (OUTBOX, "max_bytes") => in_range(1, i64::MAX),
        (OUTBOX, "path") => match value.as_str() {
            Some(path) if path.trim().is_empty() => {
                Err("is empty (remove the key to use the per-user data directory)".into())
            }
            _ => Ok(None),
        },
        (SECRETS, "store") => match value.as_str().map(|t| t.trim().to_ascii_lowercase()) {
            Some(store) if store == "file" || store == "keyring" => Ok(Some(Value::Str(store))),
            Some(_) => Err("is not a secret store (use file or keyring)".into()),
            None => Ok(None),
        },
        (TRAY, "language") => match value.as_str() {
            Some(text) => {
                let lower = text.trim().to_ascii_lowercase();
                if LANGUAGES.contains(&lower.as_str()) {
                    Ok(Some(Value::Str(lower)))
                } else {
                    Err(format!("is not a language (use one of {})", LANGUAGES.join(", ")))
                }
            }
            None => Ok(None),
        },
        (REST, "url") => match value.as_str() {
            Some(url) if !url.is_empty() && !is_http_url(url) => {
                Err("is not an http:// or https:// URL (e.g. https://kompira.example.com)".into())
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// A Zabbix severity by number or name, normalised to its name; `none` where allowed.
fn severity_name(value: &Value, none_allowed: bool) -> Result<Option<Value>, String> {
    let Some(text) = value.as_str() else { return Ok(None) };
    if none_allowed && matches!(text.trim().to_ascii_lowercase().as_str(), "none" | "off" | "") {
        return Ok(Some(Value::Str("none".into())));
    }
    match Severity::parse(text) {
        Some(severity) => Ok(Some(Value::Str(severity.name().into()))),
        None => Err(format!(
            "is not a severity (use 0-5 or Not classified, Information, Warning, Average, High, Disaster{})",
            if none_allowed { ", or none" } else { "" }
        )),
    }
}

/// `22:00-07:00` (a range that passes midnight wraps).
fn parse_quiet_hours(text: &str) -> Result<(NaiveTime, NaiveTime), String> {
    let bad = || "is not a time range like 22:00-07:00".to_owned();
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
    let (from, to) = (time(from)?, time(to)?);
    if from == to {
        return Err("is an empty range (start and end are the same)".into());
    }
    Ok((from, to))
}

/// Channel paths separated by commas, spaces or lines; each must be absolute.
fn parse_channels(text: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> =
        text.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = list.iter().find(|p| !p.starts_with('/')) {
        return Err(format!("lists {bad:?}, which is not a channel path (like /system/channels/Alert)"));
    }
    Ok(list)
}

/// What `urllib.parse.urlparse` gives for an `amqp[s]://` URL.
#[derive(Debug, PartialEq, Eq)]
struct AmqpUrl {
    ssl: bool,
    host: Option<String>,
    port: Option<i64>,
    user: Option<String>,
    password: Option<String>,
}

/// The vhost an AMQP URL names other than `/`, if any. The tools always use `/` (where the
/// Kompira server consumes io_queue), as the official tool does with AMQP_URL, so such a
/// vhost is ignored; this finds it so that a warning can say so.
fn amqp_url_other_vhost(url: &str) -> Option<String> {
    let after = url.trim_matches(|c: char| c <= ' ').split_once("://")?.1;
    let path = &after[after.find('/')?..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let vhost = percent_decode(&path[1..]);
    (!vhost.is_empty() && vhost != "/").then_some(vhost)
}

fn parse_amqp_url(url: &str) -> Result<AmqpUrl, String> {
    let url = url.trim_matches(|c: char| c <= ' ');
    let not_amqp = || "is not an amqp:// or amqps:// URL (e.g. amqps://user:pass@host:5671)".to_string();
    let (scheme, rest) = url.split_once(':').ok_or_else(not_amqp)?;
    let ssl = match scheme.to_ascii_lowercase().as_str() {
        "amqp" => false,
        "amqps" => true,
        _ => return Err(not_amqp()),
    };
    let netloc = match rest.strip_prefix("//") {
        Some(after) => &after[..after.find(['/', '?', '#']).unwrap_or(after.len())],
        None => "",
    };
    let (userinfo, hostinfo) = match netloc.rsplit_once('@') {
        Some((info, host)) => (Some(info), host),
        None => (None, netloc),
    };
    let (user, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
            None => (Some(percent_decode(info)), None),
        },
        None => (None, None),
    };
    let (host, port) = match hostinfo.split_once('[') {
        Some((_, bracketed)) => {
            let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
            (host, after.split_once(':').map_or("", |(_, p)| p))
        }
        None => hostinfo.split_once(':').unwrap_or((hostinfo, "")),
    };
    let host = (!host.is_empty()).then(|| host.to_lowercase());
    let port = if port.is_empty() {
        None
    } else if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("has a port {port:?} that is not a number"));
    } else {
        match port.parse::<i64>() {
            Ok(p) if p <= 65535 => Some(p),
            _ => return Err(format!("has a port {port} out of range (1–65535)")),
        }
    };
    Ok(AmqpUrl { ssl, host, port, user, password })
}

/// `urllib.parse.unquote`: `%XX` escapes as UTF-8, invalid bytes replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL with any password replaced by the mask, for error messages.
fn mask_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let start = scheme_end + 3;
    let netloc_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let Some(at) = url[start..netloc_end].rfind('@').map(|i| start + i) else {
        return url.to_string();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}{MASK}{}", &url[..start + colon + 1], &url[at..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A scratch directory with helpers to write files and load from them.
    struct Fixture {
        dir: tempfile::TempDir,
        env: HashMap<String, String>,
        overrides: Vec<Override>,
    }

    impl Fixture {
        fn new() -> Self {
            Fixture { dir: tempfile::tempdir().unwrap(), env: HashMap::new(), overrides: Vec::new() }
        }

        fn file(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
            path
        }

        fn env(mut self, name: &str, value: &str) -> Self {
            self.env.insert(name.to_string(), value.to_string());
            self
        }

        fn flag(mut self, section: &str, key: &str, value: Value, flag: &str) -> Self {
            self.overrides.push(Override { section: section.into(), key: key.into(), value, flag: flag.into() });
            self
        }

        /// Loads with only `explicit` (or no file at all when `None`).
        fn load_file(&self, explicit: Option<PathBuf>) -> Result<Settings, ConfigError> {
            let env = |name: &str| self.env.get(name).cloned();
            load(&LoadOptions {
                os: Os::Linux,
                // With no explicit file, search a directory that has none.
                explicit_config: explicit,
                exe: None,
                cwd: self.dir.path().join("empty"),
                include_user_file: false,
                env: &env,
                overrides: self.overrides.clone(),
            })
        }

        fn load_text(&self, text: &str) -> Result<Settings, ConfigError> {
            self.load_file(Some(self.file("kompira.conf", text)))
        }

        /// Loads through the search path: exe in `<dir>/prefix/bin`, cwd
        /// `<dir>/work`, user file under `<dir>/xdg`.
        fn load_search(&self, user_file: bool) -> Result<Settings, ConfigError> {
            let xdg = self.dir.path().join("xdg").to_string_lossy().into_owned();
            let env = |name: &str| match name {
                "XDG_CONFIG_HOME" => Some(xdg.clone()),
                _ => self.env.get(name).cloned(),
            };
            load(&LoadOptions {
                os: Os::Linux,
                explicit_config: None,
                exe: Some(self.dir.path().join("prefix/bin/kompira-tray")),
                cwd: self.dir.path().join("work"),
                include_user_file: user_file,
                env: &env,
                overrides: self.overrides.clone(),
            })
        }
    }

    fn value_of(settings: &Settings, section: &str, key: &str) -> Value {
        settings.get(section, key).unwrap().value.clone()
    }

    fn source_of(settings: &Settings, section: &str, key: &str) -> String {
        settings.get(section, key).unwrap().source.to_string()
    }

    fn text(s: &str) -> Value {
        Value::Str(s.to_string())
    }

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
    fn windows_default_log_dir_and_cert_files() {
        let env = |_: &str| None;
        let s = load(&LoadOptions {
            os: Os::Windows,
            explicit_config: None,
            exe: None,
            cwd: tempfile::tempdir().unwrap().path().to_path_buf(),
            include_user_file: false,
            env: &env,
            overrides: Vec::new(),
        })
        .unwrap();
        assert_eq!(s.logging().dir, PathBuf::from(r"C:\Kompira\Log"));
        let amqp = s.amqp();
        assert_eq!(amqp.ca_file, PathBuf::from(r"C:\Kompira\SSL\Certs\kompira-bundle-ca.crt"));
        assert_eq!(amqp.cert_file, PathBuf::from(r"C:\Kompira\SSL\Certs\amqp-client-kompira.crt"));
        assert_eq!(amqp.key_file, PathBuf::from(r"C:\Kompira\SSL\Certs\amqp-client-kompira.key"));
    }

    #[test]
    fn entries_follow_table_order() {
        let s = Fixture::new().load_file(None).unwrap();
        let keys: Vec<String> = s.entries().map(|(sec, key, _)| format!("{sec}.{key}")).collect();
        assert_eq!(keys.first().map(String::as_str), Some("kompira.site_id"));
        assert_eq!(
            keys[1..6],
            ["logging.loglevel", "logging.logdir", "logging.logmaxsz", "logging.logbackup", "logging.logwhen"]
        );
        assert_eq!(keys[6], "amqp-connection.server");
        assert_eq!(keys[18], "amqp-connection.connect_timeout");
        assert_eq!(keys[19], "event.channel");
        assert_eq!(keys[20], "rest.url");
        assert_eq!(keys[24], "rest.timeout");
        assert_eq!(keys[25], "notify.channels");
        assert_eq!(keys[30], "notify.remedies");
        assert_eq!(keys[31..33], ["notify.task_poll", "notify.task_user"]);
        assert_eq!(keys[33], "tray.language");
        assert_eq!(keys.last().map(String::as_str), Some("secrets.store"));
        assert_eq!(keys.len(), 38);
    }

    #[test]
    fn file_values_are_typed_with_provenance() {
        let f = Fixture::new();
        let s = f
            .load_text(
                "[kompira]\nsite_id = 7\n[amqp-connection]\nServer = mq.example\nport: 5673\n\
                 ssl = Yes\npassword = p%%w\n[event]\nchannel = /c\n[agent]\nname = x\n",
            )
            .unwrap();
        let path = f.dir.path().join("kompira.conf");
        assert_eq!(s.site_id(), 7);
        assert_eq!(s.channel(), "/c");
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(true));
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5673));
        assert_eq!(value_of(&s, "amqp-connection", "password"), text("p%w"));
        assert_eq!(s.get("amqp-connection", "server").unwrap().source, Source::File { path: path.clone(), line: 4 });
        assert_eq!(source_of(&s, "amqp-connection", "port"), format!("{}:5", path.display()));
        assert_eq!(s.files_read(), std::slice::from_ref(&path));
        assert_eq!(s.files_searched(), [path]);
        assert!(s.get("agent", "name").is_none());
    }

    #[test]
    fn booleans_accept_every_configparser_spelling() {
        for (spelling, expected) in [
            ("1", true),
            ("yes", true),
            ("true", true),
            ("on", true),
            ("TRUE", true),
            ("On", true),
            ("0", false),
            ("no", false),
            ("false", false),
            ("off", false),
            ("NO", false),
            ("Off", false),
        ] {
            let s = Fixture::new().load_text(&format!("[amqp-connection]\nssl_verify = {spelling}\n")).unwrap();
            assert_eq!(value_of(&s, "amqp-connection", "ssl_verify"), Value::Bool(expected), "{spelling}");
        }
    }

    #[test]
    fn bad_boolean_names_file_line_and_key() {
        let f = Fixture::new();
        let e = f.load_text("[amqp-connection]\n\nssl = maybe\n").unwrap_err().to_string();
        let path = f.dir.path().join("kompira.conf");
        assert_eq!(
            e,
            format!(
                "{}:3: [amqp-connection] ssl: \"maybe\" is not a boolean (write 1/yes/true/on or 0/no/false/off)",
                path.display()
            )
        );
        assert!(Fixture::new().load_text("[amqp-connection]\nssl =\n").is_err());
    }

    #[test]
    fn templates_are_loaded_with_the_settings_and_bad_ones_fail_the_load() {
        let s = Fixture::new().load_text("[template:Ping]\nkind = event\nfields = ping=1\n").unwrap();
        assert_eq!(s.templates().len(), 1);
        assert_eq!(s.templates()[0].name, "Ping");
        let err = Fixture::new().load_text("[template:Bad]\nkind = nope\n").unwrap_err();
        assert!(err.to_string().contains(":2: [template:Bad] kind"), "{err}");
    }

    #[test]
    fn notify_defaults_watch_the_event_channel() {
        let s = Fixture::new().load_text("[event]\nchannel = /root/channels/Mine\n").unwrap();
        let notify = s.notify();
        assert_eq!(notify.channels, ["/root/channels/Mine"]);
        assert_eq!(notify.policy, Policy::default());
        assert!(notify.sound);
    }

    #[test]
    fn notify_settings_are_parsed_and_normalised() {
        let s = Fixture::new()
            .load_text(
                "[notify]\nchannels = /root/channels/Desktop,\n  /system/channels/Alert\nmin_severity = 2\n\
                 quiet_hours = 22:00 - 7:30\nbreakthrough = none\nsound = off\n",
            )
            .unwrap();
        let notify = s.notify();
        assert_eq!(notify.channels, ["/root/channels/Desktop", "/system/channels/Alert"]);
        assert_eq!(notify.policy.min_severity, Severity::Warning);
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(notify.policy.quiet_hours, Some((at(22, 0), at(7, 30))));
        assert_eq!(notify.policy.breakthrough, None);
        assert!(!notify.sound);
        assert_eq!(value_of(&s, "notify", "quiet_hours"), Value::Str("22:00-07:30".into()));
        assert_eq!(value_of(&s, "notify", "min_severity"), Value::Str("Warning".into()));
        assert!(notify.remedies.is_empty());
        let s = Fixture::new()
            .load_text("[notify]\nremedies =\n    /system/channels/Alert /root/restart_process\n")
            .unwrap();
        assert_eq!(s.notify().remedies[0].jobflow, "/root/restart_process");
    }

    #[test]
    fn task_settings_default_to_every_15_seconds_for_anyone() {
        let notify = Fixture::new().load_text("").unwrap().notify();
        assert_eq!(notify.task_poll, Some(std::time::Duration::from_secs(15)));
        assert_eq!(notify.task_user, None);
        let notify = Fixture::new().load_text("[notify]\ntask_poll = 0\ntask_user = alice \n").unwrap().notify();
        assert_eq!(notify.task_poll, None);
        assert_eq!(notify.task_user.as_deref(), Some("alice"));
        let err = Fixture::new().load_text("[notify]\ntask_poll = 2\n").unwrap_err().to_string();
        assert!(err.contains(":2: [notify] task_poll") && err.contains("5–3600"), "{err}");
    }

    #[test]
    fn bad_notify_values_name_the_line_and_the_fix() {
        for (text, expected) in [
            ("[notify]\nmin_severity = severe\n", ":2: [notify] min_severity: \"severe\" is not a severity"),
            (
                "[notify]\nquiet_hours = 22-7\n",
                ":2: [notify] quiet_hours: \"22-7\" is not a time range like 22:00-07:00",
            ),
            ("[notify]\n\nquiet_hours = 07:00-07:00\n", ":3: [notify] quiet_hours: \"07:00-07:00\" is an empty range"),
            (
                "[notify]\nchannels = Alert\n",
                ":2: [notify] channels: \"Alert\" lists \"Alert\", which is not a channel path",
            ),
            ("[notify]\nbreakthrough = loud\n", "or none"),
            ("[notify]\nremedies =\n  /system/channels/Alert\n", ":2: [notify] remedies: "),
        ] {
            let err = Fixture::new().load_text(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn integers_parse_like_python_int() {
        assert_eq!(parse_int(" 42 "), Some(42));
        assert_eq!(parse_int("+3"), Some(3));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("1_000"), Some(1000));
        assert_eq!(parse_int("007"), Some(7));
        for bad in ["", "abc", "1.5", "0x10", "1__0", "_1", "1_", "- 1", "99999999999999999999"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_integer_names_file_line_and_key() {
        let f = Fixture::new();
        let e = f.load_text("[kompira]\n\nsite_id = abc\n").unwrap_err().to_string();
        assert_eq!(
            e,
            format!("{}:3: [kompira] site_id: \"abc\" is not an integer", f.dir.path().join("kompira.conf").display())
        );
    }

    #[test]
    fn out_of_range_port_names_file_line_and_key() {
        let f = Fixture::new();
        let e = f.load_text("[amqp-connection]\nport = 70000\n").unwrap_err().to_string();
        assert!(e.ends_with(":2: [amqp-connection] port: 70000 is out of range (1–65535)"), "{e}");
        assert!(f.load_text("[amqp-connection]\nport = 0\n").is_err());
        assert!(f.load_text("[amqp-connection]\nmax_retry = -1\n").is_err());
        assert!(f.load_text("[amqp-connection]\nretry_interval = -1\n").is_err());
        assert!(f.load_text("[amqp-connection]\nconnect_timeout = 0\n").is_err());
        assert!(f.load_text("[logging]\nlogbackup = -2\n").is_err());
        assert!(f.load_text("[logging]\nlogmaxsz = -2\n").is_err());
    }

    #[test]
    fn outbox_settings_default_to_the_data_directory_and_refuse_bad_limits() {
        let f = Fixture::new();
        let env = |name: &str| (name == "HOME").then(|| "/home/u".to_owned());
        let outbox = f.load_text("").unwrap().outbox(&env).unwrap();
        assert_eq!(outbox.path, PathBuf::from("/home/u/.local/share/kompira/outbox.sqlite3"));
        assert_eq!((outbox.max_events, outbox.max_bytes), (100_000, 64 * 1024 * 1024));
        let set = f
            .load_text("[outbox]\npath = /var/tmp/o.db\nmax_events = 5\nmax_bytes = 1_000\n")
            .unwrap()
            .outbox(&|_: &str| None)
            .unwrap();
        assert_eq!((set.path, set.max_events, set.max_bytes), (PathBuf::from("/var/tmp/o.db"), 5, 1000));
        let error = f.load_text("[outbox]\nmax_events = 0\n").unwrap_err().to_string();
        assert!(error.contains("max_events") && error.contains("out of range"), "{error}");
        let error = f.load_text("[outbox]\nmax_bytes = lots\n").unwrap_err().to_string();
        assert!(error.contains("max_bytes") && error.contains("not an integer"), "{error}");
        assert!(f.load_text("[outbox]\npath =\n").unwrap_err().to_string().contains("per-user data directory"));
        let error = f.load_text("").unwrap().outbox(&|_: &str| None).unwrap_err().to_string();
        assert!(error.contains("[outbox]") || error.contains("outbox"), "{error}");
    }

    #[test]
    fn log_level_and_when_accept_any_case_and_store_upper() {
        let s = Fixture::new().load_text("[logging]\nloglevel = debug\nlogwhen = w3\n").unwrap();
        assert_eq!(s.logging().level, "DEBUG");
        assert_eq!(s.logging().when, "W3");
        assert_eq!(value_of(&s, "logging", "loglevel"), text("DEBUG"));
        let e = Fixture::new().load_text("[logging]\nloglevel = verbose\n").unwrap_err().to_string();
        assert!(
            e.ends_with(
                "[logging] loglevel: \"verbose\" is not a log level (use one of DEBUG, INFO, WARNING, ERROR, CRITICAL)"
            ),
            "{e}"
        );
        assert!(Fixture::new().load_text("[logging]\nlogwhen = W7\n").is_err());
    }

    #[test]
    fn default_section_applies_to_known_sections() {
        let s = Fixture::new().load_text("[DEFAULT]\nloglevel = error\n[logging]\n").unwrap();
        assert_eq!(s.logging().level, "ERROR");
        // Without a [logging] section the DEFAULT does not apply (ConfigParser).
        let s = Fixture::new().load_text("[DEFAULT]\nloglevel = error\n").unwrap();
        assert_eq!(s.logging().level, "INFO");
    }

    #[test]
    fn interpolation_error_in_known_key_fails_load() {
        let e = Fixture::new().load_text("[amqp-connection]\npassword = 100%\n").unwrap_err();
        assert!(matches!(e, ConfigError::Interpolation { line: 2, .. }), "{e}");
        // An unknown key with bad syntax is not ours to judge.
        Fixture::new().load_text("[agent]\nname = 100%\n").unwrap();
    }

    #[test]
    fn parse_error_fails_load() {
        let e = Fixture::new().load_text("server = x\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { line: 1, .. }), "{e}");
    }

    #[test]
    fn later_files_override_earlier_ones_in_search_order() {
        let f = Fixture::new();
        let prefix = f.file("prefix/kompira.conf", "[kompira]\nsite_id = 2\n[event]\nchannel = /prefix\n");
        let work = f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        let user = f.file("xdg/kompira/kompira.conf", "[kompira]\nsite_id = 4\n");

        let s = f.load_search(false).unwrap();
        assert_eq!(s.site_id(), 3);
        assert_eq!(s.channel(), "/prefix");
        assert_eq!(s.files_read(), [prefix.clone(), work.clone()]);
        assert_eq!(s.files_searched(), [PathBuf::from("/opt/kompira/kompira.conf"), prefix.clone(), work.clone()]);

        let s = f.load_search(true).unwrap();
        assert_eq!(s.site_id(), 4);
        assert_eq!(s.files_read(), [prefix, work, user.clone()]);
        assert_eq!(s.files_searched().last(), Some(&user));
        assert_eq!(source_of(&s, "kompira", "site_id"), format!("{}:2", user.display()));
    }

    #[test]
    fn interpolation_sees_keys_from_later_files() {
        let f = Fixture::new();
        f.file("prefix/kompira.conf", "[event]\nchannel = /system/channels/%(name)s\n");
        f.file("work/kompira.conf", "[event]\nname = Desk\n");
        assert_eq!(f.load_search(false).unwrap().channel(), "/system/channels/Desk");
    }

    #[test]
    fn duplicate_section_across_files_is_fine() {
        let f = Fixture::new();
        f.file("prefix/kompira.conf", "[kompira]\nsite_id = 2\n");
        f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        assert_eq!(f.load_search(false).unwrap().site_id(), 3);
    }

    #[test]
    fn explicit_config_replaces_search_list() {
        let f = Fixture::new();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 3\n");
        let only = f.file("other.conf", "[kompira]\nsite_id = 9\n");
        let s = f.load_file(Some(only.clone())).unwrap();
        assert_eq!(s.site_id(), 9);
        assert_eq!(s.files_searched(), [only]);
    }

    #[test]
    fn explicit_config_missing_is_error() {
        let f = Fixture::new();
        let missing = f.dir.path().join("nope.conf");
        let e = f.load_file(Some(missing.clone())).unwrap_err();
        assert_eq!(e.to_string(), format!("config file '{}' not found", missing.display()));
    }

    #[test]
    fn explicit_config_unreadable_is_error() {
        let f = Fixture::new();
        let dir = f.dir.path().join("dir.conf");
        std::fs::create_dir(&dir).unwrap();
        assert!(matches!(f.load_file(Some(dir)), Err(ConfigError::Unreadable { .. })));
    }

    #[test]
    fn unreadable_searched_file_is_skipped_with_warning() {
        let f = Fixture::new();
        // A directory cannot be read as a file, even by root.
        std::fs::create_dir_all(f.dir.path().join("prefix/kompira.conf")).unwrap();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 5\n");
        let s = f.load_search(false).unwrap();
        assert_eq!(s.site_id(), 5);
        assert_eq!(s.warnings().len(), 1);
        assert!(s.warnings()[0].contains("prefix/kompira.conf"), "{:?}", s.warnings());
    }

    #[test]
    fn non_utf8_file_is_skipped_with_warning() {
        let f = Fixture::new();
        std::fs::create_dir_all(f.dir.path().join("work")).unwrap();
        std::fs::write(f.dir.path().join("work/kompira.conf"), b"[kompira]\nsite_id = \xff\n").unwrap();
        let s = f.load_search(false).unwrap();
        assert!(s.files_read().is_empty());
        assert!(s.warnings()[0].contains("UTF-8"), "{:?}", s.warnings());
    }

    #[test]
    fn each_environment_variable_overrides_file() {
        let f = Fixture::new()
            .env("AMQP_SSL_VERIFY", "on")
            .env("AMQP_SSL_CACERTFILE", "/ca")
            .env("AMQP_SSL_CERTFILE", "/cert")
            .env("AMQP_SSL_KEYFILE", "/key")
            .env("AMQP_MAX_RETRY", "5")
            .env("AMQP_RETRY_INTERVAL", " 7 ")
            .env("LOGGING_LEVEL", "warning")
            .env("LOGGING_DIR", "/logs")
            .env("LOGGING_MAXSZ", "0")
            .env("LOGGING_BACKUP", "2")
            .env("LOGGING_WHEN", "h");
        let s =
            f.load_text("[amqp-connection]\nssl_verify = no\nmax_retry = 1\n[logging]\nloglevel = DEBUG\n").unwrap();
        let amqp = s.amqp();
        assert!(amqp.ssl_verify);
        assert_eq!(amqp.ca_file, PathBuf::from("/ca"));
        assert_eq!(amqp.cert_file, PathBuf::from("/cert"));
        assert_eq!(amqp.key_file, PathBuf::from("/key"));
        assert_eq!(amqp.max_retry, 5);
        assert_eq!(amqp.retry_interval_secs, 7);
        assert_eq!(
            s.logging(),
            LoggingSettings {
                level: "WARNING".into(),
                dir: "/logs".into(),
                max_bytes: 0,
                backups: 2,
                when: "H".into()
            }
        );
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "environment AMQP_MAX_RETRY");
        assert_eq!(source_of(&s, "logging", "logwhen"), "environment LOGGING_WHEN");
    }

    #[test]
    fn empty_environment_variable_is_ignored() {
        let s = Fixture::new().env("AMQP_MAX_RETRY", "").env("AMQP_URL", "").load_file(None).unwrap();
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "default");
        assert_eq!(source_of(&s, "amqp-connection", "server"), "default");
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let e = Fixture::new().env("AMQP_MAX_RETRY", "x").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "AMQP_MAX_RETRY=\"x\" is not an integer");
        let e = Fixture::new().env("AMQP_SSL_VERIFY", "sure").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("AMQP_SSL_VERIFY=\"sure\" is not a boolean"), "{e}");
        let e = Fixture::new().env("LOGGING_LEVEL", "loud").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("LOGGING_LEVEL=\"loud\" is not a log level"), "{e}");
        let e = Fixture::new().env("AMQP_RETRY_INTERVAL", "-1").load_file(None).unwrap_err();
        assert!(e.to_string().starts_with("AMQP_RETRY_INTERVAL=\"-1\" is out of range"), "{e}");
    }

    #[test]
    fn amqp_url_sets_connection_keys() {
        let s = Fixture::new()
            .env("AMQP_URL", "amqps://us%40er:p%3Ass@MQ.Example:5999/vhost")
            .load_text("[amqp-connection]\nserver = file\nport = 1\nuser = u\npassword = p\nssl = no\n")
            .unwrap();
        let amqp = s.amqp();
        assert_eq!(amqp.server, "mq.example");
        assert_eq!(amqp.port, 5999);
        assert_eq!(amqp.user, "us@er");
        assert_eq!(amqp.password.expose(), "p:ss");
        assert!(amqp.ssl);
        for key in ["server", "port", "user", "password", "ssl"] {
            assert_eq!(source_of(&s, "amqp-connection", key), "environment AMQP_URL", "{key}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_variable_that_is_not_text_is_an_error_not_unset() {
        use std::os::unix::ffi::OsStringExt;
        let bad = |name: &str| (name == "KOMPIRA_TOKEN").then(|| std::ffi::OsString::from_vec(b"t\xE9ken".to_vec()));
        let e = check_env_is_text(&bad).unwrap_err().to_string();
        assert_eq!(e, "the environment variable KOMPIRA_TOKEN is not UTF-8 text; set it again in UTF-8, or unset it");
        assert!(check_env_is_text(&|_| Some("text".into())).is_ok());
    }

    #[test]
    fn keyring_values_replace_file_secrets_but_not_environment_ones() {
        use crate::secret_store::Lookup;
        let text = "[secrets]\nstore = keyring\n[amqp-connection]\npassword = from-file\n[rest]\nurl = http://k\ntoken = file-token\n";
        let mut s = Fixture::new().env("KOMPIRA_TOKEN", "env-token").load_text(text).unwrap();
        s.warnings.clear();
        s.apply_keyring(&|section, key| Lookup::Found(format!("ring-{section}.{key}")));
        assert_eq!(s.amqp().password.expose(), "ring-amqp-connection.password");
        assert_eq!(source_of(&s, "amqp-connection", "password"), "OS keyring");
        assert_eq!(s.rest().unwrap_or_else(|e| panic!("{e}")).token.expose(), "env-token");
        assert!(s.warnings().is_empty());
    }

    #[test]
    fn without_a_keyring_the_file_stays_and_a_warning_says_so() {
        use crate::secret_store::Lookup;
        let text = "[secrets]\nstore = keyring\n[amqp-connection]\npassword = from-file\n";
        let mut s = Fixture::new().load_text(text).unwrap();
        s.warnings.clear();
        s.apply_keyring(&|_, _| Lookup::Unavailable("no D-Bus session".into()));
        assert_eq!(s.amqp().password.expose(), "from-file");
        assert_eq!(s.warnings().len(), 1, "{:?}", s.warnings());
        assert!(s.warnings()[0].contains("cannot be reached (no D-Bus session)"), "{:?}", s.warnings());
        // Missing entries keep the file's value quietly; the file store never asks.
        s.warnings.clear();
        s.apply_keyring(&|_, _| Lookup::Missing);
        assert_eq!(s.amqp().password.expose(), "from-file");
        let mut plain = Fixture::new().load_text("[amqp-connection]\npassword = p\n").unwrap();
        plain.apply_keyring(&|_, _| panic!("the file store must not ask the keyring"));
        assert!(Fixture::new().load_text("[secrets]\nstore = vault\n").is_err());
    }

    #[test]
    fn amqp_url_vhost_other_than_root_is_named_in_a_warning() {
        assert_eq!(amqp_url_other_vhost("amqp://u:p@h:1/kompira?x=1"), Some("kompira".into()));
        assert_eq!(amqp_url_other_vhost("amqp://h/a%2Fb"), Some("a/b".into()));
        for root in ["amqp://h", "amqp://h/", "amqp://h/%2f", "amqp://h/%2F?x", "amqp:h"] {
            assert_eq!(amqp_url_other_vhost(root), None, "{root}");
        }
        let s = Fixture::new().env("AMQP_URL", "amqp://h/kompira").load_file(None).unwrap();
        assert!(s.warnings().iter().any(|w| w.contains("\"kompira\", which is ignored")), "{:?}", s.warnings());
    }

    #[test]
    fn amqp_url_missing_parts_become_null() {
        let s = Fixture::new()
            .env("AMQP_URL", "amqp://mq.example")
            .load_text("[amqp-connection]\nport = 1\nuser = u\npassword = p\nssl = yes\n")
            .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "user"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "password"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(false));
        let amqp = s.amqp();
        assert_eq!((amqp.port, amqp.user.as_str(), amqp.password.expose()), (5672, "kompira", "kompira"));
        assert!(!amqp.user_is_set && !amqp.port_is_set);

        let s = Fixture::new().env("AMQP_URL", "amqp://").load_file(None).unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "server"), Value::Null);
        assert_eq!(s.amqp().server, "localhost");
        assert_eq!(s.amqp().user, "guest");
    }

    #[test]
    fn amqp_url_forms_parse_like_urlparse() {
        let url = |u: &str| parse_amqp_url(u).unwrap();
        assert_eq!(
            url("AMQPS://u@h"),
            AmqpUrl { ssl: true, host: Some("h".into()), port: None, user: Some("u".into()), password: None }
        );
        assert_eq!(url("amqp://:pw@h:").password.as_deref(), Some("pw"));
        assert_eq!(url("amqp://:pw@h:").user.as_deref(), Some(""));
        assert_eq!(url("amqp://[::1]:5672").host.as_deref(), Some("::1"));
        assert_eq!(url("amqp://[::1]:5672").port, Some(5672));
        assert_eq!(url("amqp://a@b@h/x?y").user.as_deref(), Some("a@b"));
        assert_eq!(url("amqp:h").host, None);
        assert!(parse_amqp_url("amqp://h:abc").is_err());
        assert!(parse_amqp_url("amqp://h:70000").is_err());
    }

    #[test]
    fn amqp_url_with_other_scheme_is_error() {
        let e = Fixture::new().env("AMQP_URL", "http://u:secret@h").load_file(None).unwrap_err().to_string();
        assert!(e.starts_with("AMQP_URL=\"http://u:********@h\" is not an amqp:// or amqps:// URL"), "{e}");
        assert!(Fixture::new().env("AMQP_URL", "localhost").load_file(None).is_err());
    }

    #[test]
    fn amqp_url_port_zero_is_error_without_showing_password() {
        let e = Fixture::new().env("AMQP_URL", "amqp://u:secret@h:0").load_file(None).unwrap_err().to_string();
        assert_eq!(e, "AMQP_URL=\"amqp://u:********@h:0\" gives port 0, which is out of range (1–65535)");
    }

    #[test]
    fn overrides_beat_environment_which_beats_file() {
        let f = Fixture::new().env("AMQP_MAX_RETRY", "5").env("AMQP_RETRY_INTERVAL", "6").flag(
            "amqp-connection",
            "max_retry",
            Value::Int(9),
            "--max-retry",
        );
        let s = f.load_text("[amqp-connection]\nmax_retry = 1\nretry_interval = 2\nheartbeat_interval = 3\n").unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "max_retry"), Value::Int(9));
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "command line --max-retry");
        assert_eq!(value_of(&s, "amqp-connection", "retry_interval"), Value::Int(6));
        assert_eq!(source_of(&s, "amqp-connection", "retry_interval"), "environment AMQP_RETRY_INTERVAL");
        assert_eq!(value_of(&s, "amqp-connection", "heartbeat_interval"), Value::Int(3));
        assert!(source_of(&s, "amqp-connection", "heartbeat_interval").ends_with("kompira.conf:4"));
        assert_eq!(source_of(&s, "amqp-connection", "connect_timeout"), "default");
    }

    #[test]
    fn override_text_is_typed_and_checked() {
        let s = Fixture::new()
            .flag("amqp-connection", "port", text("5999"), "--port")
            .flag("amqp-connection", "ssl", text("yes"), "--ssl")
            .load_file(None)
            .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5999));
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(true));
        let e = Fixture::new().flag("amqp-connection", "port", text("x"), "--port").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --port: \"x\" is not an integer");
        let e = Fixture::new().flag("amqp-connection", "port", Value::Int(0), "--port").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --port: 0 is out of range (1–65535)");
        let e = Fixture::new().flag("kompira", "site_id", Value::Bool(true), "--site-id").load_file(None).unwrap_err();
        assert_eq!(e.to_string(), "command line --site-id: true is not an integer");
    }

    #[test]
    fn override_of_unknown_key_is_warned() {
        let s = Fixture::new().flag("x", "y", Value::Int(1), "--y").load_file(None).unwrap();
        assert_eq!(s.warnings().len(), 1);
    }

    #[test]
    fn bad_file_value_replaced_by_later_layer_is_fine_but_type_errors_are_not() {
        // A range problem in the file does not matter when the env replaces it …
        let s = Fixture::new().env("AMQP_MAX_RETRY", "2").load_text("[amqp-connection]\nmax_retry = -5\n").unwrap();
        assert_eq!(s.amqp().max_retry, 2);
        // … but text that is not a number fails, as sendevt's getint does.
        assert!(Fixture::new().env("AMQP_MAX_RETRY", "2").load_text("[amqp-connection]\nmax_retry = x\n").is_err());
    }

    #[test]
    fn local_server_derives_guest_and_plain_port() {
        for server in ["localhost", "127.0.0.1"] {
            let s = Fixture::new().load_text(&format!("[amqp-connection]\nserver = {server}\n")).unwrap();
            let amqp = s.amqp();
            assert_eq!((amqp.user.as_str(), amqp.password.expose()), ("guest", "guest"));
            assert_eq!((amqp.ssl, amqp.port), (false, 5672));
            assert!(!amqp.user_is_set && !amqp.port_is_set);
            let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
            assert_eq!(resolved["user"].source, Source::Derived("local server"));
            assert_eq!(resolved["ssl"].source, Source::Derived("local server"));
            assert_eq!(resolved["password"].source, Source::Derived("same as user"));
            assert_eq!(resolved["port"].source.to_string(), "derived: ssl off");
        }
    }

    #[test]
    fn remote_server_derives_kompira_without_tls() {
        let s = Fixture::new().load_text("[amqp-connection]\nserver = mq.example\n").unwrap();
        let amqp = s.amqp();
        assert_eq!((amqp.user.as_str(), amqp.password.expose()), ("kompira", "kompira"));
        // sendevt 2.0.0 behaviour: no TLS unless ssl is set.
        assert_eq!((amqp.ssl, amqp.port), (false, 5672));
        let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
        assert_eq!(resolved["user"].source.to_string(), "derived: remote server");
        assert_eq!(resolved["server"].source.to_string(), format!("{}:2", s.files_read()[0].display()));
    }

    #[test]
    fn ssl_derives_port_5671_and_password_follows_user() {
        let s = Fixture::new().load_text("[amqp-connection]\nserver = mq\nssl = true\nuser = alice\n").unwrap();
        let amqp = s.amqp();
        assert_eq!((amqp.ssl, amqp.port, amqp.user.as_str(), amqp.password.expose()), (true, 5671, "alice", "alice"));
        assert!(amqp.user_is_set);
        assert_eq!(amqp.ca_file, PathBuf::from("/opt/kompira/ssl/certs/kompira-bundle-ca.crt"));
        assert_eq!(amqp.cert_file, PathBuf::from("/opt/kompira/ssl/certs/amqp-client-kompira.crt"));
        assert_eq!(amqp.key_file, PathBuf::from("/opt/kompira/ssl/certs/amqp-client-kompira.key"));
        let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
        assert_eq!(resolved["port"].source.to_string(), "derived: ssl on");
        assert_eq!(resolved["ssl_keyfile"].source.to_string(), "derived: default certificate directory");
    }

    #[test]
    fn explicit_values_are_not_derived() {
        let s = Fixture::new()
            .load_text("[amqp-connection]\nport = 1234\nuser = u\npassword = pw\nheartbeat_interval = 0\nconnect_timeout = 3\n")
            .unwrap();
        let amqp = s.amqp();
        assert_eq!((amqp.port, amqp.user.as_str(), amqp.password.expose()), (1234, "u", "pw"));
        assert!(amqp.port_is_set && amqp.user_is_set);
        assert_eq!((amqp.heartbeat_secs, amqp.connect_timeout_secs), (0, 3));
        assert_eq!(s.amqp_resolved().len(), 13);
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
    fn debug_output_masks_password() {
        let s = Fixture::new().load_text("[amqp-connection]\npassword = hunter2\n").unwrap();
        let debug = format!("{s:?} {:?}", s.amqp());
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("********"));
    }

    #[test]
    fn rest_settings_come_from_the_file() {
        let s = Fixture::new()
            .load_text("[rest]\nurl = https://kompira.example.com\ntoken = abc123\nca_file = /etc/ca.pem\ninsecure = yes\ntimeout = 7\n")
            .unwrap();
        let rest = s.rest().unwrap();
        assert_eq!(rest.url, "https://kompira.example.com");
        assert_eq!(rest.token.expose(), "abc123");
        assert_eq!(rest.ca_file, Some(PathBuf::from("/etc/ca.pem")));
        assert!(rest.insecure);
        assert_eq!(rest.timeout, Duration::from_secs(7));
    }

    #[test]
    fn rest_defaults_and_missing_keys_say_what_to_set() {
        let s = Fixture::new().load_file(None).unwrap();
        assert_eq!(value_of(&s, "rest", "timeout"), Value::Int(30));
        assert_eq!(value_of(&s, "rest", "insecure"), Value::Bool(false));
        assert_eq!(
            s.rest().unwrap_err().to_string(),
            "set [rest] url (e.g. https://kompira.example.com) or KOMPIRA_URL"
        );
        let s = Fixture::new().load_text("[rest]\nurl = https://k\ntoken =\n").unwrap();
        assert!(s.rest().unwrap_err().to_string().starts_with("set [rest] token ("));
        let rest = Fixture::new().load_text("[rest]\nurl = https://k\ntoken = t\n").unwrap().rest().unwrap();
        assert_eq!((rest.ca_file, rest.insecure, rest.timeout), (None, false, Duration::from_secs(30)));
    }

    #[test]
    fn rest_environment_beats_the_file() {
        let s = Fixture::new()
            .env("KOMPIRA_URL", "http://sim:8080")
            .env("KOMPIRA_TOKEN", "from-env")
            .load_text("[rest]\nurl = https://file\ntoken = from-file\n")
            .unwrap();
        let rest = s.rest().unwrap();
        assert_eq!((rest.url.as_str(), rest.token.expose()), ("http://sim:8080", "from-env"));
        assert_eq!(source_of(&s, "rest", "token"), "environment KOMPIRA_TOKEN");
    }

    #[test]
    fn rest_values_are_checked() {
        let e = Fixture::new().load_text("[rest]\ntimeout = 0\n").unwrap_err().to_string();
        assert!(e.ends_with("[rest] timeout: 0 is out of range (must be 1 or more)"), "{e}");
        let e = Fixture::new().env("KOMPIRA_URL", "kompira.example.com").load_file(None).unwrap_err().to_string();
        assert!(e.starts_with("KOMPIRA_URL=\"kompira.example.com\" is not an http:// or https:// URL"), "{e}");
    }

    #[test]
    fn rest_token_is_masked_everywhere() {
        let s = Fixture::new().load_text("[rest]\nurl = https://k\ntoken = hunter2\n").unwrap();
        let shown = s.get("rest", "token").unwrap().shown("rest", "token");
        let debug = format!("{s:?} {:?}", s.rest().unwrap());
        assert_eq!(shown, "********");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn tray_language_is_ours_checked_and_lower_cased() {
        let f = Fixture::new();
        assert_eq!(f.load_file(None).unwrap().language(), "auto");
        let s = f.load_text("[tray]\nlanguage = JA\n[agent]\nname = x\n").unwrap();
        assert_eq!(s.language(), "ja");
        let e = f.load_text("[tray]\nlanguage = fr\n").unwrap_err().to_string();
        assert!(e.ends_with(":2: [tray] language: \"fr\" is not a language (use one of auto, en, ja)"), "{e}");
    }

    fn set(section: &str, key: &str, value: Option<&str>) -> Edit {
        Edit { section: section.into(), key: key.into(), value: value.map(str::to_owned) }
    }

    #[test]
    fn load_with_edits_gives_what_a_save_would_and_leaves_the_file_alone() {
        let f = Fixture::new();
        let text = "# mine\n[amqp-connection]\nport = 5672\nuser = me\n";
        let path = f.file("kompira.conf", text);
        let s = load_with_edits(
            &LoadOptions {
                os: Os::Linux,
                explicit_config: Some(path.clone()),
                exe: None,
                cwd: f.dir.path().to_path_buf(),
                include_user_file: false,
                env: &|_| None,
                overrides: Vec::new(),
            },
            &path,
            &[set("amqp-connection", "port", Some("5673")), set("amqp-connection", "user", None)],
        )
        .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Int(5673));
        assert_eq!(s.get("amqp-connection", "port").unwrap().source, Source::File { path: path.clone(), line: 3 });
        assert_eq!(value_of(&s, "amqp-connection", "user"), Value::Null);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn load_with_edits_applies_the_same_checks_as_load() {
        let f = Fixture::new();
        let path = f.file("kompira.conf", "[kompira]\nsite_id = 1\n");
        let opts = |path: &Path| LoadOptions {
            os: Os::Linux,
            explicit_config: Some(path.to_path_buf()),
            exe: None,
            cwd: f.dir.path().to_path_buf(),
            include_user_file: false,
            env: &|_| None,
            overrides: Vec::new(),
        };
        let e = load_with_edits(&opts(&path), &path, &[set("amqp-connection", "port", Some("70000"))]).unwrap_err();
        match e {
            ConfigError::BadValue { section, key, line, .. } => {
                assert_eq!((section.as_str(), key.as_str(), line), ("amqp-connection", "port", 5))
            }
            other => panic!("{other}"),
        }
        let e = load_with_edits(&opts(&path), &path, &[set("notify", "quiet_hours", Some("late"))]).unwrap_err();
        assert!(e.to_string().contains("[notify] quiet_hours: \"late\" is not a time range"), "{e}");
        // Any integer is a site id, negative ones too, as for the reference.
        let edit = [set("kompira", "site_id", Some("-1"))];
        let s = load_with_edits(&opts(&path), &path, &edit).unwrap();
        assert_eq!(s.site_id(), -1);
        assert_eq!(Fixture::new().load_text("[kompira]\nsite_id = -1\n").unwrap().site_id(), -1);
    }

    #[test]
    fn load_with_edits_reads_a_missing_user_file_as_empty_and_refuses_a_file_not_read() {
        let f = Fixture::new();
        f.file("work/kompira.conf", "[kompira]\nsite_id = 2\n");
        let xdg = f.dir.path().join("xdg").to_string_lossy().into_owned();
        let env = |name: &str| (name == "XDG_CONFIG_HOME").then(|| xdg.clone());
        let opts = LoadOptions {
            os: Os::Linux,
            explicit_config: None,
            exe: None,
            cwd: f.dir.path().join("work"),
            include_user_file: true,
            env: &env,
            overrides: Vec::new(),
        };
        let user = f.dir.path().join("xdg/kompira/kompira.conf");
        let s = load_with_edits(&opts, &user, &[set("kompira", "site_id", Some("3"))]).unwrap();
        assert_eq!(s.site_id(), 3);
        assert_eq!(s.files_read().last(), Some(&user));
        assert!(!user.exists());
        let elsewhere = f.dir.path().join("other.conf");
        let e = load_with_edits(&opts, &elsewhere, &[]).unwrap_err().to_string();
        assert!(e.contains("is not one of the files read") && e.contains("would have no effect"), "{e}");
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
