//! The JSON shapes of the Kompira REST API (docs/kompira-protocol.md §4), read tolerantly: unknown fields are
//! ignored, missing or `null` optional fields take their default, and a text field that
//! holds something else (a number, an object) keeps that value's JSON text.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::params::Parameters;

/// Where a process is in its life. Unknown states are kept as they were sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessStatus {
    /// Created, not started.
    New,
    /// Ready to run.
    Ready,
    /// Running.
    Running,
    /// Waiting (for a channel, a timer, a user…).
    Waiting,
    /// Finished normally.
    Done,
    /// Finished with an error or terminated.
    Aborted,
    /// A state this program does not know, as the server wrote it.
    Other(String),
}

impl ProcessStatus {
    /// The status as the server writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ProcessStatus::New => "NEW",
            ProcessStatus::Ready => "READY",
            ProcessStatus::Running => "RUNNING",
            ProcessStatus::Waiting => "WAITING",
            ProcessStatus::Done => "DONE",
            ProcessStatus::Aborted => "ABORTED",
            ProcessStatus::Other(s) => s,
        }
    }

    /// DONE or ABORTED.
    pub fn is_finished(&self) -> bool {
        matches!(self, ProcessStatus::Done | ProcessStatus::Aborted)
    }
}

impl Default for ProcessStatus {
    fn default() -> Self {
        ProcessStatus::Other(String::new())
    }
}

impl From<&str> for ProcessStatus {
    fn from(text: &str) -> Self {
        match text {
            "NEW" => ProcessStatus::New,
            "READY" => ProcessStatus::Ready,
            "RUNNING" => ProcessStatus::Running,
            "WAITING" => ProcessStatus::Waiting,
            "DONE" => ProcessStatus::Done,
            "ABORTED" => ProcessStatus::Aborted,
            other => ProcessStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProcessStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match lenient_text(d)? {
            Some(text) => ProcessStatus::from(text.as_str()),
            None => ProcessStatus::default(),
        })
    }
}

impl Serialize for ProcessStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A process (one run of a job flow), as `GET /process/id_<n>` returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Process {
    /// Numeric id (the `262` of `/process/id_262`).
    pub id: i64,
    /// Its path, e.g. `/process/id_262`.
    #[serde(deserialize_with = "text_or_empty")]
    pub abspath: String,
    /// Life-cycle state.
    pub status: ProcessStatus,
    /// Exit status once finished.
    pub exit_status: Option<i64>,
    /// The job flow's result value (`null` when none).
    pub result: Value,
    /// Error text of an aborted process.
    #[serde(deserialize_with = "lenient_text")]
    pub error: Option<String>,
    /// Console output so far.
    #[serde(deserialize_with = "text_or_empty")]
    pub console: String,
    /// The job flow being run.
    #[serde(deserialize_with = "lenient_text")]
    pub job: Option<String>,
    /// The job flow currently executing (a child job flow, perhaps).
    #[serde(deserialize_with = "lenient_text")]
    pub current_job: Option<String>,
    /// Who started it: a user name (`root`) on Kompira 1.6.
    #[serde(deserialize_with = "lenient_text")]
    pub user: Option<String>,
    /// UTC ISO-8601 start time.
    #[serde(deserialize_with = "lenient_text")]
    pub started_time: Option<String>,
    /// UTC ISO-8601 end time.
    #[serde(deserialize_with = "lenient_text")]
    pub finished_time: Option<String>,
    /// Run time in seconds (Kompira 1.6 sends a number; `H:MM:SS.f` text is read too).
    #[serde(deserialize_with = "lenient_seconds")]
    pub elapsed_time: Option<f64>,
    /// Whether it is suspended.
    pub suspended: bool,
    /// The line being executed.
    pub lineno: Option<i64>,
    /// The parent process, for a child process.
    #[serde(deserialize_with = "lenient_text")]
    pub parent: Option<String>,
    /// The schedule that started it, if any.
    #[serde(deserialize_with = "lenient_text")]
    pub schedule: Option<String>,
}

impl Process {
    /// DONE or ABORTED.
    pub fn is_finished(&self) -> bool {
        self.status.is_finished()
    }
}

