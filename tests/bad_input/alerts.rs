//! Alert payloads: channel messages a job flow (or anyone who can send to the channel) can
//! make. Each is served by a fake Kompira to `kompira channel watch --count 1`, whose terminal
//! output must stay readable and safe: no control or escape characters (a terminal would obey
//! them), bounded size, markup shown as text. The engine's reader is also run on each directly.

use serde_json::{json, Value};

use crate::fake::{self, http, Peer};
use crate::harness::{check, Expect, Run, Sandbox};
use crate::{case, Case};

/// Output of one alert in the terminal, at most (title, body of 1000 characters, fields).
const MAX_ALERT_OUTPUT_BYTES: usize = 16 * 1024;

/// Serves `payload` (raw bytes) for every `.recv` and runs `kompira channel watch`. An answer
/// that is not JSON must not stop the watcher: it says so on stderr and keeps watching.
fn watched(name: &str, payload: Vec<u8>, expect: Expect, shows: &'static [&'static str]) -> Case {
    case(name, move || {
        let port = fake::start(Peer::Answer(http("200 OK", "application/json", &payload)));
        let url = format!("http://127.0.0.1:{port}");
        let mut run = Run::new(
            "kompira",
            &["--url", &url, "--request-timeout", "5", "channel", "watch", "/root/channels/Desktop", "--count", "1"],
        )
        .env("KOMPIRA_TOKEN", "t0ken");
        if matches!(expect, Expect::Runs(_)) {
            run = run.limit(std::time::Duration::from_secs(4));
        }
        let outcome = run.run(&Sandbox::new());
        check(&outcome, expect)?;
        if let Some(c) = outcome.stdout.chars().find(|c| c.is_control() && *c != '\n' && *c != '\t') {
            return Err(format!("prints the control character {:?}:\n{}", c as u32, outcome.stdout));
        }
        if outcome.stdout.len() > MAX_ALERT_OUTPUT_BYTES {
            return Err(format!("prints {} bytes for one alert", outcome.stdout.len()));
        }
        if let Some(missing) = shows.iter().find(|s| !outcome.stdout.contains(*s)) {
            return Err(format!("does not show {missing:?}:\n{}", outcome.stdout));
        }
        // The engine's reader on the same message: capped, no line breaks in subject or host.
        if let Ok(message) = serde_json::from_slice::<Value>(&payload) {
            let alert = kompira_core::watch::read_message("/root/channels/Desktop", &message, chrono::Utc::now());
            for part in [&alert.subject, &alert.host].into_iter().flatten() {
                if part.chars().count() > 121 || part.contains('\n') {
                    return Err(format!("reader exceeds its caps: {part:?}"));
                }
            }
            if alert.body.chars().count() > 1001 {
                return Err(format!("reader exceeds its caps: body of {} characters", alert.body.chars().count()));
            }
        }
        Ok(())
    })
}

fn message(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

pub fn cases() -> Vec<Case> {
    use Expect::{Runs, Succeeds};
    const OK: Expect = Succeeds(&[]);
    let mut nested = json!("bottom");
    for _ in 0..120 {
        nested = json!({ "d": nested });
    }
    let many_fields: serde_json::Map<String, Value> = (0..10_000).map(|i| (format!("field{i}"), json!(i))).collect();
    vec![
        watched("nesting_120_levels", message(json!({ "hostname": "web1", "detail": nested })), OK, &["web1"]),
        watched(
            "nesting_beyond_the_json_limit",
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
            Runs(&["is not Kompira JSON"]),
            &[],
        ),
        watched("invalid_utf8", b"{\"trigger_name\": \"caf\xE9\"}".to_vec(), Runs(&["is not Kompira JSON"]), &[]),
        watched(
            "terminal_escapes_in_title",
            message(json!({ "trigger_name": "\u{1b}[2J\u{1b}]0;owned\u{7}Disk full" })),
            OK,
            &["Disk full"],
        ),
        watched(
            "control_characters_everywhere",
            message(json!({ "host\u{1}name": "web\u{0}1", "detail": "a\rb\u{8}c\u{7f}" })),
            OK,
            &[],
        ),
        watched("bidi_override", message(json!({ "trigger_name": "\u{202e}lmth.exe" })), OK, &["lmth.exe"]),
        watched(
            "html_and_script",
            message(json!({ "trigger_name": "<script>alert(1)</script>", "detail": "<img src=x onerror=alert(2)>" })),
            OK,
            &["<script>alert(1)</script>"],
        ),
        watched("huge_field", message(json!({ "trigger_name": "big", "detail": "y".repeat(1 << 20) })), OK, &["big"]),
        watched("huge_title", message(json!({ "trigger_name": "T".repeat(100_000) })), OK, &["TTTT"]),
        watched("ten_thousand_fields", message(Value::Object(many_fields)), OK, &[]),
        watched("newline_flood", message(json!({ "detail": "\n".repeat(100_000) })), OK, &[]),
        watched(
            "combining_marks_flood",
            message(json!({ "trigger_name": format!("a{}", "\u{301}".repeat(50_000)) })),
            OK,
            &[],
        ),
        watched(
            "severity_an_object",
            message(json!({ "severity": { "level": 5 }, "trigger_name": "odd" })),
            OK,
            &["odd"],
        ),
        watched("severity_out_of_range", message(json!({ "severity": 99, "trigger_name": "odd" })), OK, &["odd"]),
        watched("severity_negative", message(json!({ "severity": -1, "trigger_name": "odd" })), OK, &["odd"]),
        watched("a_bare_number", b"1e308".to_vec(), OK, &[]),
        watched("a_bare_string", message(json!("just text")), OK, &["just text"]),
        watched("null", b"null".to_vec(), OK, &[]),
        watched("an_array", message(json!([1, "two", { "three": 3 }])), OK, &[]),
        watched("an_empty_object", b"{}".to_vec(), OK, &[]),
        watched(
            "lone_surrogate_escape",
            br#"{"trigger_name": "\ud800"}"#.to_vec(),
            Runs(&["is not Kompira JSON"]),
            &[],
        ),
        watched("duplicate_keys", br#"{"trigger_name": "first", "trigger_name": "second"}"#.to_vec(), OK, &["second"]),
    ]
}
