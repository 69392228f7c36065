//! Turning a channel message (any JSON value) into the parts of a notification: severity,
//! subject (a Zabbix trigger name, a title, a text's first line), host, resolved, and detail
//! lines (`key: value` for the fields the other parts do not say). The engine builds no
//! sentence for a person: the app words a title in the user's language, and terminals and logs
//! use [`english_title`] ("High: Disk full on web1"). Text is cleaned of control characters and
//! cut to popup-friendly sizes; it stays plain text (renderers must not interpret it as markup).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

/// Longest subject (and host) kept, in characters.
const TITLE_MAX_CHARS: usize = 120;
/// Longest body kept, in characters.
const BODY_MAX_CHARS: usize = 1000;
/// Longest single field value kept, in characters.
const FIELD_MAX_CHARS: usize = 300;
/// Fields kept per alert (for the history's search and a remedy's parameters); the others are
/// counted, never silently dropped. With the other caps this bounds an alert to about 100 KB
/// however large the message was.
const FIELDS_MAX: usize = 64;
/// Nesting shown before `…` stands in for deeper levels.
const NESTING_MAX_DEPTH: usize = 4;

/// Zabbix severities 0–5, the scale alerts are usually written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Severity {
    /// 0
    #[default]
    NotClassified,
    /// 1
    Information,
    /// 2
    Warning,
    /// 3
    Average,
    /// 4
    High,
    /// 5
    Disaster,
}

impl Severity {
    /// All severities, lowest first.
    pub const ALL: [Severity; 6] = [
        Severity::NotClassified,
        Severity::Information,
        Severity::Warning,
        Severity::Average,
        Severity::High,
        Severity::Disaster,
    ];

    /// The Zabbix number.
    pub fn level(self) -> u8 {
        self as u8
    }

    /// Zabbix's English name (the app's Japanese names are in its text table).
    pub fn name(self) -> &'static str {
        match self {
            Severity::NotClassified => "Not classified",
            Severity::Information => "Information",
            Severity::Warning => "Warning",
            Severity::Average => "Average",
            Severity::High => "High",
            Severity::Disaster => "Disaster",
        }
    }

    /// From a number (0–5) or a name, in any case (`high`, `DISASTER`, `not classified`).
    pub fn parse(text: &str) -> Option<Severity> {
        let text = text.trim();
        if let Ok(n) = text.parse::<u8>() {
            return Severity::ALL.get(usize::from(n)).copied();
        }
        let wanted = text.to_ascii_lowercase().replace(['_', '-'], " ");
        Severity::ALL.into_iter().find(|s| s.name().to_ascii_lowercase() == wanted).or(match wanted.as_str() {
            "info" => Some(Severity::Information),
            "warn" => Some(Severity::Warning),
            "critical" | "fatal" => Some(Severity::Disaster),
            "error" => Some(Severity::High),
            _ => None,
        })
    }
}

/// One alert in parts, for a popup, a history list or a log line to word.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Notification {
    /// Stable identity for de-duplication: an id in the message, else a digest of its content.
    pub key: String,
    /// What it is about: a trigger name, title or summary, or a text message's first line.
    pub subject: Option<String>,
    /// The host it concerns.
    pub host: Option<String>,
    /// Detail lines: the message's detail first, then `key: value` for the fields that the
    /// subject, host, severity and status do not say (a text message: its whole text).
    pub body: String,
    /// How bad; messages without a severity count as `NotClassified`.
    pub severity: Severity,
    /// `status: OK` (or RESOLVED): the problem is over.
    pub resolved: bool,
    /// The top-level fields as text, in message order (for "run a job flow with these"): the
    /// first [`FIELDS_MAX`], each value cut to 300 characters.
    pub fields: Vec<(String, String)>,
    /// The names of the kept fields whose value was cut (a remedy says so before it runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cut_fields: Vec<String>,
    /// How many fields the message had beyond those kept.
    #[serde(skip_serializing_if = "is_zero")]
    pub fields_left_out: usize,
    /// The channel it came from.
    pub channel: String,
    /// When the watcher received it.
    pub received: DateTime<Utc>,
}