/// Any Kompira object (job flow, directory, channel…), as `GET <path>` returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct KompiraObject {
    /// Numeric id.
    pub id: i64,
    /// Its path, e.g. `/root/restart_process`.
    #[serde(deserialize_with = "text_or_empty")]
    pub abspath: String,
    /// The name shown in the web UI.
    #[serde(deserialize_with = "text_or_empty")]
    pub display_name: String,
    /// Free text.
    #[serde(deserialize_with = "text_or_empty")]
    pub description: String,
    /// The type's path, e.g. `/system/types/Jobflow`.
    #[serde(deserialize_with = "text_or_empty")]
    pub type_object: String,
    /// Owner.
    #[serde(deserialize_with = "lenient_text")]
    pub owner: Option<String>,
    /// The directory holding it.
    #[serde(deserialize_with = "lenient_text")]
    pub parent_object: Option<String>,
    /// Creation time (UTC ISO-8601).
    #[serde(deserialize_with = "lenient_text")]
    pub created: Option<String>,
    /// Last change (UTC ISO-8601).
    #[serde(deserialize_with = "lenient_text")]
    pub updated: Option<String>,
    /// The type-specific fields (`fields.source` for a job flow).
    pub fields: Value,
}

/// One page of a list: `{"count", "next", "previous", "results"}`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Page<T> {
    /// Items in the whole list.
    #[serde(default)]
    pub count: u64,
    /// URL of the next page.
    #[serde(default, deserialize_with = "lenient_text")]
    pub next: Option<String>,
    /// URL of the previous page.
    #[serde(default, deserialize_with = "lenient_text")]
    pub previous: Option<String>,
    /// The items of this page.
    #[serde(default = "Vec::new")]
    pub results: Vec<T>,
}

/// Who is told when a process fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MonitoringMode {
    /// No mail.
    Nothing,
    /// Mail when the process ends.
    Mail,
    /// Mail when it aborts.
    AbortMail,
}

impl FromStr for MonitoringMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "NOTHING" => Ok(MonitoringMode::Nothing),
            "MAIL" => Ok(MonitoringMode::Mail),
            "ABORT_MAIL" => Ok(MonitoringMode::AbortMail),
            _ => Err(format!("{s:?} is not a monitoring mode (use NOTHING, MAIL or ABORT_MAIL)")),
        }
    }
}

/// The body of `POST <jobflow>.execute`; unset fields are left out so the server's
/// defaults apply.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ExecuteRequest {
    /// Job flow parameters by name, each sent as the expression the server compiles.
    #[serde(skip_serializing_if = "Parameters::is_empty")]
    pub parameters: Parameters,
    /// Run step by step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_mode: Option<bool>,
    /// Stop at checkpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_mode: Option<bool>,
    /// Mail on end or abort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitoring_mode: Option<MonitoringMode>,
}

/// Text as sent; `null` as `None`; any other JSON value as its JSON text.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// Seconds from a number, a numeric text or `H:MM:SS(.f)`; anything else is `None` (a
/// field we only show must not make the whole process unreadable).
fn lenient_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let seconds = match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(text) => seconds_from_text(text.trim()),
        _ => None,
    };
    Ok(seconds.filter(|s| s.is_finite() && *s >= 0.0))
}

fn seconds_from_text(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    let mut total = 0.0;
    for part in text.split(':') {
        total = total * 60.0 + part.parse::<f64>().ok()?;
    }
    Some(total)
}

fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_text(d).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documented_process_parses() {
        let p: Process = serde_json::from_value(json!({
            "id": 262, "abspath": "/process/id_262", "user": "/system/users/root",
            "elapsed_time": 1.5, "started_time": "2026-11-22T08:07:42.909000Z",
            "finished_time": "2026-11-22T08:07:44.409000Z", "status": "DONE",
            "exit_status": 0, "result": {"ok": true}, "error": null, "suspended": false,
            "lineno": 3, "console": "hello\n", "job": "/root/restart_process",
            "schedule": null, "parent": null, "current_job": null
        }))
        .unwrap();
        assert_eq!(p.id, 262);
        assert_eq!(p.status, ProcessStatus::Done);
        assert!(p.is_finished());
        assert_eq!(p.exit_status, Some(0));
        assert_eq!(p.result, json!({"ok": true}));
        assert_eq!(p.job.as_deref(), Some("/root/restart_process"));
        assert_eq!(p.console, "hello\n");
        assert_eq!(p.error, None);
        assert_eq!(p.elapsed_time, Some(1.5));
        assert_eq!(p.user.as_deref(), Some("/system/users/root"));
    }

    #[test]
    fn elapsed_time_reads_numbers_and_clock_text() {
        let at = |v: Value| {
            serde_json::from_value::<Process>(json!({"status": "DONE", "elapsed_time": v})).unwrap().elapsed_time
        };
        assert_eq!(at(json!(0.011039)), Some(0.011039));
        assert_eq!(at(json!("0:01:01.5")), Some(61.5));
        assert_eq!(at(json!("2.5")), Some(2.5));
        assert_eq!(at(json!("soon")), None);
        assert_eq!(at(json!(-1)), None);
        assert_eq!(at(Value::Null), None);
    }

    #[test]
    fn process_tolerates_missing_null_and_extra_fields() {
        let p: Process = serde_json::from_value(json!({
            "id": 7, "status": "RUNNING", "console": null, "exit_status": null,
            "new_field_from_a_later_kompira": [1, 2], "elapsed_time": 12.5
        }))
        .unwrap();
        assert_eq!(p.status, ProcessStatus::Running);
        assert!(!p.is_finished());
        assert_eq!(p.console, "");
        assert_eq!(p.result, Value::Null);
        assert_eq!(p.elapsed_time, Some(12.5));
        let empty: Process = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.abspath, "");
    }

    #[test]
    fn unknown_status_is_kept() {
        let p: Process = serde_json::from_value(json!({"status": "SUSPENDED"})).unwrap();
        assert_eq!(p.status, ProcessStatus::Other("SUSPENDED".into()));
        assert_eq!(p.status.to_string(), "SUSPENDED");
        assert!(!p.is_finished());
        let aborted: Process = serde_json::from_value(json!({"status": "ABORTED"})).unwrap();
        assert!(aborted.is_finished());
    }

    #[test]
    fn jobflow_object_and_page_parse() {
        let page: Page<KompiraObject> = serde_json::from_value(json!({
            "count": 2, "next": "https://k/root.descendant?page=2", "previous": null,
            "results": [{
                "id": 5, "abspath": "/root/restart_process", "owner": "/system/users/root",
                "fields": {"source": "[host] -> print(host)"}, "display_name": "Restart",
                "description": "", "type_object": "/system/types/Jobflow",
                "parent_object": "/root", "created": "2026-01-01T00:00:00.000000Z",
                "updated": "2026-01-02T00:00:00.000000Z"
            }]
        }))
        .unwrap();
        assert_eq!(page.count, 2);
        assert_eq!(page.next.as_deref(), Some("https://k/root.descendant?page=2"));
        assert_eq!(page.results[0].type_object, "/system/types/Jobflow");
        assert_eq!(page.results[0].fields["source"], "[host] -> print(host)");
        let bare: Page<KompiraObject> = serde_json::from_str("{}").unwrap();
        assert!(bare.results.is_empty() && bare.next.is_none());
    }

    #[test]
    fn execute_request_omits_unset_fields() {
        assert_eq!(serde_json::to_string(&ExecuteRequest::default()).unwrap(), "{}");
        let mut req = ExecuteRequest {
            step_mode: Some(true),
            monitoring_mode: Some(MonitoringMode::AbortMail),
            ..Default::default()
        };
        req.parameters.set_text("host", "web1");
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"parameters":{"host":"\"web1\""},"step_mode":true,"monitoring_mode":"ABORT_MAIL"}"#
        );
    }

    #[test]
    fn monitoring_mode_parses_any_case() {
        assert_eq!("mail".parse(), Ok(MonitoringMode::Mail));
        assert_eq!("ABORT_MAIL".parse(), Ok(MonitoringMode::AbortMail));
        assert!("loud".parse::<MonitoringMode>().is_err());
    }
}
