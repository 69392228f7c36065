//! The object tree, processes, channel queues and counters behind one lock.
//!
//! The lock is a `std::sync::Mutex` held only for short synchronous sections
//! (never across an `.await`); waiters sleep on `Notify`/`watch` outside it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Map, Value};
use tokio::sync::{watch, Notify};

use crate::defs::{substitute, substitute_str, Definitions, JobflowDef, Outcome};
use crate::expr::{self, JobKind, Script};

/// The one user: owner of every object and user of every process (a name, as the server shows it).
pub(crate) const OWNER: &str = "root";
pub(crate) const TYPE_DIRECTORY: &str = "/system/types/Directory";
pub(crate) const TYPE_JOBFLOW: &str = "/system/types/Jobflow";
pub(crate) const TYPE_CHANNEL: &str = "/system/types/Channel";

/// Counters served at `/_sim/stats` and by [`crate::SimHandle::stats`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// `io_queue` messages appended to a channel.
    pub events_consumed: u64,
    /// `io_queue` messages acknowledged but not appended, by reason.
    pub events_dropped: BTreeMap<String, u64>,
    /// Messages waiting in each channel now.
    pub messages_per_channel: BTreeMap<String, usize>,
    /// Processes ever started, by current status.
    pub processes_by_status: BTreeMap<String, u64>,
    /// Whether the `io_queue` consumer is subscribed right now.
    pub amqp_connected: bool,
}

pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `elapsed_time` as the server gives it: seconds, with microseconds.
fn seconds(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(0).max(0) as f64 / 1e6
}

pub(crate) enum Kind {
    Directory,
    Jobflow(Arc<JobflowDef>),
    Channel(ChannelQueue),
}

/// What the simulator knows about running a job flow beyond its definition.
impl JobflowDef {
    /// A job flow created through the API: its source runs in the small subset of the
    /// language the simulator knows (expr.rs).
    pub(crate) fn created(path: String, display_name: String, description: String, source: String) -> Self {
        let script = Script::parse(&source);
        let parameters = match &script {
            Ok(s) => s.parameters.iter().map(|d| d.name.clone()).collect(),
            Err(_) => Vec::new(),
        };
        JobflowDef {
            path,
            display_name,
            description,
            parameters,
            defaults: BTreeMap::new(),
            outcome: Outcome::Done,
            duration_ms: 0,
            result: Value::Null,
            console: Vec::new(),
            error: String::new(),
            source,
            task: None,
            script: Some(script),
        }
    }

    /// Whether `name` is a parameter the job flow declares (others are dropped silently).
    pub(crate) fn declares(&self, name: &str) -> bool {
        match &self.script {
            Some(Ok(s)) => s.parameters.iter().any(|d| d.name == name),
            Some(Err(_)) => false,
            None => self.parameters.iter().any(|p| p == name) || self.defaults.contains_key(name),
        }
    }

    /// The given (already evaluated) parameters completed with defaults; `Err` is the line and
    /// message of the abort the server reports for a missing one.
    pub(crate) fn bind(&self, mut given: Map<String, Value>) -> Result<Map<String, Value>, (u32, String)> {
        match &self.script {
            Some(Ok(script)) => {
                for decl in &script.parameters {
                    if given.contains_key(&decl.name) {
                        continue;
                    }
                    let Some(default) = &decl.default else {
                        return Err((decl.line, format!("Parameter '{}' is missing.", decl.name)));
                    };
                    let value = default.eval(&Map::new()).map_err(|e| (decl.line, e.message()))?;
                    given.insert(decl.name.clone(), value);
                }
            }
            Some(Err(_)) => {}
            None => {
                for (k, v) in &self.defaults {
                    given.entry(k.clone()).or_insert_with(|| v.clone());
                }
                if let Some(missing) = self.parameters.iter().find(|p| !given.contains_key(*p)) {
                    return Err((1, format!("Parameter '{missing}' is missing.")));
                }
            }
        }
        Ok(given)
    }
}

pub(crate) struct ChannelQueue {
    pub messages: VecDeque<Value>,
    pub notify: Arc<Notify>,
}

pub(crate) struct Object {
    pub id: u64,
    pub path: String,
    pub display_name: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub kind: Kind,
}