/// Reads one message from `channel`.
pub fn read_message(channel: &str, message: &Value, received: DateTime<Utc>) -> Notification {
    let Reading { subject, host, body, severity, resolved, fields, cut_fields, fields_left_out } = match message {
        Value::Object(map) => read_object(map),
        Value::String(text) => {
            let text = clean(text, BODY_MAX_CHARS, true);
            Reading { subject: first_line(&text), body: text, ..Reading::default() }
        }
        other => Reading { body: render(other, 0), ..Reading::default() },
    };
    let short = |text: Option<String>| text.map(|t| clean(&t, TITLE_MAX_CHARS, false)).filter(|t| !t.is_empty());
    Notification {
        key: identity(channel, message),
        subject: short(subject),
        host: short(host),
        body: clean(&body, BODY_MAX_CHARS, true),
        severity,
        resolved,
        fields,
        cut_fields,
        fields_left_out,
        channel: channel.to_owned(),
        received,
    }
}

impl Notification {
    /// About how many bytes this alert holds in memory (text and per-string overhead): what the
    /// history counts against its byte budget.
    pub fn approx_bytes(&self) -> usize {
        const PER_STRING: usize = std::mem::size_of::<String>();
        let text = |s: &str| s.len() + PER_STRING;
        let optional = |s: &Option<String>| s.as_deref().map_or(0, text);
        std::mem::size_of::<Self>()
            + text(&self.key)
            + optional(&self.subject)
            + optional(&self.host)
            + text(&self.body)
            + text(&self.channel)
            + self.fields.iter().map(|(k, v)| text(k) + text(v)).sum::<usize>()
            + self.cut_fields.iter().map(|k| text(k)).sum::<usize>()
    }

    /// The last part of the channel's path (`Alert` for `/system/channels/Alert`).
    pub fn channel_name(&self) -> &str {
        self.channel.rsplit('/').find(|s| !s.is_empty()).unwrap_or(&self.channel)
    }
}

/// The alert's headline in English, for terminals and logs: "High: Disk full on web1",
/// "Resolved: Down on db1", "Alert on web1", "Message on Alert". (The app words its own, in
/// the user's language.)
pub fn english_title(alert: &Notification) -> String {
    let title = match (&alert.subject, &alert.host) {
        (Some(s), Some(h)) => format!("{s} on {h}"),
        (Some(s), None) => s.clone(),
        (None, Some(h)) => format!("Alert on {h}"),
        (None, None) => format!("Message on {}", alert.channel_name()),
    };
    if alert.resolved {
        format!("Resolved: {title}")
    } else if alert.severity > Severity::NotClassified {
        format!("{}: {title}", alert.severity.name())
    } else {
        title
    }
}

/// The parts read from one message, before cleaning.
#[derive(Default)]
struct Reading {
    subject: Option<String>,
    host: Option<String>,
    body: String,
    severity: Severity,
    resolved: bool,
    fields: Vec<(String, String)>,
    cut_fields: Vec<String>,
    fields_left_out: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn read_object(map: &Map<String, Value>) -> Reading {
    let mut cut_fields = Vec::new();
    let fields: Vec<(String, String)> = map
        .iter()
        .take(FIELDS_MAX)
        .map(|(k, v)| {
            let key = clean(k, FIELD_MAX_CHARS, false);
            let (value, cut) = clean_and_tell(&render(v, 0), FIELD_MAX_CHARS, true);
            if cut {
                cut_fields.push(key.clone());
            }
            (key, value)
        })
        .collect();
    let fields_left_out = map.len().saturating_sub(FIELDS_MAX);
    let get = |names: &[&str]| -> Option<String> {
        names.iter().find_map(|name| {
            map.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| render(v, 0))
                .filter(|v| !v.trim().is_empty())
        })
    };
    let severity =
        get(&["severity", "priority", "level"]).and_then(|s| Severity::parse(&s)).unwrap_or(Severity::NotClassified);
    let status = get(&["status", "state"]).unwrap_or_default().to_ascii_uppercase();
    let resolved = matches!(status.as_str(), "OK" | "RESOLVED" | "RECOVERED");
    let subject = get(&["trigger_name", "title", "subject", "summary", "name", "event"]);
    let host = get(&["hostname", "host", "host_name", "node"]);
    let detail = get(&["detail", "message", "body", "description", "text"]);

