//! Tasks: a simulated job flow that waits for a person, as Kompira 1.6.11 does it
//! (transcripts `09*` of the real server).
//!
//! A job flow with a `[jobflow.task]` table creates a task after its console lines, and its
//! process stays WAITING until `POST /task/id_N.submit` (an empty 200; the task goes ONGOING,
//! then DONE once the runner closes it; the process ends DONE with the submitted value as its
//! result). `.cancel` makes the task CANCELED but, as on the real server, does not wake the
//! process: it stays WAITING until `.terminate`. Submitting to a task nobody waits on answers
//! 500 `{"detail": "No waiting processes"}`.
//!
//! The tasks have their own lock (never held together with the state's lock) and wake
//! waiters through the state's `process_changes`, as process changes do.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::defs::{substitute, substitute_str};
use crate::state::{timestamp, Shared, Status};

/// The user every task belongs to: the sim has one user, and the real server writes the
/// user name (not a path) in `owner`.
const OWNER: &str = "root";
/// The real server's answer to a submit that no process waits for.
const NOT_WAITING: &str = "No waiting processes";

/// `[jobflow.task]`: the task a job flow creates and waits on (`/task.add(…)` then `<t>`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskDef {
    /// The task's name (default: the job flow's last path segment).
    pub name: Option<String>,
    /// Its title; `{param}` substituted.
    #[serde(default)]
    pub title: String,
    /// Its message; `{param}` substituted.
    #[serde(default)]
    pub message: String,
    /// The answers offered (stored as JSON text in `action_text`, `null` when absent).
    pub action: Option<Vec<Value>>,
    /// User names it is assigned to.
    #[serde(default)]
    pub assigned_users: Vec<String>,
    /// Group names it is assigned to.
    #[serde(default)]
    pub assigned_groups: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Ongoing,
    Done,
    Canceled,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "WAITING",
            State::Ongoing => "ONGOING",
            State::Done => "DONE",
            State::Canceled => "CANCELED",
        }
    }
}

struct SimTask {
    id: u64,
    name: String,
    title: String,
    message: String,
    action_text: Option<String>,
    assigned_users: Vec<String>,
    assigned_groups: Vec<String>,
    state: State,
    created: DateTime<Utc>,
    closed: Option<DateTime<Utc>>,
    /// The submitted value, until the runner takes it.
    answer: Option<Value>,
}

impl SimTask {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "abspath": format!("/task/id_{}", self.id),
            "owner": OWNER,
            "assigned_users": self.assigned_users,
            "assigned_groups": self.assigned_groups,
            "name": self.name,
            "title": self.title,
            "message": self.message,
            "action_text": self.action_text,
            "status": self.state.as_str(),
            "created_date": timestamp(self.created),
            "closed_date": self.closed.map(timestamp),
        })
    }
}

/// Every task of one simulator.
#[derive(Default)]
pub(crate) struct Tasks {
    inner: Mutex<(u64, BTreeMap<u64, SimTask>)>,
}

impl Tasks {
    fn lock(&self) -> MutexGuard<'_, (u64, BTreeMap<u64, SimTask>)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The tasks as JSON, newest first (the real server's order).
    pub fn list_json(&self) -> Vec<Value> {
        self.lock().1.values().rev().map(SimTask::to_json).collect()
    }

    fn add(&self, def: &TaskDef, jobflow: &str, params: &Map<String, Value>) -> u64 {
        let mut guard = self.lock();
        guard.0 += 1;
        let id = guard.0;
        let action_text = def
            .action
            .as_ref()
            .map(|a| substitute(&Value::Array(a.clone()), params))
            // Python's json.dumps, as the server stores it: `["web 1", "web 2"]`.
            .map(|a| python_json(&a));
        let name = def.name.clone().unwrap_or_else(|| jobflow.rsplit('/').next().unwrap_or(jobflow).to_string());
        guard.1.insert(
            id,
            SimTask {
                id,
                name,
                title: substitute_str(&def.title, params),
                message: substitute_str(&def.message, params),
                action_text,
                assigned_users: def.assigned_users.clone(),
                assigned_groups: def.assigned_groups.clone(),
                state: State::Waiting,
                created: Utc::now(),
                closed: None,
                answer: None,
            },
        );
        id
    }
}

