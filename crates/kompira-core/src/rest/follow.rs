//! Following a process until it finishes, reporting each change on the way.
//!
//! Long polls on `.wait` keep the request count low; when one times out (408) the process
//! is fetched so status and console changes still show while it runs. A server without
//! `.wait` (400 "Invalid attribute" on Kompira, 404/405 elsewhere) is polled with `GET` instead. Transient failures are retried with
//! capped backoff until `give_up_after`; anything else ends the follow.

use std::time::Duration;

use tokio::time::{sleep, Instant};

use super::client::{process_path, Client};
use super::error::RestError;
use super::types::Process;

/// First pause after a transient failure; doubled each time up to the cap.
const FIRST_BACKOFF_MILLIS: u64 = 500;
const MAX_BACKOFF_SECS: u64 = 30;

/// How to follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowOptions {
    /// Server-side timeout of one `.wait` long poll.
    pub wait_chunk: Duration,
    /// Pause between `GET`s when the server has no `.wait`.
    pub interval: Duration,
    /// Stop retrying when transient failures last this long.
    pub give_up_after: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            wait_chunk: Duration::from_secs(10),
            interval: Duration::from_secs(2),
            give_up_after: Duration::from_secs(300),
        }
    }
}

/// One report: the process now, and what changed since the last report.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessUpdate {
    /// The process as last read.
    pub process: Process,
    /// The first report.
    pub initial: bool,
    /// The status differs from the last report (always true for the first).
    pub status_changed: bool,
    /// Console text added since the last report (all of it when the server's console no
    /// longer starts with what was seen before).
    pub console_tail: String,
}

/// Follows `process` until it is DONE or ABORTED and returns its final state, calling
/// `on_update` with the initial state and with every change of status, exit status,
/// result, error or console.
pub async fn follow(
    client: &Client,
    process: &str,
    poll: FollowOptions,
    mut on_update: impl FnMut(&ProcessUpdate),
) -> Result<Process, RestError> {
    let path = process_path(process)?;
    let mut retry = Retry::new(poll.give_up_after);
    let mut last = loop {
        match client.process(&path).await {
            Ok(p) => break p,
            Err(e) => retry.after(e).await?,
        }
    };
    on_update(&ProcessUpdate {
        console_tail: last.console.clone(),
        process: last.clone(),
        initial: true,
        status_changed: true,
    });
    let mut use_wait = true;
    while !last.is_finished() {
        let next = if use_wait {
            match client.wait(&path, poll.wait_chunk).await {
                Ok(Some(p)) => p,
                Ok(None) => match client.process(&path).await {
                    Ok(p) => p,
                    Err(e) => {
                        retry.after(e).await?;
                        continue;
                    }
                },
                // Kompira 1.6 answers 400 "Invalid attribute" for a method it does not have.
                Err(e) if matches!(e.status(), Some(400 | 404 | 405)) => {
                    tracing::debug!(path, "the server has no .wait here; polling instead");
                    use_wait = false;
                    continue;
                }
                Err(e) => {
                    retry.after(e).await?;
                    continue;
                }
            }
        } else {
            sleep(poll.interval).await;
            match client.process(&path).await {
                Ok(p) => p,
                Err(e) => {
                    retry.after(e).await?;
                    continue;
                }
            }
        };
        retry.reset();
        if let Some(update) = changes(&last, &next) {
            on_update(&update);
        }
        last = next;
    }
    Ok(last)
}

/// The update from `old` to `new`, or `None` when nothing a user sees changed.
fn changes(old: &Process, new: &Process) -> Option<ProcessUpdate> {
    let console_tail = match new.console.strip_prefix(old.console.as_str()) {
        Some(tail) => tail.to_owned(),
        None => new.console.clone(),
    };
    let status_changed = old.status != new.status;
    let changed = status_changed
        || !console_tail.is_empty()
        || old.exit_status != new.exit_status
        || old.result != new.result
        || old.error != new.error;
    changed.then(|| ProcessUpdate { process: new.clone(), initial: false, status_changed, console_tail })
}

/// Capped exponential backoff across a run of transient failures.
struct Retry {
    give_up_after: Duration,
    failing_since: Option<Instant>,
    pause: Duration,
}

impl Retry {
    fn new(give_up_after: Duration) -> Self {
        Retry { give_up_after, failing_since: None, pause: Duration::from_millis(FIRST_BACKOFF_MILLIS) }
    }

    fn reset(&mut self) {
        self.failing_since = None;
        self.pause = Duration::from_millis(FIRST_BACKOFF_MILLIS);
    }

    /// Sleeps before the next try, or gives the error back when it is fatal or failures
    /// have lasted too long.
    async fn after(&mut self, error: RestError) -> Result<(), RestError> {
        if !error.is_transient() {
            return Err(error);
        }
        let since = *self.failing_since.get_or_insert_with(Instant::now);
        if since.elapsed() >= self.give_up_after {
            return Err(error);
        }
        tracing::warn!(error = %error, retry_in_ms = self.pause.as_millis() as u64, "retrying");
        sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_secs(MAX_BACKOFF_SECS));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::error::RestErrorKind;
    use crate::rest::types::ProcessStatus;
    use serde_json::json;

    fn process(status: ProcessStatus, console: &str) -> Process {
        Process { status, console: console.into(), ..Default::default() }
    }

    #[test]
    fn console_growth_reports_only_new_text() {
        let old = process(ProcessStatus::Running, "a\n");
        let new = process(ProcessStatus::Running, "a\nb\n");
        let update = changes(&old, &new).unwrap();
        assert_eq!(update.console_tail, "b\n");
        assert!(!update.status_changed && !update.initial);
    }

    #[test]
    fn replaced_console_is_reported_whole() {
        let old = process(ProcessStatus::Running, "old text\n");
        let new = process(ProcessStatus::Running, "new\n");
        assert_eq!(changes(&old, &new).unwrap().console_tail, "new\n");
    }

    #[test]
    fn nothing_changed_reports_nothing() {
        let p = process(ProcessStatus::Waiting, "x");
        assert!(changes(&p, &p.clone()).is_none());
    }

    #[test]
    fn status_and_result_changes_are_reported() {
        let old = process(ProcessStatus::Running, "");
        let mut new = process(ProcessStatus::Done, "");
        new.result = json!(1);
        let update = changes(&old, &new).unwrap();
        assert!(update.status_changed);
        assert_eq!(update.console_tail, "");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_gives_up_on_fatal_at_once_and_on_transient_after_the_limit() {
        let mut retry = Retry::new(Duration::from_secs(5));
        let fatal = RestError::from_status(401, "/p", b"", "process");
        assert!(retry.after(fatal).await.is_err());
        let transient = || RestError::new(RestErrorKind::Connect, "/p", "refused", "");
        let start = Instant::now();
        let mut tries = 0;
        while retry.after(transient()).await.is_ok() {
            tries += 1;
        }
        assert!(tries >= 3, "{tries}");
        assert!(start.elapsed() >= Duration::from_secs(5));
        retry.reset();
        assert!(retry.after(transient()).await.is_ok());
    }
}
