//! Tasks: a job flow waiting for a person (docs/kompira-protocol.md §5).
//!
//! A job flow creates a task with `/task.add(…)` and waits on it with `<t>`; the process is
//! WAITING until someone answers. `POST /task/id_N.submit {"result": X}` hands X to the job
//! flow (an empty 200; the task goes ONGOING until the job flow closes it, then DONE), and
//! `POST /task/id_N.cancel` marks it CANCELED without waking the process. The shapes are read
//! as tolerantly as [`super::Process`]: unknown fields ignored, odd values kept as text.

use std::fmt;

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::client::{object_path, Body, Client};
use super::error::{RestError, RestErrorKind};
use super::types::Page;

/// Where tasks live.
const TASK_ROOT: &str = "/task";
/// Items asked for per page: fewer round trips than the server's 25.
const PAGE_SIZE: usize = 100;
/// Pages followed by one listing before it is taken to be a loop.
const MAX_PAGES: usize = 1_000;
/// The server's reason when no process waits on the task (answered, cancelled or closed).
const NOT_WAITING: &str = "No waiting processes";
/// Choices offered at most: a job flow's list is meant for a few buttons or a select.
const MAX_CHOICES: usize = 50;

/// Where a task is in its life. Unknown states are kept as they were sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TaskStatus {
    /// A job flow waits for the answer.
    Waiting,
    /// Answered; the job flow has not closed it yet.
    Ongoing,
    /// Closed by its job flow.
    Done,
    /// Cancelled (by a person, or closed as cancelled by the job flow).
    Canceled,
    /// A state this program does not know, as the server wrote it (empty when missing).
    Other(String),
    /// No status in the answer (a listing trimmed with `attrs`).
    #[default]
    Unknown,
}

impl TaskStatus {
    /// The status as the server writes it (empty for [`TaskStatus::Unknown`]).
    pub fn as_str(&self) -> &str {
        match self {
            TaskStatus::Waiting => "WAITING",
            TaskStatus::Ongoing => "ONGOING",
            TaskStatus::Done => "DONE",
            TaskStatus::Canceled => "CANCELED",
            TaskStatus::Other(s) => s,
            TaskStatus::Unknown => "",
        }
    }
}

impl From<&str> for TaskStatus {
    fn from(text: &str) -> Self {
        match text {
            "WAITING" => TaskStatus::Waiting,
            "ONGOING" => TaskStatus::Ongoing,
            "DONE" => TaskStatus::Done,
            "CANCELED" => TaskStatus::Canceled,
            other => TaskStatus::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match lenient_text(d)? {
            Some(text) => TaskStatus::from(text.as_str()),
            None => TaskStatus::Unknown,
        })
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A task, as `GET /task/id_N` (or an item of `GET /task`) returns it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct Task {
    /// Numeric id (the `7` of `/task/id_7`).
    pub id: i64,
    /// Its path, e.g. `/task/id_7`.
    #[serde(deserialize_with = "text_or_empty")]
    pub abspath: String,
    /// The user whose process created it (a user name, e.g. `root`).
    #[serde(deserialize_with = "lenient_text")]
    pub owner: Option<String>,
    /// User names it is assigned to.
    #[serde(deserialize_with = "names")]
    pub assigned_users: Vec<String>,
    /// Group names it is assigned to.
    #[serde(deserialize_with = "names")]
    pub assigned_groups: Vec<String>,
    /// The name the job flow gave it.
    #[serde(deserialize_with = "text_or_empty")]
    pub name: String,
    /// Its title (the question, in short).
    #[serde(deserialize_with = "text_or_empty")]
    pub title: String,
    /// Its message (the question, in full).
    #[serde(deserialize_with = "text_or_empty")]
    pub message: String,
    /// The job flow's `action` list as JSON text, e.g. `["web 1", "web 2"]`; see
    /// [`Task::choices`].
    #[serde(deserialize_with = "lenient_text")]
    pub action_text: Option<String>,
    /// Life-cycle state.
    pub status: TaskStatus,
    /// UTC ISO-8601 creation time.
    #[serde(deserialize_with = "lenient_text")]
    pub created_date: Option<String>,
    /// UTC ISO-8601 time it was closed or cancelled.
    #[serde(deserialize_with = "lenient_text")]
    pub closed_date: Option<String>,
}

/// One answer a task offers: what a button shows and what submitting it sends.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskChoice {
    /// The text shown (a string choice as it is, anything else as its JSON text).
    pub label: String,
    /// The value submitted as the result.
    pub value: Value,
}

impl Task {
    /// Its path: `abspath`, or `/task/id_N` when the answer left it out.
    pub fn path(&self) -> String {
        if self.abspath.is_empty() {
            format!("{TASK_ROOT}/id_{}", self.id)
        } else {
            self.abspath.clone()
        }
    }

