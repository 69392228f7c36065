//! The Alerts view: list, mark read, clear.

use kompira_core::watch::{AlertHistory, HistoryEntry, Severity};
use serde::Serialize;

use crate::shell::Shell;
use crate::state::lock;
use crate::text::Lang;

/// An alert as the view lists it: what the view shows and nothing more (not the fields, which
/// may be many and large; a remedy reads them in the agent), with its title in the agent's
/// language (the engine gives the parts; `text::alert_title` words them, as in the popup).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: u64,
    pub read: bool,
    pub title: String,
    pub alert: AlertShown,
}

/// The parts of an alert the view shows under its title.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertShown {
    pub severity: Severity,
    pub body: String,
    pub channel: String,
    /// RFC 3339, as the view's `Date` reads it.
    pub received: String,
}

impl AlertRow {
    fn of(entry: &HistoryEntry, lang: Lang) -> Self {
        let alert = &entry.alert;
        AlertRow {
            id: entry.id,
            read: entry.read,
            title: crate::text::alert_title(lang, alert),
            alert: AlertShown {
                severity: alert.severity,
                body: alert.body.clone(),
                channel: alert.channel.clone(),
                received: alert.received.to_rfc3339(),
            },
        }
    }
}

/// Alerts newest first, filtered by a search text.
pub fn list_alerts(agent: &dyn Shell, query: Option<String>) -> Vec<AlertRow> {
    let lang = crate::tray::current_lang(agent);
    rows(&lock(&agent.state().history), query.as_deref().unwrap_or(""), lang)
}

fn rows(history: &AlertHistory, query: &str, lang: Lang) -> Vec<AlertRow> {
    history.search(query, Severity::NotClassified).into_iter().map(|entry| AlertRow::of(entry, lang)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use kompira_core::watch::{read_message, Decision};
    use serde_json::json;

    #[test]
    fn the_list_carries_what_the_view_shows_and_not_the_fields() {
        let mut history = AlertHistory::default();
        let message = json!({"trigger_name": "Disk full", "hostname": "web1", "severity": 4,
                             "detail": "free 2%", "big": "x".repeat(250)});
        history.push(read_message("/system/channels/Alert", &message, chrono::Utc::now()), Decision::Show);
        let listed = serde_json::to_value(rows(&history, "", Lang::En)).unwrap();
        let row = listed[0].as_object().unwrap();
        let sorted = |map: &serde_json::Map<String, serde_json::Value>| {
            let mut keys: Vec<String> = map.keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(sorted(row), ["alert", "id", "read", "title"]);
        let alert = row["alert"].as_object().unwrap();
        assert_eq!(sorted(alert), ["body", "channel", "received", "severity"]);
        assert_eq!(row["title"], json!("High: Disk full on web1"));
        assert!(!listed.to_string().contains("\"fields\""), "{listed}");
    }
}
