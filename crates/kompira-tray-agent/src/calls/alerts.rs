//! The Alerts view: list, mark read, clear.

use kompira_core::watch::{HistoryEntry, Severity};
use serde::Serialize;

use crate::shell::Shell;
use crate::state::lock;

/// An alert as the view lists it: the history entry and its title in the agent's language
/// (the engine gives the parts; `text::alert_title` words them, as in the popup).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    pub title: String,
}

/// Alerts newest first, filtered by a search text.
pub fn list_alerts(agent: &dyn Shell, query: Option<String>) -> Vec<AlertRow> {
    let lang = crate::tray::current_lang(agent);
    let history = lock(&agent.state().history);
    let found = history.search(query.as_deref().unwrap_or(""), Severity::NotClassified);
    found
        .into_iter()
        .map(|entry| AlertRow { title: crate::text::alert_title(lang, &entry.alert), entry: entry.clone() })
        .collect()
}

/// Marks everything read (the window was opened on the list).
pub fn mark_alerts_read(agent: &dyn Shell) {
    lock(&agent.state().history).mark_all_read();
    agent.refresh_tray();
}

/// Forgets the list.
pub fn clear_alerts(agent: &dyn Shell) {
    lock(&agent.state().history).clear();
    agent.refresh_tray();
}