    /// Whether a job flow waits for its answer.
    pub fn is_waiting(&self) -> bool {
        self.status == TaskStatus::Waiting
    }

    /// The answers the job flow offers, from `action_text` (JSON text of a list). Text that
    /// is not such a list gives no choices (a free answer is still possible): a job flow's
    /// typo must not make the task unanswerable. Empty labels are skipped, duplicates and
    /// more than [`MAX_CHOICES`] dropped.
    pub fn choices(&self) -> Vec<TaskChoice> {
        let Some(text) = self.action_text.as_deref() else {
            return Vec::new();
        };
        let items = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            // A lone string is one choice; garbage is none.
            Ok(Value::String(one)) => vec![Value::String(one)],
            _ => return Vec::new(),
        };
        let mut out: Vec<TaskChoice> = Vec::new();
        for value in items {
            let label = match &value {
                Value::String(s) => s.trim().to_owned(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if label.is_empty() || out.iter().any(|c| c.label == label) {
                continue;
            }
            out.push(TaskChoice { label, value });
            if out.len() == MAX_CHOICES {
                break;
            }
        }
        out
    }

    /// Whether the task is meant for `user`: assigned to that user, or assigned to nobody
    /// (no user, no group) and created by that user's process. `None` (the user is not
    /// known) takes every task as meant for us: the server lists only the tasks the token's
    /// user may read.
    pub fn is_meant_for(&self, user: Option<&str>) -> bool {
        let Some(user) = user.map(str::trim).filter(|u| !u.is_empty()) else {
            return true;
        };
        if self.assigned_users.iter().any(|u| u == user) {
            return true;
        }
        self.assigned_users.is_empty() && self.assigned_groups.is_empty() && self.owner.as_deref() == Some(user)
    }
}

/// Which tasks [`Client::tasks`] lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskQuery {
    /// Only tasks in this state (`status=` on the server); `None` lists all.
    pub status: Option<TaskStatus>,
    /// Only these fields (`attrs=`), to keep frequent polls cheap; empty asks for all.
    /// `id` and `abspath` are always asked for.
    pub attrs: Vec<String>,
    /// Stop after this many tasks (newest first); `None` follows every page.
    pub limit: Option<usize>,
}

impl TaskQuery {
    /// Waiting tasks with every field.
    pub fn waiting() -> Self {
        TaskQuery { status: Some(TaskStatus::Waiting), ..TaskQuery::default() }
    }
}

impl Client {
    /// Tasks, newest first, following pages until `query.limit` or the last page.
    pub async fn tasks(&self, query: &TaskQuery) -> Result<Vec<Task>, RestError> {
        let mut url = self.url(TASK_ROOT);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("page_size", &PAGE_SIZE.to_string());
            if let Some(status) = query.status.as_ref().filter(|s| !s.as_str().is_empty()) {
                pairs.append_pair("status", status.as_str());
            }
            if !query.attrs.is_empty() {
                let mut attrs: Vec<&str> = vec!["id", "abspath"];
                for a in &query.attrs {
                    if !attrs.contains(&a.as_str()) {
                        attrs.push(a);
                    }
                }
                for a in attrs {
                    pairs.append_pair("attrs", a);
                }
            }
        }
        let limit = query.limit.unwrap_or(usize::MAX);
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while all.len() < limit {
            if !seen.insert(url.to_string()) || seen.len() > MAX_PAGES {
                return Err(RestError::new(
                    RestErrorKind::InvalidAnswer,
                    TASK_ROOT,
                    format!("the task list does not end: its `next` links loop or exceed {MAX_PAGES} pages"),
                    "report this to the Kompira server's administrator",
                ));
            }
            let page: Page<Value> = self.call(Method::GET, TASK_ROOT, Body::None, "task", Some(url.clone())).await?;
            for item in page.results {
                all.push(as_task(TASK_ROOT, item)?);
            }
            match page.next.filter(|n| !n.is_empty()) {
                Some(next) => url = self.rebase(&next, TASK_ROOT)?,
                None => break,
            }
        }
        all.truncate(limit);
        Ok(all)
    }

    /// One task: `7`, `id_7` or `/task/id_7`.
    pub async fn task(&self, id_or_path: &str) -> Result<Task, RestError> {
        let path = task_path(id_or_path)?;
        let answer: Value = self.call(Method::GET, &path, Body::None, "task", None).await?;
        as_task(&path, answer)
    }