impl Object {
    /// The object as the server shows it: `fields` are the type's settings, queue depths are
    /// `extra_properties` (a channel's `message_count`).
    pub fn to_json(&self, children: usize) -> Value {
        let (type_object, fields, extra) = match &self.kind {
            Kind::Directory => {
                (TYPE_DIRECTORY, json!({ "orderBy": "", "pageSize": 25 }), json!({ "num_children": children }))
            }
            Kind::Jobflow(j) => (
                TYPE_JOBFLOW,
                json!({
                    "source": j.source,
                    "multiplicity": null,
                    "defaultCheckpointMode": false,
                    "defaultMonitoringMode": "",
                }),
                json!({}),
            ),
            Kind::Channel(c) => (
                TYPE_CHANNEL,
                json!({ "action_type": "NoAction", "action_target": null }),
                json!({ "message_count": c.messages.len(), "event_count": 0 }),
            ),
        };
        json!({
            "id": self.id,
            "abspath": self.path,
            "owner": OWNER,
            "fields": fields,
            "extra_properties": extra,
            "user_permissions": {},
            "group_permissions": {},
            "created": timestamp(self.created),
            "updated": timestamp(self.created),
            "display_name": self.display_name,
            "description": self.description,
            "type_object": type_object,
            "parent_object": parent_of(&self.path),
        })
    }
}

pub(crate) fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    New,
    Ready,
    Running,
    /// Waiting for a person to answer a task (`[jobflow.task]`, see tasks.rs).
    Waiting,
    Done,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Ready => "READY",
            Status::Running => "RUNNING",
            Status::Waiting => "WAITING",
            Status::Done => "DONE",
            Status::Aborted => "ABORTED",
        }
    }
    pub fn finished(self) -> bool {
        matches!(self, Status::Done | Status::Aborted)
    }
}

pub(crate) struct Process {
    pub id: u64,
    pub job: Arc<JobflowDef>,
    pub params: Map<String, Value>,
    /// The abort the server reports before the first job (a parameter naming an undefined
    /// variable, a missing parameter): line and message.
    pub start_failure: Option<(u32, String)>,
    pub status: Status,
    pub suspended: bool,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub console: Vec<String>,
    /// `null` until the run ends.
    pub result: Value,
    /// `null` until the run ends, then `""` or the abort message.
    pub error: Option<String>,
    /// The line of the job running or last run.
    pub lineno: u32,
    /// `step_mode`, `checkpoint_mode` and `monitoring_mode` as given to `.execute` (shown only).
    pub config: Value,
    /// The task this process waits on while WAITING.
    pub waiting_task: Option<u64>,
}

impl Process {
    pub fn path(&self) -> String {
        format!("/process/id_{}", self.id)
    }

    pub fn to_json(&self) -> Value {
        let end = self.finished.unwrap_or_else(Utc::now);
        let exit_status = match self.status {
            Status::Done => Value::from(0),
            Status::Aborted => Value::from(1),
            _ => Value::Null,
        };
        let mut console = self.console.join("\n");
        if !console.is_empty() {
            console.push('\n');
        }
        let job = &self.job.path;
        json!({
            "id": self.id,
            "abspath": self.path(),
            "console": console,
            "user": OWNER,
            "elapsed_time": seconds(end - self.started),
            "result": self.result,
            "error": self.error,
            "config": self.config,
            "started_time": timestamp(self.started),
            "finished_time": self.finished.map(timestamp),
            "status": self.status.as_str(),
            "suspended": self.suspended,
            "lineno": self.lineno,
            "exit_status": exit_status,
            "job": job,
            "schedule": null,
            "invoker": null,
            "parent": null,
            "current_job": job,
        })
    }

    /// Ends the run DONE with `result`.
    pub fn finish(&mut self, result: Value) {
        self.status = Status::Done;
        self.result = result;
        self.error = Some(String::new());
        self.finished = Some(Utc::now());
    }