/// `json.dumps` spacing (`, ` and `: `), which is how `action_text` reads on the real server.
fn python_json(value: &Value) -> String {
    match value {
        Value::Array(items) => format!("[{}]", items.iter().map(python_json).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The runner's part: creates the task, keeps the process WAITING until an answer comes,
/// closes the task (DONE) and returns the answer. `None` when the process was terminated
/// meanwhile or the simulator is stopping.
pub(crate) async fn ask(
    shared: &Shared,
    process: u64,
    def: &TaskDef,
    jobflow: &str,
    params: &Map<String, Value>,
) -> Option<Value> {
    let id = shared.tasks.add(def, jobflow, params);
    // The README's example prints the task (`print(t)`): the console shows its path.
    shared.update_process(process, |p| {
        if !p.status.finished() {
            p.console.push(format!("/task/id_{id}"));
            p.status = Status::Waiting;
            p.waiting_task = Some(id);
        }
    });
    let mut changes = shared.process_changes.subscribe();
    let mut shutdown = shared.shutdown.clone();
    loop {
        let finished = shared.lock().processes.get(&process).is_none_or(|p| p.status.finished());
        if finished || *shutdown.borrow() {
            return None;
        }
        let answer = {
            let mut guard = shared.tasks.lock();
            match guard.1.get_mut(&id) {
                Some(task) if task.answer.is_some() => {
                    // The job flow's `[t.close]`.
                    task.state = State::Done;
                    task.closed = Some(Utc::now());
                    task.answer.take()
                }
                _ => None,
            }
        };
        if let Some(answer) = answer {
            shared.update_process(process, |p| {
                p.waiting_task = None;
                if !p.status.finished() {
                    p.status = Status::Running;
                }
            });
            return Some(answer);
        }
        tokio::select! {
            _ = changes.changed() => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// `GET /task/id_N`, `POST /task/id_N.submit`, `POST /task/id_N.cancel`.
pub(crate) fn answer(shared: &Shared, method: &Method, id: u64, op: Option<&str>, body: &[u8]) -> Response {
    let path = format!("/task/id_{id}");
    if !shared.tasks.lock().1.contains_key(&id) {
        return detail(StatusCode::NOT_FOUND, format!("Object \"{path}\" is not found."));
    }
    let verb = if op.is_none() { Method::GET } else { Method::POST };
    if let Some(other) = op.filter(|op| !matches!(*op, "submit" | "cancel")) {
        return detail(StatusCode::BAD_REQUEST, format!("Invalid attribute \"{other}\" in request."));
    }
    if method != verb {
        return detail(StatusCode::METHOD_NOT_ALLOWED, format!("Method \"{method}\" not allowed."));
    }
    match op {
        None => match shared.tasks.lock().1.get(&id) {
            Some(task) => (StatusCode::OK, axum::Json(task.to_json())).into_response(),
            None => detail(StatusCode::NOT_FOUND, "Not found."),
        },
        Some("submit") => submit(shared, id, body),
        _ => cancel(shared, id),
    }
}

fn submit(shared: &Shared, id: u64, body: &[u8]) -> Response {
    // No body (or no `result`) sends "OK", as the real server does.
    let result = if body.iter().all(u8::is_ascii_whitespace) {
        Value::from("OK")
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(mut map)) => map.remove("result").unwrap_or_else(|| "OK".into()),
            Ok(_) => Value::from("OK"),
            Err(e) => return detail(StatusCode::BAD_REQUEST, format!("JSON parse error - {e}")),
        }
    };
    let waited_on = shared.lock().processes.values().any(|p| p.waiting_task == Some(id) && !p.status.finished());
    {
        let mut guard = shared.tasks.lock();
        match guard.1.get_mut(&id) {
            Some(task) if waited_on && task.state == State::Waiting => {
                task.state = State::Ongoing;
                task.answer = Some(result);
            }
            _ => return detail(StatusCode::INTERNAL_SERVER_ERROR, NOT_WAITING),
        }
    }
    shared.process_changes.send_replace(());
    StatusCode::OK.into_response()
}

fn cancel(shared: &Shared, id: u64) -> Response {
    let mut guard = shared.tasks.lock();
    if let Some(task) = guard.1.get_mut(&id) {
        if task.closed.is_none() {
            task.state = State::Canceled;
            task.closed = Some(Utc::now());
        }
    }
    StatusCode::OK.into_response()
}

fn detail(status: StatusCode, text: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "detail": text.into() }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_text_reads_like_pythons_json() {
        assert_eq!(python_json(&json!(["web 1", "web 2"])), r#"["web 1", "web 2"]"#);
        assert_eq!(python_json(&json!([1, {"a": [true]}])), r#"[1, {"a": [true]}]"#);
    }

    #[test]
    fn a_task_is_listed_newest_first_with_the_real_fields() {
        let tasks = Tasks::default();
        let def = TaskDef {
            title: "Restart {host}?".into(),
            action: Some(vec![json!("yes"), json!("no")]),
            assigned_users: vec!["root".into()],
            ..TaskDef::default()
        };
        let params = json!({"host": "web1"}).as_object().unwrap().clone();
        tasks.add(&def, "/root/ask", &params);
        tasks.add(&TaskDef::default(), "/root/other", &Map::new());
        let list = tasks.list_json();
        assert_eq!(list[0]["id"], 2);
        assert_eq!(list[0]["action_text"], Value::Null);
        let first = &list[1];
        assert_eq!(first["abspath"], "/task/id_1");
        assert_eq!(first["name"], "ask");
        assert_eq!(first["title"], "Restart web1?");
        assert_eq!(first["action_text"], r#"["yes", "no"]"#);
        assert_eq!(first["status"], "WAITING");
        assert_eq!(first["owner"], "root");
        assert_eq!(first["closed_date"], Value::Null);
        assert_eq!(first["assigned_groups"], json!([]));
    }
}
