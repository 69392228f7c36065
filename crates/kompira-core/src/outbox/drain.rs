//! The drainer: sends what the outbox holds and deletes it only on the broker's ack.
//!
//! Shaped as an outer "connect" loop and an inner "send windows" loop. A window is up to
//! [`DrainOptions::window`] claimed rows published back to back; their confirms are awaited
//! together and the acked rows deleted in one transaction. [`WINDOWS_IN_FLIGHT`] windows are in
//! flight at a time, so the broker has the next ones while it confirms the oldest. A broken
//! connection goes back to the outer loop, which waits a capped, jittered exponential backoff
//! (cut short by [`Outbox::retry_now`] from any process) before reconnecting.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::error::OutboxError;
use super::store::{Claimed, NotAcked, Outbox};
use crate::event::{ConnectOptions, InFlight, Publisher, SendError, IO_QUEUE};
use crate::watch::Backoff;

/// Rows per window: enough to keep the broker busy while confirms come back, small enough
/// that a crash resends little.
pub const DEFAULT_WINDOW: usize = 500;
/// Windows published before the oldest one's confirms are awaited: the next ones travel while
/// the broker writes and confirms the oldest. Three keep a 2-core machine's broker busy while
/// the drainer claims and deletes (BENCHMARKS.md, outbox burst: three did better than two);
/// a crash between publish and ack resends at most this many windows.
pub const WINDOWS_IN_FLIGHT: usize = 3;
/// How often an idle drainer looks for new rows by default (another process may have queued
/// them; its own process wakes it at once).
const IDLE_POLL_MILLIS: u64 = 200;
/// A rejected row (nack, unroutable) waits at least this long, doubling per attempt.
const ROW_BACKOFF_INITIAL_SECS: u64 = 1;
const ROW_BACKOFF_CAP_SECS: u64 = 300;
/// Reconnect backoff.
const RECONNECT_INITIAL_MILLIS: u64 = 250;
const RECONNECT_CAP_SECS: u64 = 30;
/// A claim outlives the longest wait for confirms by this much, so a live drainer's rows are
/// never taken by another; a dead drainer's rows come back after it.
const LEASE_MARGIN_SECS: u64 = 5;

/// How to drain.
#[derive(Clone, Debug)]
pub struct DrainOptions {
    /// The broker.
    pub connect: ConnectOptions,
    /// The queue to publish to: [`IO_QUEUE`], which Kompira consumes; tests use their own.
    pub queue: String,
    /// Rows per window.
    pub window: usize,
    /// Keep running when the outbox is empty (the app, `drain --follow`); otherwise return
    /// once it is empty.
    pub follow: bool,
    /// Give up on the first failure to reach the broker instead of retrying (`outbox send`).
    pub once: bool,
    /// Pauses between reconnects.
    pub reconnect: Backoff,
    /// How often an idle drainer reads the file for events other processes queued (events
    /// queued through the same `Outbox` wake it at once). A resident drainer (the tray app)
    /// looks less often to stay near zero CPU.
    pub idle_poll: Duration,
}

impl DrainOptions {
    /// Defaults for Kompira: `io_queue`, [`DEFAULT_WINDOW`], reconnecting from 250 ms up to 30 s.
    pub fn new(connect: ConnectOptions) -> Self {
        Self {
            connect,
            queue: IO_QUEUE.to_owned(),
            window: DEFAULT_WINDOW,
            follow: false,
            once: false,
            reconnect: Backoff {
                initial: Duration::from_millis(RECONNECT_INITIAL_MILLIS),
                cap: Duration::from_secs(RECONNECT_CAP_SECS),
            },
            idle_poll: Duration::from_millis(IDLE_POLL_MILLIS),
        }
    }

    fn lease(&self) -> Duration {
        // Publishing a window and waiting for its confirms are each bounded by connect_timeout,
        // and a window may wait behind the others in flight.
        let waits = u32::try_from(WINDOWS_IN_FLIGHT + 1).unwrap_or(u32::MAX);
        self.connect.connect_timeout * waits + Duration::from_secs(LEASE_MARGIN_SECS)
    }
}

/// What the drainer is doing, for a status line or the tray's tooltip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DrainProgress {
    /// Connected (`AMQP(local->peer)`).
    Connected(String),
    /// A window was confirmed: how many rows it acked, how many are still waiting.
    Sent {
        /// Acked in this window.
        acked: u64,
        /// Still in the outbox.
        pending: u64,
    },
    /// The broker could not be reached or dropped the connection; retrying after `retry_in`.
    Unreachable {
        /// Why.
        error: String,
        /// The pause before the next attempt.
        retry_in: Duration,
    },
    /// Nothing to send now.
    Idle,
}

/// What a drain did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrainReport {
    /// Rows this drainer published and the broker acked (and this drainer deleted).
    pub acked: u64,
    /// Rows published but not acked (nack, unroutable, connection lost before the ack).
    pub not_acked: u64,
    /// Connections opened.
    pub connections: u64,
}