    /// Ends the run ABORTED at `line`, with the server's error text and console report.
    pub fn abort(&mut self, line: u32, message: &str) {
        let job = &self.job.path;
        let error = format!("aborted at line {line} in {job}: {message}");
        let rule = "-".repeat(60);
        self.console.push(format!(
            "{error}\n{rule}\n<stack frames>\n  [{job}: {line}]\n\n<special variables>\n  $ENV = {{}}\n  \
             $ERROR = {}\n  $RESULT = ''\n  $STATUS = 1\n{rule}\n",
            expr::python_str_repr(&error)
        ));
        self.status = Status::Aborted;
        self.lineno = line;
        self.result = Value::String(String::new());
        self.error = Some(error);
        self.finished = Some(Utc::now());
    }
}

/// What a run starts with: the bound parameters, or the abort (line, message) the server
/// reports before the first job.
pub(crate) type Start = Result<Map<String, Value>, (u32, String)>;

#[derive(Default)]
pub(crate) struct Inner {
    pub objects: BTreeMap<String, Object>,
    pub processes: BTreeMap<u64, Process>,
    next_process: u64,
    next_object: u64,
    pub events_consumed: u64,
    pub events_dropped: BTreeMap<String, u64>,
    pub amqp_connected: bool,
}

impl Inner {
    /// How many objects sit directly in `dir`.
    pub fn children(&self, dir: &str) -> usize {
        let prefix = if dir == "/" { "/".to_string() } else { format!("{dir}/") };
        self.objects
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .filter(|(p, _)| !p[prefix.len()..].contains('/'))
            .count()
    }

    /// An object's JSON, with its number of children.
    pub fn object_json(&self, path: &str) -> Option<Value> {
        self.objects.get(path).map(|o| o.to_json(self.children(path)))
    }
}

/// Everything the HTTP side, the process runners and the consumer share.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub token: String,
    /// Bumped whenever a process changes; `.wait` and runners watch it.
    pub process_changes: watch::Sender<()>,
    /// Becomes `true` once on shutdown.
    pub shutdown: watch::Receiver<bool>,
    /// Tasks waiting for a person (their own lock; see tasks.rs).
    pub tasks: crate::tasks::Tasks,
}