    // The body: the detail first, then the fields the other parts do not already say.
    let shown_in_title = [
        "trigger_name",
        "title",
        "subject",
        "summary",
        "name",
        "event",
        "hostname",
        "host",
        "host_name",
        "node",
        "detail",
        "message",
        "body",
        "description",
        "text",
        "severity",
        "priority",
        "level",
        "status",
        "state",
    ];
    let mut lines = Vec::new();
    if let Some(detail) = detail {
        lines.push(detail);
    }
    for (key, value) in &fields {
        if !shown_in_title.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            lines.push(format!("{key}: {value}"));
        }
    }
    Reading { subject, host, body: lines.join("\n"), severity, resolved, fields, cut_fields, fields_left_out }
}

fn first_line(text: &str) -> Option<String> {
    text.lines().map(str::trim).find(|l| !l.is_empty()).map(str::to_owned)
}

/// Any JSON value as short text: strings bare, everything else compact JSON, deep nesting cut.
fn render(value: &Value, depth: usize) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ if depth >= NESTING_MAX_DEPTH => "…".to_owned(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(|v| render_nested(v, depth + 1)).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map.iter().map(|(k, v)| format!("{k}: {}", render_nested(v, depth + 1))).collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

fn render_nested(value: &Value, depth: usize) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => render(other, depth),
    }
}

/// Control characters out (newlines kept where asked, tabs as spaces), cut to `max_chars`.
fn clean(text: &str, max_chars: usize, keep_newlines: bool) -> String {
    clean_and_tell(text, max_chars, keep_newlines).0
}

/// [`clean`], and whether the text was cut.
fn clean_and_tell(text: &str, max_chars: usize, keep_newlines: bool) -> (String, bool) {
    let mut out = String::with_capacity(text.len().min(max_chars * 4));
    let mut count = 0;
    for ch in text.chars() {
        let ch = match ch {
            '\n' if keep_newlines => '\n',
            '\r' => continue,
            '\t' | '\n' => ' ',
            c if c.is_control() => '\u{fffd}',
            // Bidirectional overrides can make text read differently from what it is.
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
            c => c,
        };
        if count == max_chars {
            out.push('…');
            return (out.trim().to_owned(), true);
        }
        out.push(ch);
        count += 1;
    }
    (out.trim().to_owned(), false)
}