/// Sends what `outbox` holds until it is empty (or, with `follow`, until `stop` turns true).
/// Returns early with an error only for failures retrying cannot fix when not following
/// (refused login, missing queue), or on the first failure with `once`.
pub async fn drain(
    outbox: Arc<Outbox>,
    options: &DrainOptions,
    mut stop: watch::Receiver<bool>,
    mut progress: impl FnMut(DrainProgress),
) -> Result<DrainReport, OutboxError> {
    // Written into every claimed row, so short: the pid for whoever reads the file, and 32
    // random bits to tell apart two drainers of one process (or a reused pid).
    let owner = format!("{}-{:08x}", std::process::id(), uuid::Uuid::new_v4().as_u128() as u32);
    let mut report = DrainReport::default();
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return Ok(report);
        }
        let pending = blocking(&outbox, |o| o.pending_count()).await?;
        if pending == 0 {
            if !options.follow {
                return Ok(report);
            }
            progress(DrainProgress::Idle);
            idle(&outbox, &mut stop, options.idle_poll).await;
            continue;
        }
        let publisher = match Publisher::open(&options.connect, &options.queue).await {
            Ok(publisher) => publisher,
            Err(error) => {
                let message = format!("cannot {}: {error}", error.stage().as_str());
                blocking(&outbox, {
                    let message = message.clone();
                    move |o| o.note_unreachable(&message)
                })
                .await?;
                if options.once || (!error.is_transient() && !options.follow) {
                    return Err(OutboxError::Broker(error));
                }
                failures += 1;
                let retry_in = options.reconnect.pause(failures);
                progress(DrainProgress::Unreachable { error: message, retry_in });
                wait(&outbox, &mut stop, retry_in).await;
                continue;
            }
        };
        report.connections += 1;
        progress(DrainProgress::Connected(publisher.session().describe()));
        let outcome = send_windows(&outbox, options, &owner, &publisher, &mut stop, &mut report, &mut progress).await;
        publisher.close().await;
        match outcome? {
            WindowsEnd::Done => return Ok(report),
            WindowsEnd::Broken(error) => {
                if options.once {
                    return Err(OutboxError::Broker(error));
                }
                failures = if report.acked > 0 { 1 } else { failures + 1 };
                let retry_in = options.reconnect.pause(failures);
                progress(DrainProgress::Unreachable { error: error.to_string(), retry_in });
                wait(&outbox, &mut stop, retry_in).await;
            }
        }
    }
}

enum WindowsEnd {
    /// Empty (not following) or stopped.
    Done,
    /// The connection broke; reconnect.
    Broken(SendError),
}

async fn send_windows(
    outbox: &Arc<Outbox>,
    options: &DrainOptions,
    owner: &str,
    publisher: &Publisher,
    stop: &mut watch::Receiver<bool>,
    report: &mut DrainReport,
    progress: &mut impl FnMut(DrainProgress),
) -> Result<WindowsEnd, OutboxError> {
    let lease = options.lease();
    let window = options.window.max(1);
    let mut in_flight: VecDeque<(Vec<Claimed>, InFlight)> = VecDeque::new();
    // The previous window's deletes run on a blocking thread while the next window is claimed
    // and published, so the broker is not kept waiting for them.
    let mut recording: Option<Recording> = None;
    loop {
        // On stop, windows already published are still confirmed and recorded, so a restart
        // does not send them again.
        let stopping = *stop.borrow();
        if !stopping && in_flight.len() < WINDOWS_IN_FLIGHT {
            let claimed = blocking(outbox, {
                let owner = owner.to_owned();
                move |o| o.claim(&owner, window, lease)
            })
            .await;
            let claimed: Vec<Claimed> = match claimed {
                Ok(claimed) => claimed,
                Err(error) => {
                    finish_record(outbox, recording.take(), report, progress).await?;
                    return Err(error);
                }
            };
            if !claimed.is_empty() {
                let envelopes: Vec<_> = claimed.iter().map(|c| &c.envelope).collect();
                let published = publisher.publish(&envelopes).await;
                in_flight.push_back((claimed, published));
                continue;
            }
        }
        let Some((claimed, published)) = in_flight.pop_front() else {
            finish_record(outbox, recording.take(), report, progress).await?;
            if stopping {
                return Ok(WindowsEnd::Done);
            }
            let pending = blocking(outbox, |o| o.pending_count()).await?;
            if pending == 0 && !options.follow {
                return Ok(WindowsEnd::Done);
            }
            // Rows waiting out a refusal, or held by another drainer; or nothing at all.
            progress(DrainProgress::Idle);
            idle(outbox, stop, options.idle_poll).await;
            continue;
        };
        let (outcomes, broken) = publisher.confirmations(published).await;
        // Windows are recorded one at a time, in the order they were sent.
        finish_record(outbox, recording.take(), report, progress).await?;
        let started = start_record(outbox, owner, &claimed, outcomes, broken.is_some(), report);
        if let Some(error) = broken {
            finish_record(outbox, Some(started), report, progress).await?;
            // The later windows went out on the same dead connection: release them too.
            while let Some((claimed, published)) = in_flight.pop_front() {
                let (outcomes, _) = publisher.confirmations(published).await;
                let started = start_record(outbox, owner, &claimed, outcomes, true, report);
                finish_record(outbox, Some(started), report, progress).await?;
            }
            return Ok(WindowsEnd::Broken(error));
        }
        recording = Some(started);
    }
}

