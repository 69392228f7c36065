//! Turning resolved settings into what this command prints or hands to the engine.

use std::fmt::Write as _;

use kompira_core::config::Settings;
use kompira_core::event::message::{header_timestamp, Stamp};
use kompira_core::event::pyfmt::{truncated_bytes_repr, truncated_text, LOG_LIMIT};
use kompira_core::event::{ConnectOptions, Event, EventBody, RetryPolicy, ONE_SHOT_FRAME_MAX};
use serde_json::{json, Map, Value};

/// Engine connection options from `[amqp-connection]`, derived defaults applied.
pub fn connect_options(settings: &Settings) -> ConnectOptions {
    ConnectOptions::from_settings(settings, ONE_SHOT_FRAME_MAX)
}

/// `max_retry` further attempts, `retry_interval` seconds apart.
pub fn retry_policy(settings: &Settings) -> RetryPolicy {
    RetryPolicy::from_settings(settings)
}

/// `amqp[s]://[user@]server[:port]<channel>` from the settings as given (not derived), which
/// is what the reference logs.
pub fn destination(settings: &Settings) -> String {
    let raw = settings.amqp_raw_json();
    let scheme = if raw["ssl"] == Value::Bool(true) { "amqps" } else { "amqp" };
    let user = raw["user"].as_str().filter(|u| !u.is_empty()).map(|u| format!("{u}@")).unwrap_or_default();
    let port = raw["port"].as_i64().map(|p| format!(":{p}")).unwrap_or_default();
    let server = raw["server"].as_str().unwrap_or_default();
    format!("{scheme}://{user}{server}{port}{}", settings.channel())
}

/// The `--dry-run` report in the reference's shape, password masked.
pub fn dry_run(settings: &Settings, event: &Event, stamp: &Stamp) -> String {
    let mut info = Map::new();
    info.insert("amqp_opts".into(), settings.amqp_raw_json());
    info.insert(
        "application header".into(),
        json!({
            "site_id": event.site_id,
            "channel": event.channel,
            "timestamp": header_timestamp(&stamp.local_time),
        }),
    );
    match &event.body {
        EventBody::Fields(fields) => {
            let dict: Map<String, Value> = fields.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            info.insert("message_dict".into(), Value::Object(dict));
        }
        EventBody::Raw(bytes) => {
            info.insert("message_body".into(), truncated_bytes_repr(bytes, LOG_LIMIT).into());
        }
        EventBody::Text(text) => {
            info.insert("message_body".into(), truncated_text(text, LOG_LIMIT).into());
        }
    }
    serde_json::to_string_pretty(&Value::Object(info)).unwrap_or_default()
}

/// `-t`: every setting with its value and where it came from, as INI a user can paste.
pub fn settings_listing(settings: &Settings) -> String {
    let mut out = String::new();
    let files = settings.files_read();
    if files.is_empty() {
        let _ = writeln!(out, "; no kompira.conf found (searched: {})", join_paths(settings.files_searched()));
    } else {
        let _ = writeln!(out, "; files read, later ones win: {}", join_paths(files));
    }
    for warning in settings.warnings() {
        let _ = writeln!(out, "; warning: {warning}");
    }
    let mut section = "";
    for (name, key, resolved) in settings.entries() {
        if name != section {
            let _ = writeln!(out, "\n[{name}]");
            section = name;
        }
        let line = format!("{key} = {}", resolved.shown(name, key));
        let _ = writeln!(out, "{line:<40} ; {}", resolved.source);
    }
    let _ = writeln!(out, "\n; effective connection (derived defaults applied)");
    for (key, resolved) in settings.amqp_resolved() {
        let line = format!("; {key} = {}", resolved.shown("amqp-connection", key));
        let _ = writeln!(out, "{line:<40} ; {}", resolved.source);
    }
    out
}

fn join_paths(paths: &[std::path::PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
