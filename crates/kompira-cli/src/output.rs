//! What `kompira` prints: human summaries of processes and objects, and outcome lines.

use std::fmt::Write as _;

use kompira_core::rest::{KompiraObject, Process, ProcessStatus};
use serde_json::Value;

/// `DONE exit_status=0 result=…` or `ABORTED exit_status=1 error=…`: the last line of a run.
pub fn outcome_line(p: &Process) -> String {
    let mut line = p.status.to_string();
    if let Some(code) = p.exit_status {
        let _ = write!(line, " exit_status={code}");
    }
    if p.status == ProcessStatus::Aborted {
        if let Some(error) = p.error.as_deref().filter(|e| !e.is_empty()) {
            let _ = write!(line, " error={error}");
        }
    }
    if !p.result.is_null() {
        let _ = write!(line, " result={}", p.result);
    }
    line
}

/// A process as labelled lines, console last.
pub fn process_summary(p: &Process) -> String {
    let mut out = String::new();
    let mut field = |label: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "{label:<10}{value}");
        }
    };
    field("process", &p.abspath);
    field("job", p.job.as_deref().unwrap_or_default());
    field("status", p.status.as_str());
    field("exit", &p.exit_status.map(|c| c.to_string()).unwrap_or_default());
    field("user", p.user.as_deref().unwrap_or_default());
    field("started", p.started_time.as_deref().unwrap_or_default());
    field("finished", p.finished_time.as_deref().unwrap_or_default());
    field("elapsed", &p.elapsed_time.map(|s| format!("{s:.3} s")).unwrap_or_default());
    field("result", &show_json(&p.result));
    field("error", p.error.as_deref().unwrap_or_default());
    if !p.console.is_empty() {
        out.push_str("console:\n");
        out.push_str(&p.console);
        if !p.console.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// An object (job flow) as labelled lines, its source last when it has one.
pub fn object_summary(o: &KompiraObject) -> String {
    let mut out = String::new();
    let mut field = |label: &str, value: &str| {
        if !value.is_empty() {
            let _ = writeln!(out, "{label:<13}{value}");
        }
    };
    field("path", &o.abspath);
    field("name", &o.display_name);
    field("description", &o.description);
    field("type", &o.type_object);
    field("owner", o.owner.as_deref().unwrap_or_default());
    field("created", o.created.as_deref().unwrap_or_default());
    field("updated", o.updated.as_deref().unwrap_or_default());
    if let Some(source) = o.fields.get("source").and_then(Value::as_str) {
        out.push_str("source:\n");
        out.push_str(source);
        if !source.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// A job flow listing line: path, and the display name when there is one.
pub fn list_line(o: &KompiraObject) -> String {
    if o.display_name.is_empty() || o.display_name == o.abspath {
        o.abspath.clone()
    } else {
        format!("{}\t{}", o.abspath, o.display_name)
    }
}

fn show_json(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn process(value: Value) -> Process {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn outcome_lines_for_done_and_aborted() {
        let done = process(json!({"status": "DONE", "exit_status": 0, "result": {"ok": 1}}));
        assert_eq!(outcome_line(&done), r#"DONE exit_status=0 result={"ok":1}"#);
        let aborted = process(json!({"status": "ABORTED", "exit_status": 1, "error": "boom"}));
        assert_eq!(outcome_line(&aborted), "ABORTED exit_status=1 error=boom");
    }

    #[test]
    fn summary_skips_empty_fields_and_ends_console_with_newline() {
        let p = process(json!({"abspath": "/process/id_3", "status": "RUNNING", "console": "hi"}));
        assert_eq!(process_summary(&p), "process   /process/id_3\nstatus    RUNNING\nconsole:\nhi\n");
    }

    #[test]
    fn job_flow_summary_shows_source() {
        let o: KompiraObject = serde_json::from_value(json!({
            "abspath": "/root/j", "display_name": "J", "type_object": "/system/types/Jobflow",
            "fields": {"source": "print('x')"}
        }))
        .unwrap();
        assert_eq!(
            object_summary(&o),
            "path         /root/j\nname         J\ntype         /system/types/Jobflow\nsource:\nprint('x')\n"
        );
        assert_eq!(list_line(&o), "/root/j\tJ");
    }
}
