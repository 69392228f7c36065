//! The agent's outbox: quick-send events go to the engine's outbox (a SQLite file) first, and a
//! drainer that runs as long as the agent does sends them and deletes each only on the broker's
//! ack. Events that `kompira_sendevt --queue-on-failure` left in the same file are sent too.
//! The pending count reaches the tray and the window as `outbox-changed`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use kompira_core::event::{ConnectOptions, ONE_SHOT_FRAME_MAX};
use kompira_core::outbox::{drain, DrainOptions, DrainProgress, Limits, Outbox, OutboxSettings};
use kompira_tray_ipc::Event;
use tokio::sync::watch;

use crate::shell::Shell;
use crate::state::{lock, OutboxHandle};

/// How often the idle drainer reads the file for events `kompira_sendevt --queue-on-failure`
/// left there (the agent's own queueing wakes it at once).
pub const IDLE_POLL: Duration = Duration::from_secs(1);

/// Opens the outbox of the current settings and starts draining it. When it cannot be opened
/// the reason goes to the log and the status line, and quick send sends directly (as before).
pub fn start(agent: &Arc<dyn Shell>) {
    let state = &agent.state();
    let Ok(settings) = state.settings() else { return };
    let env = |name: &str| std::env::var(name).ok();
    let opened = OutboxSettings::from_settings(&settings, &env)
        .map_err(|e| e.to_string())
        .and_then(|config| Outbox::open(&config.path, Limits::from(&config)).map_err(|e| e.to_string()));
    let store = match opened {
        Ok(store) => Arc::new(store),
        Err(reason) => {
            tracing::error!("no outbox, events are sent directly: {reason}");
            *lock(&state.outbox_error) = Some(format!("no outbox: {reason}"));
            return;
        }
    };
    tracing::info!("outbox: {}", store.path().display());
    *lock(&state.outbox_error) = None;
    let (stop, stopped) = watch::channel(false);
    let mut options = DrainOptions::new(ConnectOptions::from_settings(&settings, ONE_SHOT_FRAME_MAX));
    options.follow = true;
    // Quick send wakes it at once; events other programs queue are found within a second.
    options.idle_poll = IDLE_POLL;
    let drained = store.clone();
    let reporter = agent.clone();
    agent.spawn(async move {
        let result = drain(drained.clone(), &options, stopped, |progress| report(&reporter, &drained, progress)).await;
        if let Err(e) = result {
            tracing::error!("the outbox drainer stopped: {e}");
            *lock(&reporter.state().outbox_error) = Some(format!("outbox: {e}"));
            changed(&reporter);
        }
    });
    *lock(&state.outbox) = Some(OutboxHandle { store, stop });
    refresh_count(agent);
}

/// Stops the drainer (it finishes the window in flight) and starts one from the current
/// settings (after a save).
pub fn restart(agent: &Arc<dyn Shell>) {
    if let Some(old) = lock(&agent.state().outbox).take() {
        let _ = old.stop.send(true);
    }
    start(agent);
}

/// The open outbox, if any.
pub fn store(agent: &dyn Shell) -> Option<Arc<Outbox>> {
    lock(&agent.state().outbox).as_ref().map(|h| h.store.clone())
}

fn report(agent: &dyn Shell, store: &Outbox, progress: DrainProgress) {
    match progress {
        DrainProgress::Sent { pending, .. } => set_count(agent, pending, None),
        DrainProgress::Unreachable { error, retry_in } => {
            let pending = store.pending_count().unwrap_or_else(|_| agent.state().outbox_pending.load(Ordering::SeqCst));
            set_count(agent, pending, Some(format!("{error} (retrying in {})", seconds(retry_in))));
        }
        DrainProgress::Idle => set_count(agent, 0, None),
        DrainProgress::Connected(_) => {}
    }
}

/// Reads the pending count from the file (after a queue, retry or discard from the window).
pub fn refresh_count(agent: &dyn Shell) {
    if let Some(store) = store(agent) {
        if let Ok(pending) = store.pending_count() {
            let error = lock(&agent.state().outbox_error).clone();
            set_count(agent, pending, error);
        }
    }
}

/// Records the count and the drainer's trouble; tells the tray and the window when either moved.
fn set_count(agent: &dyn Shell, pending: u64, error: Option<String>) {
    let state = &agent.state();
    let before = state.outbox_pending.swap(pending, Ordering::SeqCst);
    let error_changed = {
        let mut current = lock(&state.outbox_error);
        let changed = *current != error;
        *current = error;
        changed
    };
    if before != pending || error_changed {
        changed(agent);
    }
}

fn changed(agent: &dyn Shell) {
    agent.emit(Event::OutboxChanged);
    agent.emit(Event::StatusChanged);
    agent.refresh_tray();
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
