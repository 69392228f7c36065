//! Job flows, channels and directories the simulator serves, read from TOML
//! (kept apart from file I/O except in [`Definitions::load`]).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::SimError;

/// How a simulated job flow ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Outcome {
    /// Status `DONE`, exit status 0.
    #[serde(rename = "DONE")]
    Done,
    /// Status `ABORTED`, exit status 1, with an error text.
    #[serde(rename = "ABORTED")]
    Aborted,
}

/// One simulated job flow.
#[derive(Debug, Clone, PartialEq)]
pub struct JobflowDef {
    /// Absolute path, e.g. `/root/restart_process`.
    pub path: String,
    /// Shown as `display_name`; defaults to the last path segment.
    pub display_name: String,
    /// Shown as `description`.
    pub description: String,
    /// Parameters that `.execute` must receive (unless they have a default).
    pub parameters: Vec<String>,
    /// Values used for parameters the caller leaves out.
    pub defaults: BTreeMap<String, Value>,
    /// How a run ends.
    pub outcome: Outcome,
    /// How long a run takes, in milliseconds.
    pub duration_ms: u64,
    /// The process result; strings anywhere inside get `{param}` substitution.
    pub result: Value,
    /// Console lines, emitted spread over the run, with `{param}` substitution.
    pub console: Vec<String>,
    /// Error text of an `ABORTED` run.
    pub error: String,
    /// Shown as `fields.source` (interpreted only for job flows created through the API).
    pub source: String,
    /// A task the run creates and waits on; its answer becomes the result (`[jobflow.task]`).
    pub task: Option<crate::tasks::TaskDef>,
    /// Job flows created through the API: the parsed source, or why the simulator cannot run
    /// it. `None` for definitions, whose runs follow the fields above.
    pub(crate) script: Option<Result<crate::expr::Script, String>>,
}

/// One channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelDef {
    /// Absolute path, e.g. `/system/channels/Alert`.
    pub path: String,
    /// Shown as `display_name`; defaults to the last path segment.
    pub display_name: String,
    /// Shown as `description`.
    pub description: String,
}

/// Everything the simulator serves. Parent directories of every path are
/// created implicitly; `directories` lists extra (possibly empty) ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Definitions {
    /// Simulated job flows.
    pub jobflows: Vec<JobflowDef>,
    /// Channels.
    pub channels: Vec<ChannelDef>,
    /// Extra directories.
    pub directories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    jobflow: Vec<RawJobflow>,
    #[serde(default)]
    channel: Vec<RawChannel>,
    #[serde(default)]
    directory: Vec<RawDirectory>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJobflow {
    path: toml::Spanned<String>,
    display_name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: Vec<String>,
    #[serde(default)]
    defaults: toml::Table,
    #[serde(default = "default_outcome")]
    outcome: Outcome,
    #[serde(default)]
    duration_ms: u64,
    result: Option<toml::Value>,
    #[serde(default)]
    console: Vec<String>,
    #[serde(default)]
    error: String,
    source: Option<String>,
    task: Option<crate::tasks::TaskDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    path: toml::Spanned<String>,
    display_name: Option<String>,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    path: toml::Spanned<String>,
}

fn default_outcome() -> Outcome {
    Outcome::Done
}

fn line_of(text: &str, span: &Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

fn last_segment(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// Converts TOML to JSON; datetimes become their TOML text.
fn toml_to_json(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect::<Map<_, _>>()),
    }
}

/// Why a path cannot name an object, or `None` when it can.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') || path.len() < 2 {
        return Some("must be absolute, like /root/name");
    }
    if path.ends_with('/') || path.contains("//") {
        return Some("must not contain empty segments");
    }
    if path.rsplit('/').next().is_some_and(|s| s.contains('.')) {
        return Some("its last segment must not contain '.', which starts a method name");
    }
    if ["/process", "/task", "/_sim"].iter().any(|r| path == *r || path.starts_with(&format!("{r}/")))
        || path.starts_with("/_sim")
    {
        return Some("/process, /task and /_sim are reserved");
    }
    None
}

impl Definitions {
    /// The demo set: channels `/system/channels/Alert` and `/root/channels/Desktop`,
    /// job flows `/root/restart_process`, `/root/check_disk`, `/root/failing_job`
    /// and `/root/slow_job` (5 s).
    pub fn builtin() -> Self {
        Self::from_toml(BUILTIN).expect("the built-in definitions are valid")
    }

    /// Parses definitions text. Errors start with the line they concern.
    pub fn from_toml(text: &str) -> Result<Self, SimError> {
        Self::parse(text, "definitions")
    }

