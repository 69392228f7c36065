//! The keys this program reads from kompira.conf, and what each may hold.
//!
//! [`KEYS`] is the table: section, key, type and built-in default, in display order. The
//! checks here (types read as ConfigParser reads them, ranges, spellings, the grammar of a
//! channel list, quiet hours, a severity or the remedies) run once, when the settings are
//! loaded, so a bad value is refused naming its file and line; each consumer's typed view
//! (`RestSettings::from_settings` and the like) then reads values known to be good.

use chrono::NaiveTime;

use super::paths::{self, Os};
use super::settings::Value;

/// The mask shown instead of a password.
pub(super) const MASK: &str = "********";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Str,
    Int,
    Bool,
}

#[derive(Clone, Copy)]
pub(super) enum Fallback {
    None,
    Str(&'static str),
    Int(i64),
    Bool(bool),
    /// The OS's log directory.
    LogDir,
}

/// One known key.
pub(super) struct KeySpec {
    pub(super) section: &'static str,
    pub(super) key: &'static str,
    pub(super) kind: Kind,
    pub(super) fallback: Fallback,
}

const fn spec(section: &'static str, key: &'static str, kind: Kind, fallback: Fallback) -> KeySpec {
    KeySpec { section, key, kind, fallback }
}

pub(super) const KOMPIRA: &str = "kompira";
pub(super) const LOGGING: &str = "logging";
pub(crate) const AMQP: &str = "amqp-connection";
pub(super) const EVENT: &str = "event";
pub(crate) const NOTIFY: &str = "notify";
pub(crate) const REST: &str = "rest";
pub(super) const TRAY: &str = "tray";
pub(crate) const OUTBOX: &str = "outbox";
pub(super) const SECRETS: &str = "secrets";

/// The keys this program reads, in display order.
pub(super) const KEYS: &[KeySpec] = &[
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
pub(super) const RAW_AMQP_KEYS: [&str; 11] = [
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
pub(super) const ENV_VARS: &[(&str, &str, &str)] = &[
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
pub(super) const AMQP_URL: &str = "AMQP_URL";

const LOG_LEVELS: [&str; 5] = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
const LOG_WHENS: [&str; 12] = ["S", "M", "H", "D", "MIDNIGHT", "W0", "W1", "W2", "W3", "W4", "W5", "W6"];

pub(super) fn find_spec(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|s| s.section == section && s.key == key)
}

/// Whether `[section] key` holds a secret (masked wherever it is shown).
pub(super) fn is_secret(section: &str, key: &str) -> bool {
    matches!((section, key), (AMQP, "password") | (REST, "token"))
}

pub(super) fn default_value(spec: &KeySpec, os: Os) -> Value {
    match spec.fallback {
        Fallback::None => Value::Null,
        Fallback::Str(s) => Value::Str(s.to_string()),
        Fallback::Int(i) => Value::Int(i),
        Fallback::Bool(b) => Value::Bool(b),
        Fallback::LogDir => Value::Str(paths::default_log_dir(os).to_string_lossy().into_owned()),
    }
}

fn is_http_url(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    ["http://", "https://"].iter().any(|scheme| lower.strip_prefix(scheme).is_some_and(|rest| !rest.is_empty()))
}

pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "text",
        Kind::Int => "an integer",
        Kind::Bool => "a boolean",
    }
}

/// Text to a typed value; the error is a phrase such as "is not an integer".
pub(super) fn typed(kind: Kind, text: &str) -> Result<Value, String> {
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
pub(super) fn check(section: &str, key: &str, value: &Value) -> Result<Option<Value>, String> {
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
            Some(text) => parse_remedy_lines(text).map(|_| None),
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
    match parse_severity(text) {
        Some(name) => Ok(Some(Value::Str(name.into()))),
        None => Err(format!(
            "is not a severity (use 0-5 or Not classified, Information, Warning, Average, High, Disaster{})",
            if none_allowed { ", or none" } else { "" }
        )),
    }
}

/// Zabbix's severity names, 0 to 5: how `[notify] min_severity` and `breakthrough` are stored.
pub(crate) const SEVERITY_NAMES: [&str; 6] =
    ["Not classified", "Information", "Warning", "Average", "High", "Disaster"];

/// A severity by number (0–5) or name, in any case, `_` or `-` for a space, and the short
/// names alerts use (`info`, `warn`, `error`, `critical`, `fatal`): its Zabbix name. The same
/// reading as `watch::Severity::parse`, which turns the stored name into a severity; a test
/// in `watch/settings.rs` keeps the two in step.
fn parse_severity(text: &str) -> Option<&'static str> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u8>() {
        return SEVERITY_NAMES.get(usize::from(n)).copied();
    }
    let wanted = text.to_ascii_lowercase().replace(['_', '-'], " ");
    SEVERITY_NAMES.into_iter().find(|name| name.to_ascii_lowercase() == wanted).or(match wanted.as_str() {
        "info" => Some("Information"),
        "warn" => Some("Warning"),
        "critical" | "fatal" => Some("Disaster"),
        "error" => Some("High"),
        _ => None,
    })
}

