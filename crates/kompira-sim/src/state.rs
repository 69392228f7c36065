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

pub(crate) const OWNER: &str = "/system/users/root";
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

/// Python's `str(timedelta)` for durations under a day: `0:00:01.234000`.
fn timedelta(d: chrono::TimeDelta) -> String {
    let micros = d.num_microseconds().unwrap_or(0).max(0);
    let secs = micros / 1_000_000;
    let frac = micros % 1_000_000;
    let hms = format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 {
        hms
    } else {
        format!("{hms}.{frac:06}")
    }
}

pub(crate) enum Kind {
    Directory,
    Jobflow(Arc<JobflowDef>),
    Channel(ChannelQueue),
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
    pub fn to_json(&self) -> Value {
        let (type_object, fields) = match &self.kind {
            Kind::Directory => (TYPE_DIRECTORY, json!({})),
            Kind::Jobflow(j) => (TYPE_JOBFLOW, json!({ "source": j.source })),
            Kind::Channel(c) => (TYPE_CHANNEL, json!({ "message_count": c.messages.len() })),
        };
        let parent = parent_of(&self.path);
        json!({
            "id": self.id,
            "abspath": self.path,
            "owner": OWNER,
            "display_name": self.display_name,
            "description": self.description,
            "type_object": type_object,
            "parent_object": if parent == "/" { Value::Null } else { Value::from(parent) },
            "fields": fields,
            "created": timestamp(self.created),
            "updated": timestamp(self.created),
        })
    }
}

fn parent_of(path: &str) -> &str {
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
    Done,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::Ready => "READY",
            Status::Running => "RUNNING",
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
    pub status: Status,
    pub suspended: bool,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    pub console: Vec<String>,
    pub result: Value,
    pub error: String,
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
        json!({
            "id": self.id,
            "abspath": self.path(),
            "user": OWNER,
            "elapsed_time": timedelta(end - self.started),
            "started_time": timestamp(self.started),
            "finished_time": self.finished.map(timestamp),
            "status": self.status.as_str(),
            "exit_status": exit_status,
            "result": self.result,
            "error": self.error,
            "suspended": self.suspended,
            "lineno": self.console.len(),
            "console": console,
            "job": self.job.path,
            "schedule": null,
            "parent": null,
            "current_job": self.job.path,
        })
    }
}

#[derive(Default)]
pub(crate) struct Inner {
    pub objects: BTreeMap<String, Object>,
    pub processes: BTreeMap<u64, Process>,
    next_process: u64,
    pub events_consumed: u64,
    pub events_dropped: BTreeMap<String, u64>,
    pub amqp_connected: bool,
}

/// Everything the HTTP side, the process runners and the consumer share.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    pub token: String,
    /// Bumped whenever a process changes; `.wait` and runners watch it.
    pub process_changes: watch::Sender<()>,
    /// Becomes `true` once on shutdown.
    pub shutdown: watch::Receiver<bool>,
}

impl Shared {
    pub fn new(defs: &Definitions, token: String, shutdown: watch::Receiver<bool>) -> Self {
        let now = Utc::now();
        let mut inner = Inner {
            next_process: 1,
            ..Inner::default()
        };
        let mut next_id = 1;
        let mut add = |inner: &mut Inner, path: &str, name: &str, desc: &str, kind: Kind| {
            // Parents first, so ids grow from the root down.
            let mut prefix = String::new();
            for seg in path.trim_start_matches('/').split('/') {
                prefix.push('/');
                prefix.push_str(seg);
                if prefix.len() < path.len() && !inner.objects.contains_key(&prefix) {
                    inner.objects.insert(
                        prefix.clone(),
                        Object {
                            id: next_id,
                            path: prefix.clone(),
                            display_name: seg.to_string(),
                            description: String::new(),
                            created: now,
                            kind: Kind::Directory,
                        },
                    );
                    next_id += 1;
                }
            }
            if !inner.objects.contains_key(path) {
                inner.objects.insert(
                    path.to_string(),
                    Object {
                        id: next_id,
                        path: path.to_string(),
                        display_name: name.to_string(),
                        description: desc.to_string(),
                        created: now,
                        kind,
                    },
                );
                next_id += 1;
            }
        };
        for dir in ["/root", "/system", "/system/channels", "/system/types"] {
            add(
                &mut inner,
                dir,
                &dir[dir.rfind('/').unwrap_or(0) + 1..],
                "",
                Kind::Directory,
            );
        }
        for dir in &defs.directories {
            let name = &dir[dir.rfind('/').unwrap_or(0) + 1..];
            add(&mut inner, dir, name, "", Kind::Directory);
        }
        for c in &defs.channels {
            let q = ChannelQueue {
                messages: VecDeque::new(),
                notify: Arc::new(Notify::new()),
            };
            add(
                &mut inner,
                &c.path,
                &c.display_name,
                &c.description,
                Kind::Channel(q),
            );
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
            *processes_by_status
                .entry(p.status.as_str().to_string())
                .or_insert(0) += 1;
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

    /// Puts a message that could not be delivered back at the head of its channel.
    pub fn requeue_front(&self, path: &str, value: Value) {
        let mut inner = self.lock();
        if let Some(Object {
            kind: Kind::Channel(c),
            ..
        }) = inner.objects.get_mut(path)
        {
            c.messages.push_front(value);
            c.notify.notify_waiters();
        }
    }

    /// Creates a process in state NEW and starts its runner.
    pub fn start_process(
        self: &Arc<Self>,
        job: Arc<JobflowDef>,
        params: Map<String, Value>,
    ) -> String {
        let path = {
            let mut inner = self.lock();
            let id = inner.next_process;
            inner.next_process += 1;
            let p = Process {
                id,
                job,
                params,
                status: Status::New,
                suspended: false,
                started: Utc::now(),
                finished: None,
                console: Vec::new(),
                result: Value::Null,
                error: String::new(),
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
    let Some((job, params)) = shared.update_process(id, |p| {
        p.status = Status::Ready;
        (p.job.clone(), p.params.clone())
    }) else {
        return;
    };
    tokio::task::yield_now().await;
    shared.update_process(id, |p| {
        if !p.status.finished() {
            p.status = Status::Running;
        }
    });
    let steps = job.console.len() as u32 + 1;
    let step = Duration::from_millis(job.duration_ms) / steps;
    for line in &job.console {
        if !run_for(&shared, id, step).await {
            return;
        }
        let line = substitute_str(line, &params);
        shared.update_process(id, |p| p.console.push(line));
    }
    if !run_for(&shared, id, step).await {
        return;
    }
    shared.update_process(id, |p| {
        if p.status.finished() {
            return;
        }
        p.finished = Some(Utc::now());
        match job.outcome {
            Outcome::Done => {
                p.status = Status::Done;
                p.result = substitute(&job.result, &params);
            }
            Outcome::Aborted => {
                p.status = Status::Aborted;
                p.error = substitute_str(&job.error, &params);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedelta_like_python() {
        assert_eq!(
            timedelta(chrono::TimeDelta::milliseconds(1234)),
            "0:00:01.234000"
        );
        assert_eq!(timedelta(chrono::TimeDelta::seconds(3725)), "1:02:05");
    }
}