impl Shared {
    pub fn new(defs: &Definitions, token: String, shutdown: watch::Receiver<bool>) -> Self {
        let now = Utc::now();
        let mut inner = Inner { next_process: 1, next_object: 1, ..Inner::default() };
        let add = |inner: &mut Inner, path: &str, name: &str, desc: &str, kind: Kind| {
            // Parents first, so ids grow from the root down.
            let mut prefix = String::new();
            for seg in path.trim_start_matches('/').split('/') {
                prefix.push('/');
                prefix.push_str(seg);
                if prefix.len() < path.len() && !inner.objects.contains_key(&prefix) {
                    inner.objects.insert(
                        prefix.clone(),
                        Object {
                            id: inner.next_object,
                            path: prefix.clone(),
                            display_name: seg.to_string(),
                            description: String::new(),
                            created: now,
                            kind: Kind::Directory,
                        },
                    );
                    inner.next_object += 1;
                }
            }
            if !inner.objects.contains_key(path) {
                inner.objects.insert(
                    path.to_string(),
                    Object {
                        id: inner.next_object,
                        path: path.to_string(),
                        display_name: name.to_string(),
                        description: desc.to_string(),
                        created: now,
                        kind,
                    },
                );
                inner.next_object += 1;
            }
        };
        for dir in ["/root", "/system", "/system/channels", "/system/types"] {
            add(&mut inner, dir, &dir[dir.rfind('/').unwrap_or(0) + 1..], "", Kind::Directory);
        }
        for dir in &defs.directories {
            let name = &dir[dir.rfind('/').unwrap_or(0) + 1..];
            add(&mut inner, dir, name, "", Kind::Directory);
        }
        for c in &defs.channels {
            let q = ChannelQueue { messages: VecDeque::new(), notify: Arc::new(Notify::new()) };
            add(&mut inner, &c.path, &c.display_name, &c.description, Kind::Channel(q));
        }
        for j in &defs.jobflows {
            let kind = Kind::Jobflow(Arc::new(j.clone()));
            add(&mut inner, &j.path, &j.display_name, &j.description, kind);
        }
        Self {
            inner: Mutex::new(inner),
            token,
            process_changes: watch::Sender::new(()),
            shutdown,
            tasks: crate::tasks::Tasks::default(),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        let mut processes_by_status = BTreeMap::new();
        for p in inner.processes.values() {
            *processes_by_status.entry(p.status.as_str().to_string()).or_insert(0) += 1;
        }
        let messages_per_channel = inner
            .objects
            .values()
            .filter_map(|o| match &o.kind {
                Kind::Channel(c) => Some((o.path.clone(), c.messages.len())),
                _ => None,
            })
            .collect();
        Stats {
            events_consumed: inner.events_consumed,
            events_dropped: inner.events_dropped.clone(),
            messages_per_channel,
            processes_by_status,
            amqp_connected: inner.amqp_connected,
        }
    }

    /// Appends a message to a channel; `Err` with a reason when `path` is not a channel.
    pub fn push_message(&self, path: &str, value: Value) -> Result<(), String> {
        let mut inner = self.lock();
        match inner.objects.get_mut(path).map(|o| &mut o.kind) {
            Some(Kind::Channel(c)) => {
                c.messages.push_back(value);
                c.notify.notify_waiters();
                Ok(())
            }
            Some(_) => Err(format!("not a channel: {path}")),
            None => Err(format!("unknown channel: {path}")),
        }
    }

    /// Adds `name` of `kind` under the directory `dir` (`POST <dir>`): the new object's JSON,
    /// or the server's 400 detail.
    pub fn create_object(
        &self,
        dir: &str,
        name: &str,
        display_name: Option<&str>,
        description: &str,
        kind: impl FnOnce(String) -> Kind,
    ) -> Result<Value, String> {
        let mut inner = self.lock();
        let path = if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") };
        if inner.objects.contains_key(&path) {
            return Err(format!("Already exists '{name}'"));
        }
        let id = inner.next_object;
        inner.next_object += 1;
        let object = Object {
            id,
            display_name: display_name.unwrap_or(name).to_string(),
            description: description.to_string(),
            created: Utc::now(),
            kind: kind(path.clone()),
            path: path.clone(),
        };
        let json = object.to_json(0);
        inner.objects.insert(path, object);
        Ok(json)
    }

    /// Removes an object without children (`DELETE <path>`); `Err` is the 400 detail.
    pub fn delete_object(&self, path: &str) -> Result<(), String> {
        let mut inner = self.lock();
        if inner.children(path) > 0 {
            return Err(format!("Directory '{path}' is not empty"));
        }
        if let Some(Object { kind: Kind::Channel(c), .. }) = inner.objects.remove(path) {
            // Waiting receivers look the channel up again and answer 404.
            c.notify.notify_waiters();
        }
        Ok(())
    }

    /// Creates a process in state NEW and starts its runner.
    pub fn start_process(self: &Arc<Self>, job: Arc<JobflowDef>, start: Start, config: Value) -> String {
        let (params, start_failure) = match start {
            Ok(params) => (params, None),
            Err(failure) => (Map::new(), Some(failure)),
        };
        let path = {
            let mut inner = self.lock();
            let id = inner.next_process;
            inner.next_process += 1;
            let p = Process {
                id,
                job,
                params,
                start_failure,
                status: Status::New,
                suspended: false,
                started: Utc::now(),
                finished: None,
                console: Vec::new(),
                result: Value::Null,
                error: None,
                lineno: 0,
                config,
                waiting_task: None,
            };
            let path = p.path();
            inner.processes.insert(id, p);
            tokio::spawn(run_process(self.clone(), id));
            path
        };
        self.process_changes.send_replace(());
        path
    }

    /// Applies `f` to a process and wakes everybody watching processes.
    pub fn update_process<R>(&self, id: u64, f: impl FnOnce(&mut Process) -> R) -> Option<R> {
        let r = self.lock().processes.get_mut(&id).map(f);
        self.process_changes.send_replace(());
        r
    }
}

/// Sleeps `remaining` of run time, not counting time spent suspended.
/// Returns `false` when the process was finished meanwhile (terminated) or
/// the simulator is shutting down.
async fn run_for(shared: &Shared, id: u64, mut remaining: Duration) -> bool {
    let mut changes = shared.process_changes.subscribe();
    let mut shutdown = shared.shutdown.clone();
    loop {
        let (finished, suspended) = match shared.lock().processes.get(&id) {
            Some(p) => (p.status.finished(), p.suspended),
            None => return false,
        };
        if finished || *shutdown.borrow() {
            return false;
        }
        let started = tokio::time::Instant::now();
        tokio::select! {
            _ = tokio::time::sleep(remaining), if !suspended => return true,
            _ = changes.changed() => {}
            _ = shutdown.changed() => return false,
        }
        if !suspended {
            remaining = remaining.saturating_sub(started.elapsed());
        }
    }
}

async fn run_process(shared: Arc<Shared>, id: u64) {
    let Some((job, params, start_failure)) = shared.update_process(id, |p| {
        p.status = Status::Ready;
        (p.job.clone(), p.params.clone(), p.start_failure.clone())
    }) else {
        return;
    };
    tokio::task::yield_now().await;
    shared.update_process(id, |p| {
        if !p.status.finished() {
            p.status = Status::Running;
        }
    });
    if let Some((line, message)) = start_failure {
        shared.update_process(id, |p| {
            if !p.status.finished() {
                p.abort(line, &message);
            }
        });
        return;
    }
    if let Some(script) = &job.script {
        return run_script(&shared, id, script, params).await;
    }
    let steps = job.console.len() as u32 + 1;
    let step = Duration::from_millis(job.duration_ms) / steps;
    for line in &job.console {
        if !run_for(&shared, id, step).await {
            return;
        }
        let line = substitute_str(line, &params);
        shared.update_process(id, |p| {
            p.console.push(line);
            p.lineno += 1;
        });
    }
    if !run_for(&shared, id, step).await {
        return;
    }
    // A job flow with a task waits for a person; the answer is its result.
    let answer = match &job.task {
        Some(task) => match crate::tasks::ask(&shared, id, task, &job.path, &params).await {
            Some(answer) => Some(answer),
            None => return,
        },
        None => None,
    };
    shared.update_process(id, |p| {
        if p.status.finished() {
            return;
        }
        match job.outcome {
            Outcome::Done => p.finish(answer.unwrap_or_else(|| substitute(&job.result, &params))),
            Outcome::Aborted => {
                let line = p.lineno;
                p.abort(line, &substitute_str(&job.error, &params));
            }
        }
    });
}

/// Runs a created job flow's chain of `print`, `sleep` and `return` jobs.
async fn run_script(shared: &Shared, id: u64, script: &Result<Script, String>, scope: Map<String, Value>) {
    let script = match script {
        Ok(s) => s,
        // execute refuses these; a definition cannot hold one.
        Err(why) => {
            shared.update_process(id, |p| p.abort(0, why));
            return;
        }
    };
    let mut result = Value::String(String::new());
    for job in &script.jobs {
        let args: Result<Vec<Value>, _> = job.args.iter().map(|a| a.eval(&scope)).collect();
        let ended = shared.update_process(id, |p| {
            if p.status.finished() {
                return true;
            }
            p.lineno = job.line;
            match &args {
                Err(e) => {
                    p.abort(job.line, &e.message());
                    true
                }
                Ok(_) => false,
            }
        });
        let (Some(false), Ok(args)) = (ended, args) else {
            return;
        };
        match job.kind {
            JobKind::Print => {
                let line = args.iter().map(expr::display).collect::<Vec<_>>().join(" ");
                shared.update_process(id, |p| p.console.push(line));
                result = Value::String(String::new());
            }
            JobKind::Sleep => {
                let secs = args[0].as_f64().unwrap_or(0.0).clamp(0.0, 86_400.0);
                if !run_for(shared, id, Duration::from_secs_f64(secs)).await {
                    return;
                }
                result = Value::String(String::new());
            }
            JobKind::Return => {
                result = args[0].clone();
                break;
            }
        }
    }
    shared.update_process(id, |p| {
        if !p.status.finished() {
            p.finish(result);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_in_seconds() {
        assert_eq!(seconds(chrono::TimeDelta::milliseconds(1234)), 1.234);
        assert_eq!(seconds(chrono::TimeDelta::microseconds(11_039)), 0.011039);
    }
}
