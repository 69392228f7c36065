//! The watcher: one task per channel long-polling `.recv`, alerts read, de-duplicated, judged
//! by the policy and handed to the sink; connection trouble retried with backoff and visible
//! as one state for the whole watcher.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::backoff::Backoff;
use super::policy::{Decision, Deduplicator, Policy};
use super::reading::{read_message, Notification};

/// How long one `.recv` waits on the server before answering "nothing yet" (HTTP 408).
///
/// Short on purpose: Kompira keeps a `.recv` running until its timeout even when the client has
/// gone, and hands the next message to that dead request (it is lost). A cut connection, a quit
/// or a restart therefore puts at risk whatever arrives in the rest of that window, and a stop
/// waits for the poll in flight instead of abandoning it. 5 s costs 12 idle requests a minute
/// per channel; BENCHMARKS.md ("Long-poll length") has the measurements behind the choice.
pub const LONG_POLL: Duration = Duration::from_secs(5);
/// The wait of the first `.recv` after start and after each failure: an idle channel answers
/// only when the wait ends, and until something answers the state cannot say "connected".
pub const FIRST_POLL: Duration = Duration::from_secs(1);
/// How long an alert's key suppresses the same alert.
pub const DEDUPE_WINDOW: Duration = Duration::from_secs(300);
const DEDUPE_CAPACITY: usize = 4096;
/// On stop, how much longer than the long poll itself the polls in flight may take to end before
/// they are abandoned (a server or network that stopped answering altogether).
const STOP_MARGIN: Duration = Duration::from_secs(20);

/// Where messages come from: Kompira's channel `.recv` (the REST client), or a test double.
pub trait ChannelSource: Send + Sync + 'static {
    /// Takes the next message off `channel`, waiting up to `timeout`; `Ok(None)` when none came.
    fn recv(&self, channel: &str, timeout: Duration)
        -> impl Future<Output = Result<Option<Value>, SourceError>> + Send;
}

/// A failed `.recv`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// What went wrong, in words a user can act on.
    pub message: String,
    /// Worth retrying soon (network, server restart) rather than a setting to fix (401, 404).
    pub transient: bool,
}

/// Where alerts go: popups in the app, a list in a test, lines on a terminal.
pub trait AlertSink: Send + Sync + 'static {
    /// One new alert and whether it should pop up. (State changes are observed through
    /// [`Watcher::state`].)
    fn alert(&self, alert: &Notification, decision: Decision);
}

/// The connection as a user should see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Connection {
    /// Every channel is being watched.
    Connected,
    /// Trying again after a failure that may pass.
    Reconnecting {
        /// Attempts so far (the largest over the channels).
        attempt: u32,
    },
    /// A failure that needs the user (bad token, missing channel); still retried slowly.
    Offline,
}

/// Everything the tray icon and the status line need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WatchState {
    /// Connection health.
    pub connection: Connection,
    /// The latest error, kept after recovery for the status line.
    pub last_error: Option<String>,
    /// Whether popups are paused.
    pub paused: bool,
}

/// What to watch and how.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Channel paths, e.g. `/system/channels/Alert`.
    pub channels: Vec<String>,
    /// Server-side wait of each `.recv`.
    pub long_poll: Duration,
    /// Popup rules.
    pub policy: Policy,
    /// Reconnection pacing.
    pub backoff: Backoff,
    /// Take at most this many messages: once taken, no further `.recv` starts (polls already
    /// in flight on other channels still finish and are delivered, never dropped).
    pub limit: Option<u64>,
}

