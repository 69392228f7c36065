//! The outbox as the window shows it: what waits, "retry now" and "discard".

use std::sync::Arc;

use kompira_core::outbox::{EntrySummary, Outbox, OutboxError};

use crate::shell::Shell;

/// Most entries the window lists (the count shows them all).
const LIST_LIMIT: usize = 200;

/// The events waiting, oldest first.
pub async fn list_outbox(agent: &dyn Shell) -> Result<Vec<EntrySummary>, String> {
    with_store(agent, |store| store.list(LIST_LIMIT)).await
}

/// Makes one event (`id`) or all due now, cutting the drainer's backoff short. Returns how
/// many were made due.
pub async fn retry_outbox(agent: &dyn Shell, id: Option<i64>) -> Result<u64, String> {
    with_store(agent, move |store| store.retry_now(id)).await
}

/// Deletes one event (`id`) or all of them unsent. Returns how many.
pub async fn discard_outbox(agent: &dyn Shell, id: Option<i64>) -> Result<u64, String> {
    with_store(agent, move |store| match id {
        Some(id) => store.discard(id).map(|()| 1),
        None => store.discard_all(),
    })
    .await
}

/// Runs `work` on the open outbox off the async threads (SQLite may wait on another process's
/// lock), then recounts.
async fn with_store<T: Send + 'static>(
    agent: &dyn Shell,
    work: impl FnOnce(&Outbox) -> Result<T, OutboxError> + Send + 'static,
) -> Result<T, String> {
    let store: Arc<Outbox> = crate::outbox::store(agent).ok_or("there is no outbox (see the status line)")?;
    let result = tokio::task::spawn_blocking(move || work(&store)).await.map_err(|e| e.to_string())?;
    crate::outbox::refresh_count(agent);
    result.map_err(|e| e.to_string())
}