/// One `[notify] remedies` line: the channel, the job flow, and the parameters it takes (none
/// named: every field of the alert).
pub(crate) type RemedyLine = (String, String, Vec<String>);

/// `[notify] remedies`: `CHANNEL JOBFLOW [PARAMETER…]` lines (blank lines skipped; parameters
/// separated by spaces or commas); the error says which line is wrong. `remedy::parse_remedies`
/// reads them this way.
pub(crate) fn parse_remedy_lines(text: &str) -> Result<Vec<RemedyLine>, String> {
    let mut lines: Vec<RemedyLine> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let parts: Vec<&str> = line.split(|c: char| c.is_whitespace() || c == ',').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            [channel, jobflow, params @ ..] if channel.starts_with('/') && jobflow.starts_with('/') => {
                if lines.iter().any(|(known, _, _)| known == channel) {
                    return Err(format!("names {channel} twice"));
                }
                if let Some(bad) = params.iter().find(|p| !is_parameter_name(p)) {
                    return Err(format!(
                        "has {bad:?} after {jobflow}, which is not a parameter name (letters, digits and _)"
                    ));
                }
                let params = params.iter().map(|p| (*p).to_owned()).collect();
                lines.push(((*channel).to_owned(), (*jobflow).to_owned(), params));
            }
            _ => {
                return Err(format!(
                    "has {line:?}, which is not `CHANNEL JOBFLOW [PARAMETER…]` (two paths starting with /, then \
                     the parameters the job flow takes)"
                ))
            }
        }
    }
    Ok(lines)
}

/// A job-flow parameter name as Kompira takes it: a letter or `_`, then letters, digits, `_`.
fn is_parameter_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// `22:00-07:00` (a range that passes midnight wraps).
pub(crate) fn parse_quiet_hours(text: &str) -> Result<(NaiveTime, NaiveTime), String> {
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
pub(crate) fn parse_channels(text: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> =
        text.split(|c: char| c == ',' || c.is_whitespace()).filter(|p| !p.is_empty()).map(str::to_owned).collect();
    if let Some(bad) = list.iter().find(|p| !p.starts_with('/')) {
        return Err(format!("lists {bad:?}, which is not a channel path (like /system/channels/Alert)"));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{text, value_of, Fixture};

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
    fn rest_values_are_checked() {
        let e = Fixture::new().load_text("[rest]\ntimeout = 0\n").unwrap_err().to_string();
        assert!(e.ends_with("[rest] timeout: 0 is out of range (must be 1 or more)"), "{e}");
        let e = Fixture::new().env("KOMPIRA_URL", "kompira.example.com").load_file(None).unwrap_err().to_string();
        assert!(e.starts_with("KOMPIRA_URL=\"kompira.example.com\" is not an http:// or https:// URL"), "{e}");
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
}