    /// Answers a task: `result` (any JSON value) becomes the waiting job flow's `$RESULT`;
    /// `None` sends no body, which the server answers as `"OK"`. A task nobody waits on any
    /// more (answered, cancelled, closed) fails with a sentence saying so.
    pub async fn submit_task(&self, id_or_path: &str, result: Option<&Value>) -> Result<(), RestError> {
        let path = format!("{}.submit", task_path(id_or_path)?);
        let body = result.map(|value| json!({ "result": value }));
        let body = match &body {
            Some(body) => Body::Json(body),
            None => Body::None,
        };
        self.call_without_answer(Method::POST, &path, body, "task").await.map_err(|e| not_waiting(e, &path))
    }

    /// Cancels a task. Kompira marks it CANCELED but does not wake the job flow waiting on
    /// it: that process stays WAITING until someone terminates it.
    pub async fn cancel_task(&self, id_or_path: &str) -> Result<(), RestError> {
        let path = format!("{}.cancel", task_path(id_or_path)?);
        self.call_without_answer(Method::POST, &path, Body::Json(&json!({})), "task").await
    }
}

/// `7`, `id_7`, `/task/id_7` (or `task/id_7/`) → `/task/id_7`.
pub fn task_path(id_or_path: &str) -> Result<String, RestError> {
    let text = object_path(id_or_path);
    let id = text.strip_prefix("/task/").unwrap_or(&text[1..]);
    let digits = id.strip_prefix("id_").unwrap_or(id);
    if !digits.is_empty() && digits.len() <= 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(format!("{TASK_ROOT}/id_{digits}"));
    }
    Err(RestError::new(
        RestErrorKind::Setup,
        "",
        format!("{} is not a task", crate::quote::quoted(id_or_path)),
        "give its number (7), id (id_7) or path (/task/id_7); `kompira task list` shows them",
    ))
}

/// The server's 500 "No waiting processes" in words a person understands. It is not worth
/// retrying either, unlike other 500s.
fn not_waiting(error: RestError, path: &str) -> RestError {
    if error.status() == Some(500) && error.detail().contains(NOT_WAITING) {
        let task = path.strip_suffix(".submit").unwrap_or(path);
        return RestError::new(
            RestErrorKind::Http,
            path,
            format!("{task} is no longer waiting for an answer (the server says: {NOT_WAITING})"),
            "it was answered, cancelled or closed already; `kompira task list` shows the tasks still waiting",
        );
    }
    error
}

/// A task from an answer: an object with an id or a path (every field is optional to serde,
/// so a list or a string would otherwise pass as an empty task).
fn as_task(path: &str, answer: Value) -> Result<Task, RestError> {
    let invalid =
        |answer: &Value, problem: &str| RestError::invalid_answer(path, answer.to_string().as_bytes(), problem);
    let is_task = answer.is_object()
        && (answer.get("id").is_some_and(Value::is_i64) || answer.get("abspath").is_some_and(Value::is_string));
    if !is_task {
        return Err(invalid(&answer, "expected a task, an object with an id"));
    }
    serde_json::from_value(answer.clone()).map_err(|e| invalid(&answer, &e.to_string()))
}

// The same tolerance as `types.rs` (kept here so that module stays as it is).

/// Text as sent; `null` as `None`; any other JSON value as its JSON text.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

fn text_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    lenient_text(d).map(Option::unwrap_or_default)
}