impl WatchConfig {
    /// Watches `channels` with default timings and policy.
    pub fn new(channels: Vec<String>) -> Self {
        Self { channels, long_poll: LONG_POLL, policy: Policy::default(), backoff: Backoff::default(), limit: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum ChannelHealth {
    Connected,
    Reconnecting(u32),
    Offline,
}

/// Shared between the channel tasks and the handle.
struct Shared {
    policy: Policy,
    paused_until: Option<Option<Instant>>,
    dedupe: Deduplicator,
    health: BTreeMap<String, ChannelHealth>,
    last_error: Option<String>,
    /// Messages taken off the server so far, for [`WatchConfig::limit`].
    taken: u64,
    limit: Option<u64>,
}

impl Shared {
    fn paused(&mut self, now: Instant) -> bool {
        match self.paused_until {
            Some(Some(until)) if now >= until => {
                self.paused_until = None;
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    fn state(&mut self) -> WatchState {
        let health = self.health.values();
        let connection = if health.clone().any(|h| *h == ChannelHealth::Offline) {
            Connection::Offline
        } else if let Some(attempt) =
            health.filter_map(|h| if let ChannelHealth::Reconnecting(a) = h { Some(*a) } else { None }).max()
        {
            Connection::Reconnecting { attempt }
        } else {
            Connection::Connected
        };
        WatchState { connection, last_error: self.last_error.clone(), paused: self.paused(Instant::now()) }
    }
}

/// A running watcher. Dropping it stops the watching tasks.
pub struct Watcher {
    shared: Arc<Mutex<Shared>>,
    state: watch::Sender<WatchState>,
    stopping: watch::Sender<bool>,
    tasks: JoinSet<()>,
    long_poll: Duration,
}

impl Watcher {
    /// Starts one task per channel on the current tokio runtime.
    pub fn spawn<S: ChannelSource, K: AlertSink>(source: Arc<S>, sink: Arc<K>, config: WatchConfig) -> Self {
        let health = config.channels.iter().map(|c| (c.clone(), ChannelHealth::Reconnecting(0))).collect();
        let shared = Arc::new(Mutex::new(Shared {
            policy: config.policy.clone(),
            paused_until: None,
            dedupe: Deduplicator::new(DEDUPE_WINDOW, DEDUPE_CAPACITY),
            health,
            last_error: None,
            taken: 0,
            limit: config.limit,
        }));
        let initial = lock(&shared).state();
        let (state, _) = watch::channel(initial);
        let (stopping, _) = watch::channel(false);
        let mut tasks = JoinSet::new();
        for channel in config.channels.clone() {
            let task = ChannelTask {
                channel,
                source: source.clone(),
                sink: sink.clone(),
                shared: shared.clone(),
                state: state.clone(),
                stopping: stopping.subscribe(),
                long_poll: config.long_poll,
                backoff: config.backoff,
            };
            tasks.spawn(task.run());
        }
        Self { shared, state, stopping, tasks, long_poll: config.long_poll }
    }

    /// The current state, and every change after it.
    pub fn state(&self) -> watch::Receiver<WatchState> {
        self.state.subscribe()
    }

    /// Keeps alerts quiet (still recorded) until `until`, or until [`Watcher::resume`].
    pub fn pause(&self, until: Option<Instant>) {
        lock(&self.shared).paused_until = Some(until);
        self.publish_state();
    }

    /// Lets alerts pop up again.
    pub fn resume(&self) {
        lock(&self.shared).paused_until = None;
        self.publish_state();
    }

    /// Replaces the popup rules (settings changed).
    pub fn set_policy(&self, policy: Policy) {
        lock(&self.shared).policy = policy;
    }

    /// Stops watching. No new `.recv` starts, and the polls in flight are waited for (up to the
    /// long poll plus a margin) and what they bring reaches the sink: Kompira would hand the next
    /// message to an abandoned poll, and that message would be lost. To replace a watcher
    /// without a gap, start the new one first and stop the old one beside it.
    pub async fn stop(mut self) {
        let _ = self.stopping.send(true);
        let finished = tokio::time::timeout(self.long_poll + STOP_MARGIN, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!("a long poll did not end in time on stop; abandoned");
            self.tasks.shutdown().await;
        }
    }

    /// Resolves when every channel task has ended by itself (a [`WatchConfig::limit`] reached).
    pub async fn finished(&mut self) {
        while self.tasks.join_next().await.is_some() {}
    }

    fn publish_state(&self) {
        let state = lock(&self.shared).state();
        self.state.send_if_modified(|current| replace_if_changed(current, state));
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // A panic elsewhere must not silence alerts: keep using the data.
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn replace_if_changed(current: &mut WatchState, new: WatchState) -> bool {
    if *current == new {
        return false;
    }
    *current = new;
    true
}

struct ChannelTask<S, K> {
    channel: String,
    source: Arc<S>,
    sink: Arc<K>,
    shared: Arc<Mutex<Shared>>,
    state: watch::Sender<WatchState>,
    stopping: watch::Receiver<bool>,
    long_poll: Duration,
    backoff: Backoff,
}

impl<S: ChannelSource, K: AlertSink> ChannelTask<S, K> {
    async fn run(mut self) {
        // Failures in a row: one answer (a message or "nothing yet") ends the row, so a network
        // that cuts long polls every few seconds costs a 1 s pause each time, not a pause grown
        // to the cap, while a server that never answers still gets ever longer pauses.
        let mut failures: u32 = 0;
        // Until the server has answered since start or since the last failure, polls are short,
        // so the state can say "connected" soon.
        let mut answered = false;
        while !*self.stopping.borrow() && !self.limit_reached() {
            let wait = if answered { self.long_poll } else { FIRST_POLL.min(self.long_poll) };
            // Not raced against `stopping`: a poll is always waited for (see `Watcher::stop`).
            match self.source.recv(&self.channel, wait).await {
                Ok(message) => {
                    failures = 0;
                    answered = true;
                    self.set_health(ChannelHealth::Connected, None);
                    if let Some(message) = message {
                        lock(&self.shared).taken += 1;
                        self.deliver(&message);
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    answered = false;
                    let health =
                        if error.transient { ChannelHealth::Reconnecting(failures) } else { ChannelHealth::Offline };
                    tracing::warn!(channel = %self.channel, attempt = failures, "watching failed: {}", error.message);
                    self.set_health(health, Some(error.message));
                    let pause = self.backoff.pause(failures);
                    // Stopping cuts a backoff pause short: nothing is in flight then.
                    let _ = tokio::time::timeout(pause, self.stopping.wait_for(|stop| *stop)).await;
                }
            }
        }
    }

    fn limit_reached(&self) -> bool {
        let shared = lock(&self.shared);
        shared.limit.is_some_and(|limit| shared.taken >= limit)
    }

    fn deliver(&self, message: &Value) {
        let alert = read_message(&self.channel, message, chrono::Utc::now());
        let decision = {
            let mut shared = lock(&self.shared);
            let now = Instant::now();
            if !shared.dedupe.first_sighting(&alert.key, now) {
                tracing::debug!(key = %alert.key, "duplicate alert skipped");
                return;
            }
            let paused = shared.paused(now);
            shared.policy.decide(&alert, chrono::Local::now().time(), paused)
        };
        self.sink.alert(&alert, decision);
    }

    fn set_health(&self, health: ChannelHealth, error: Option<String>) {
        let state = {
            let mut shared = lock(&self.shared);
            if shared.health.get(&self.channel) == Some(&health) && error.is_none() {
                return;
            }
            shared.health.insert(self.channel.clone(), health);
            if error.is_some() {
                shared.last_error = error;
            }
            shared.state()
        };
        self.state.send_if_modified(|current| replace_if_changed(current, state));
    }
}
