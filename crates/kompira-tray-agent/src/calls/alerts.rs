//! The Alerts view: list, mark read, clear.

use kompira_core::watch::{HistoryEntry, Severity};

use crate::agent::Agent;
use crate::state::lock;

/// Alerts newest first, filtered by a search text.
pub fn list_alerts(agent: &Agent, query: Option<String>) -> Vec<HistoryEntry> {
    let history = lock(&agent.state.history);
    history.search(query.as_deref().unwrap_or(""), Severity::NotClassified).into_iter().cloned().collect()
}

/// Marks everything read (the window was opened on the list).
pub fn mark_alerts_read(agent: &Agent) {
    lock(&agent.state.history).mark_all_read();
    agent.refresh_tray();
}

/// Forgets the list.
pub fn clear_alerts(agent: &Agent) {
    lock(&agent.state.history).clear();
    agent.refresh_tray();
}