/// A list of names: strings as they are, objects by their `username`/`name`, other values as
/// JSON text; anything but a list is no names.
fn names<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let Value::Array(items) = Value::deserialize(d)? else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| match item {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Object(ref map) => map
                .get("username")
                .or_else(|| map.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some(item.to_string())),
            other => Some(other.to_string()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The task of transcript 09d.
    fn waiting() -> Value {
        json!({"id":1,"abspath":"/task/id_1","owner":"root","assigned_users":["root"],
               "assigned_groups":[],"name":"ask_person","title":"Question from ask_person",
               "message":"Which host should be used?","action_text":"[\"web 1\", \"web 2\"]",
               "status":"WAITING","created_date":"2026-12-02T06:45:25.844478Z","closed_date":null})
    }

    #[test]
    fn the_real_servers_task_parses() {
        let t = as_task("/task", waiting()).unwrap();
        assert_eq!(t.id, 1);
        assert_eq!(t.path(), "/task/id_1");
        assert_eq!(t.owner.as_deref(), Some("root"));
        assert_eq!(t.assigned_users, ["root"]);
        assert!(t.assigned_groups.is_empty());
        assert_eq!(t.title, "Question from ask_person");
        assert!(t.is_waiting());
        assert_eq!(t.closed_date, None);
        let labels: Vec<_> = t.choices().into_iter().map(|c| c.label).collect();
        assert_eq!(labels, ["web 1", "web 2"]);
    }

    #[test]
    fn statuses_are_kept() {
        for (text, status) in [
            ("ONGOING", TaskStatus::Ongoing),
            ("DONE", TaskStatus::Done),
            ("CANCELED", TaskStatus::Canceled),
            ("PAUSED", TaskStatus::Other("PAUSED".into())),
        ] {
            let t: Task = serde_json::from_value(json!({"id": 2, "status": text})).unwrap();
            assert_eq!(t.status, status);
            assert_eq!(t.status.to_string(), text);
            assert!(!t.is_waiting());
        }
        let trimmed: Task = serde_json::from_value(json!({"id": 2})).unwrap();
        assert_eq!(trimmed.status, TaskStatus::Unknown);
    }

    #[test]
    fn odd_fields_are_tolerated() {
        let t = as_task(
            "/task",
            json!({"id": 3, "owner": 7, "assigned_users": "root", "assigned_groups": [{"name": "ops"}, 5, null],
                   "title": null, "message": ["a"], "action_text": 12, "status": null, "extra": {}}),
        )
        .unwrap();
        assert_eq!(t.owner.as_deref(), Some("7"));
        assert!(t.assigned_users.is_empty());
        assert_eq!(t.assigned_groups, ["ops", "5"]);
        assert_eq!(t.title, "");
        assert_eq!(t.message, "[\"a\"]");
        assert_eq!(t.path(), "/task/id_3");
        assert!(t.choices().is_empty());
    }

    #[test]
    fn choices_tolerate_garbage() {
        let with = |action: Value| Task {
            action_text: match action {
                Value::Null => None,
                Value::String(s) => Some(s),
                other => Some(other.to_string()),
            },
            ..Task::default()
        };
        assert!(with(Value::Null).choices().is_empty());
        assert!(with(json!("not json [")).choices().is_empty());
        assert!(with(json!("{\"a\": 1}")).choices().is_empty());
        let one = with(json!("\"only\"")).choices();
        assert_eq!(one[0].label, "only");
        let mixed = with(json!("[\"a\", \"\", \" a \", null, 2, {\"k\": true}, \"b\"]")).choices();
        let labels: Vec<_> = mixed.iter().map(|c| c.label.as_str()).collect();
        assert_eq!(labels, ["a", "2", "{\"k\":true}", "b"]);
        assert_eq!(mixed[1].value, json!(2));
        let many: Vec<String> = (0..80).map(|i| i.to_string()).collect();
        let many = with(Value::String(serde_json::to_string(&many).unwrap())).choices();
        assert_eq!(many.len(), MAX_CHOICES);
    }

    #[test]
    fn not_a_task_is_an_invalid_answer() {
        for bad in [json!([1]), json!("x"), json!({}), json!({"title": "t"})] {
            let e = as_task("/task/id_1", bad.clone()).unwrap_err().to_string();
            assert!(e.contains("is not Kompira JSON"), "{bad}: {e}");
        }
    }

    #[test]
    fn meant_for_the_user() {
        let mut t = as_task("/task", waiting()).unwrap();
        assert!(t.is_meant_for(Some("root")));
        assert!(!t.is_meant_for(Some("guest")));
        assert!(t.is_meant_for(None));
        assert!(t.is_meant_for(Some(" ")));
        t.assigned_users.clear();
        assert!(t.is_meant_for(Some("root")), "nobody assigned, owned by root");
        assert!(!t.is_meant_for(Some("guest")));
        t.assigned_groups.push("ops".into());
        assert!(!t.is_meant_for(Some("root")), "a group's task is the group's");
    }

    #[test]
    fn task_forms_are_accepted() {
        for form in ["7", "id_7", "/task/id_7", "task/id_7/", " 7 "] {
            assert_eq!(task_path(form).unwrap(), "/task/id_7", "{form}");
        }
        for bad in ["", "id_", "/process/id_7", "7x", "/task/7/x", "99999999999999999999"] {
            let e = task_path(bad).unwrap_err().to_string();
            assert!(e.contains("is not a task"), "{bad}: {e}");
        }
    }

    #[test]
    fn no_waiting_processes_reads_clearly() {
        let raw = RestError::from_status(500, "/task/id_1.submit", br#"{"detail": "No waiting processes"}"#, "task");
        assert!(!raw.is_transient(), "Kompira gave its reason: a retry gets the same answer");
        let e = not_waiting(raw, "/task/id_1.submit");
        let text = e.to_string();
        assert!(text.starts_with("/task/id_1 is no longer waiting for an answer"), "{text}");
        assert!(text.contains("answered, cancelled or closed"), "{text}");
        assert!(!e.is_transient(), "answering again cannot help");
        let other = RestError::from_status(500, "/task/id_1.submit", br#"{"detail": "boom"}"#, "task");
        assert_eq!(not_waiting(other, "/task/id_1.submit").detail(), "boom");
    }
}