    /// Reads and parses a definitions file; errors name the file and line.
    pub fn load(path: &Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| SimError::ReadDefinitions { path: path.to_path_buf(), source })?;
        Self::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Self, SimError> {
        let fail = |message: String| SimError::Definitions { origin: origin.to_string(), message };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let message = match e.span() {
                Some(span) => format!("line {}: {}", line_of(text, &span), e.message()),
                None => e.message().to_string(),
            };
            fail(message)
        })?;
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut check = |p: &toml::Spanned<String>| -> Result<String, SimError> {
            let line = line_of(text, &p.span());
            let path = p.get_ref().clone();
            if let Some(why) = path_problem(&path) {
                return Err(fail(format!("line {line}: path {path:?} {why}")));
            }
            if let Some(first) = seen.insert(path.clone(), line) {
                return Err(fail(format!("line {line}: path {path:?} is already defined on line {first}")));
            }
            Ok(path)
        };
        let mut defs = Definitions::default();
        for j in raw.jobflow {
            let path = check(&j.path)?;
            let defaults = j.defaults.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect();
            let source = j.source.unwrap_or_else(|| {
                let note = "# simulated by kompira-sim: no job-flow language runs here\n";
                if j.parameters.is_empty() {
                    note.to_string()
                } else {
                    format!("| {} |\n{note}", j.parameters.join(", "))
                }
            });
            defs.jobflows.push(JobflowDef {
                display_name: j.display_name.unwrap_or_else(|| last_segment(&path)),
                path,
                description: j.description,
                parameters: j.parameters,
                defaults,
                outcome: j.outcome,
                duration_ms: j.duration_ms,
                result: j.result.map(toml_to_json).unwrap_or(Value::Null),
                console: j.console,
                error: j.error,
                source,
                task: j.task,
                script: None,
            });
        }
        for c in raw.channel {
            let path = check(&c.path)?;
            defs.channels.push(ChannelDef {
                display_name: c.display_name.unwrap_or_else(|| last_segment(&path)),
                path,
                description: c.description,
            });
        }
        for d in raw.directory {
            defs.directories.push(check(&d.path)?);
        }
        Ok(defs)
    }
}

/// Substitutes `{name}` in every string inside `value`.
pub(crate) fn substitute(value: &Value, params: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) => Value::String(substitute_str(s, params)),
        Value::Array(a) => Value::Array(a.iter().map(|v| substitute(v, params)).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), substitute(v, params))).collect()),
        other => other.clone(),
    }
}

/// Replaces `{name}` by the parameter's value (strings bare, others as JSON);
/// unknown names stay as written.
pub(crate) fn substitute_str(template: &str, params: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) if params.contains_key(&after[..close]) => {
                match &params[&after[..close]] {
                    Value::String(s) => out.push_str(s),
                    v => out.push_str(&v.to_string()),
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

const BUILTIN: &str = r#"
[[directory]]
path = "/system/types"

[[channel]]
path = "/system/channels/Alert"
description = "Default channel of kompira_sendevt events"

[[channel]]
path = "/root/channels/Desktop"
description = "Channel a job flow forwards alerts to for the desktop"

[[jobflow]]
path = "/root/restart_process"
display_name = "Restart process"
description = "Restarts a service on a host"
parameters = ["host"]
duration_ms = 300
result = "restarted on {host}"
console = ["connecting to {host}", "restarted"]

[[jobflow]]
path = "/root/check_disk"
display_name = "Check disk"
description = "Reports disk usage of a host"
parameters = ["host"]
duration_ms = 200
console = ["df -h on {host}"]
[jobflow.defaults]
host = "localhost"
[jobflow.result]
host = "{host}"
mount = "/"
used_percent = 42
ok = true

[[jobflow]]
path = "/root/failing_job"
display_name = "Failing job"
description = "Always aborts"
outcome = "ABORTED"
duration_ms = 200
console = ["trying", "giving up"]
error = "simulated failure: no route to host"

[[jobflow]]
path = "/root/slow_job"
display_name = "Slow job"
description = "Takes five seconds"
duration_ms = 5000
result = "finished"
console = ["step 1", "step 2", "step 3", "step 4"]
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_parses() {
        let d = Definitions::builtin();
        assert_eq!(d.jobflows.len(), 4);
        assert_eq!(d.channels.len(), 2);
        assert_eq!(d.jobflows[1].result["used_percent"], 42);
        assert_eq!(d.jobflows[1].defaults["host"], "localhost");
    }

    #[test]
    fn errors_name_the_line() {
        let e =
            Definitions::from_toml("[[channel]]\npath = \"/a\"\n\n[[channel]]\npath = 3\n").unwrap_err().to_string();
        assert!(e.contains("line 5"), "{e}");
        let e =
            Definitions::from_toml("[[channel]]\npath = \"/a\"\n[[channel]]\npath = \"/a\"\n").unwrap_err().to_string();
        assert!(e.contains("line 4") && e.contains("line 2"), "{e}");
        let e = Definitions::from_toml("[[jobflow]]\npath = \"/a\"\noutcome = \"MAYBE\"\n").unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        let e = Definitions::from_toml("[[channel]]\npath = \"rel\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("absolute"), "{e}");
    }

    #[test]
    fn substitution() {
        let p = json!({"host": "web1", "n": 3}).as_object().unwrap().clone();
        assert_eq!(substitute_str("on {host} x{n} {other} {", &p), "on web1 x3 {other} {");
        assert_eq!(substitute(&json!({"h": ["{host}"], "k": 1}), &p), json!({"h": ["web1"], "k": 1}));
    }
}