/// A window's record under way: rows removed and rows still waiting, once done.
type Recording = tokio::task::JoinHandle<Result<(u64, u64), OutboxError>>;

/// Starts deleting the acked rows of a window in one transaction and releasing the others:
/// due at the reconnect when the connection broke, after a backoff when the broker refused
/// them.
fn start_record(
    outbox: &Arc<Outbox>,
    owner: &str,
    claimed: &[Claimed],
    outcomes: Vec<Result<(), SendError>>,
    connection_broke: bool,
    report: &mut DrainReport,
) -> Recording {
    let row_backoff = Backoff {
        initial: Duration::from_secs(ROW_BACKOFF_INITIAL_SECS),
        cap: Duration::from_secs(ROW_BACKOFF_CAP_SECS),
    };
    let mut acked_ids = Vec::with_capacity(claimed.len());
    let mut rejected = Vec::new();
    for (row, outcome) in claimed.iter().zip(outcomes) {
        match outcome {
            Ok(()) => acked_ids.push(row.id),
            Err(error) => rejected.push((row.id, error)),
        }
    }
    let attempts_hint = failures_of(&rejected);
    let not_acked: Vec<NotAcked> = rejected
        .into_iter()
        .map(|(id, error)| NotAcked {
            id,
            error: format!("cannot {}: {error}", error.stage().as_str()),
            // One bad row must not hold the others back: a refused row waits.
            retry_in: (!connection_broke).then(|| row_backoff.pause(attempts_hint)),
        })
        .collect();
    report.not_acked += not_acked.len() as u64;
    let (outbox, owner) = (outbox.clone(), owner.to_owned());
    tokio::task::spawn_blocking(move || {
        let removed = outbox.acked(&acked_ids)?;
        outbox.not_acked(&owner, &not_acked)?;
        Ok((removed, outbox.pending_count()?))
    })
}

/// Waits for a record under way (if any) and reports it.
async fn finish_record(
    outbox: &Arc<Outbox>,
    recording: Option<Recording>,
    report: &mut DrainReport,
    progress: &mut impl FnMut(DrainProgress),
) -> Result<(), OutboxError> {
    let Some(recording) = recording else {
        return Ok(());
    };
    let (removed, pending) = recording.await.unwrap_or_else(|e| {
        Err(OutboxError::Store { path: outbox.path().to_owned(), message: format!("the store task failed: {e}") })
    })?;
    report.acked += removed;
    progress(DrainProgress::Sent { acked: removed, pending });
    Ok(())
}

fn failures_of(rejected: &[(i64, SendError)]) -> u32 {
    u32::try_from(rejected.len()).unwrap_or(u32::MAX).clamp(1, 8)
}

/// Runs a store call off the async threads (it may wait on another process's lock).
async fn blocking<T: Send + 'static>(
    outbox: &Arc<Outbox>,
    call: impl FnOnce(&Outbox) -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, OutboxError> {
    let outbox = outbox.clone();
    let path = outbox.path().to_owned();
    tokio::task::spawn_blocking(move || call(&outbox))
        .await
        .unwrap_or_else(|e| Err(OutboxError::Store { path, message: format!("the store task failed: {e}") }))
}

/// Waits up to `poll` for something to send: returns early on `stop` or when this process
/// queued an event or asked for a retry.
async fn idle(outbox: &Arc<Outbox>, stop: &mut watch::Receiver<bool>, poll: Duration) {
    tokio::select! {
        () = tokio::time::sleep(poll) => {}
        () = outbox.news() => {}
        changed = stop.changed() => {
            // A dropped sender means nobody can stop us any more: keep the pause.
            if changed.is_err() { tokio::time::sleep(poll).await; }
        }
    }
}

/// Sleeps up to `pause`, returning early on `stop` or when someone asks to retry now.
async fn wait(outbox: &Arc<Outbox>, stop: &mut watch::Receiver<bool>, pause: Duration) {
    let poll = Duration::from_millis(IDLE_POLL_MILLIS);
    let generation = blocking(outbox, |o| o.retry_generation()).await.ok();
    let deadline = tokio::time::Instant::now() + pause;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep((deadline - now).min(poll)) => {}
            changed = stop.changed() => {
                // A dropped sender means nobody can stop us any more: keep the pause.
                if changed.is_ok() && *stop.borrow() { return; }
            }
        }
        if generation.is_some() && blocking(outbox, |o| o.retry_generation()).await.ok() != generation {
            return;
        }
    }
}