/// An id carried by the message, else a digest of channel + content.
fn identity(channel: &str, message: &Value) -> String {
    if let Value::Object(map) = message {
        for name in ["event_id", "eventid", "id", "correlation_id", "uuid"] {
            if let Some(value) = map.get(name).filter(|v| !v.is_null()) {
                return format!("{channel}#{}", render(value, 0));
            }
        }
    }
    // FNV-1a over the canonical JSON: stable across runs, no extra dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in channel.bytes().chain([0]).chain(message.to_string().bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{channel}#{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(message: Value) -> Notification {
        read_message("/system/channels/Alert", &message, Utc::now())
    }

    #[test]
    fn zabbix_problem_reads_as_severity_trigger_and_host() {
        let n = read(json!({
            "status": "PROBLEM", "severity": "4", "hostname": "web1",
            "trigger_name": "Disk full", "trigger_key": "vfs.fs.size[/,pfree]",
            "detail": "free space 2%"
        }));
        assert_eq!((n.subject.as_deref(), n.host.as_deref()), (Some("Disk full"), Some("web1")));
        assert_eq!(english_title(&n), "High: Disk full on web1");
        assert_eq!(n.body, "free space 2%\ntrigger_key: vfs.fs.size[/,pfree]");
        assert_eq!(n.severity, Severity::High);
        assert!(!n.resolved);
        assert_eq!(n.fields.len(), 6);
    }

    #[test]
    fn zabbix_recovery_reads_as_resolved() {
        let n = read(json!({"status": "OK", "severity": 5, "hostname": "db1", "trigger_name": "Down"}));
        assert_eq!(english_title(&n), "Resolved: Down on db1");
        assert!(n.resolved);
        assert_eq!(n.severity, Severity::Disaster);
    }

    #[test]
    fn severities_parse_from_numbers_and_names() {
        assert_eq!(Severity::parse("0"), Some(Severity::NotClassified));
        assert_eq!(Severity::parse("not_classified"), Some(Severity::NotClassified));
        assert_eq!(Severity::parse("DISASTER"), Some(Severity::Disaster));
        assert_eq!(Severity::parse("6"), None);
        assert_eq!(Severity::parse("bogus"), None);
    }

    #[test]
    fn other_objects_get_a_channel_title_and_field_lines() {
        let n = read(json!({"job": "backup", "ok": false, "files": [1, 2]}));
        assert_eq!((&n.subject, &n.host), (&None, &None));
        assert_eq!(english_title(&n), "Message on Alert");
        assert_eq!(n.body, "job: backup\nok: false\nfiles: [1, 2]");
        assert_eq!(n.severity, Severity::NotClassified);
    }

    #[test]
    fn text_messages_use_their_first_line_as_title() {
        let n = read(json!("\n  backup finished\nall 12 files"));
        assert_eq!(n.subject.as_deref(), Some("backup finished"));
        assert_eq!(english_title(&n), "backup finished");
        assert_eq!(n.body, "backup finished\nall 12 files");
        let n = read(json!(42));
        assert_eq!((english_title(&n).as_str(), n.body.as_str()), ("Message on Alert", "42"));
        let n = read(json!({"host": "web1", "x": 1}));
        assert_eq!(english_title(&n), "Alert on web1");
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_neutralised() {
        let n = read(json!({"trigger_name": "a\u{7}b\u{202e}c\td", "detail": "x\r\ny"}));
        assert_eq!(n.subject.as_deref(), Some("a\u{fffd}b\u{fffd}c d"));
        assert_eq!(n.body, "x\ny");
    }

    #[test]
    fn html_stays_literal_text() {
        let n = read(json!({"trigger_name": "<img src=x onerror=alert(1)>"}));
        assert_eq!(n.subject.as_deref(), Some("<img src=x onerror=alert(1)>"));
    }

    #[test]
    fn long_and_deep_values_are_cut() {
        let long = "x".repeat(5000);
        let n = read(json!({"trigger_name": long, "hostname": long, "detail": long}));
        for part in [n.subject.as_deref().unwrap(), n.host.as_deref().unwrap()] {
            assert_eq!(part.chars().count(), TITLE_MAX_CHARS + 1);
            assert!(part.ends_with('…'));
        }
        assert!(n.body.chars().count() <= BODY_MAX_CHARS + 1);
        let mut deep = json!("bottom");
        for _ in 0..200 {
            deep = json!({ "d": deep });
        }
        let n = read(json!({ "nest": deep }));
        assert!(n.body.contains('…'), "{}", n.body);
        assert!(n.body.len() < 200);
    }

    #[test]
    fn identity_prefers_an_event_id_and_is_stable_otherwise() {
        let a = read(json!({"event_id": 7, "x": 1}));
        let b = read(json!({"event_id": 7, "x": 2}));
        assert_eq!(a.key, b.key);
        let c = read(json!({"x": 1}));
        let d = read(json!({"x": 1}));
        let e = read(json!({"x": 2}));
        assert_eq!(c.key, d.key);
        assert_ne!(c.key, e.key);
    }
}
