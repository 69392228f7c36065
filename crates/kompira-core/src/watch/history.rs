//! The alert history behind the app's Alerts view and the tray's unread count: newest first,
//! bounded, with read state, search and clear. Quiet alerts (paused, quiet hours) are kept too,
//! so nothing the watcher took off a channel is ever out of sight.

use std::collections::VecDeque;

use serde::Serialize;

use super::policy::Decision;
use super::reading::{Notification, Severity};

/// Alerts kept before the oldest are forgotten.
pub const HISTORY_CAPACITY: usize = 1000;
/// Bytes of alerts kept before the oldest are forgotten: 1000 ordinary alerts fit many times
/// over, while a channel of maximal alerts (each cut to about 100 KB when read) keeps the agent
/// to tens of megabytes, not gigabytes.
pub const HISTORY_MAX_BYTES: usize = 16 << 20;

/// One remembered alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Stable id within this history (for "open", "mark read", "run remedy").
    pub id: u64,
    /// The alert.
    pub alert: Notification,
    /// Whether it popped up or was kept quiet.
    pub decision: Decision,
    /// Seen by the user.
    pub read: bool,
}

/// Newest-first alert history.
#[derive(Debug)]
pub struct AlertHistory {
    entries: VecDeque<HistoryEntry>,
    capacity: usize,
    max_bytes: usize,
    bytes: usize,
    next_id: u64,
}

impl Default for AlertHistory {
    fn default() -> Self {
        Self::with_capacity(HISTORY_CAPACITY)
    }
}

impl AlertHistory {
    /// A history keeping at most `capacity` alerts and [`HISTORY_MAX_BYTES`].
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_limits(capacity, HISTORY_MAX_BYTES)
    }

    /// A history keeping at most `capacity` alerts of at most `max_bytes` in all (the newest
    /// alert is always kept).
    pub fn with_limits(capacity: usize, max_bytes: usize) -> Self {
        Self { entries: VecDeque::new(), capacity: capacity.max(1), max_bytes, bytes: 0, next_id: 1 }
    }

    /// Records an alert as unread; returns its id.
    pub fn push(&mut self, alert: Notification, decision: Decision) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.bytes += alert.approx_bytes();
        self.entries.push_front(HistoryEntry { id, alert, decision, read: false });
        while self.entries.len() > self.capacity || (self.bytes > self.max_bytes && self.entries.len() > 1) {
            let Some(oldest) = self.entries.pop_back() else { break };
            self.bytes -= oldest.alert.approx_bytes();
        }
        id
    }

    /// About how many bytes the kept alerts hold.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }

    /// Alerts not yet seen.
    pub fn unread_count(&self) -> usize {
        self.entries.iter().filter(|e| !e.read).count()
    }

    /// The highest severity among unread alerts, for the tray icon.
    pub fn worst_unread(&self) -> Option<Severity> {
        self.entries.iter().filter(|e| !e.read).map(|e| e.alert.severity).max()
    }

    /// Marks one alert read; false when no such id is kept.
    pub fn mark_read(&mut self, id: u64) -> bool {
        match self.entries.iter_mut().find(|e| e.id == id) {
            Some(entry) => {
                entry.read = true;
                true
            }
            None => false,
        }
    }

    /// Marks everything read.
    pub fn mark_all_read(&mut self) {
        self.entries.iter_mut().for_each(|e| e.read = true);
    }

    /// One alert by id.
    pub fn get(&self, id: u64) -> Option<&HistoryEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Newest first, filtered: every word of `query` must appear (any case) in the subject, host, body,
    /// channel or a field; `min_severity` drops milder alerts.
    pub fn search(&self, query: &str, min_severity: Severity) -> Vec<&HistoryEntry> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        self.entries
            .iter()
            .filter(|e| e.alert.severity >= min_severity)
            .filter(|e| {
                let haystack = searchable_text(&e.alert);
                words.iter().all(|w| haystack.contains(w.as_str()))
            })
            .collect()
    }

    /// Forgets everything (ids keep counting, so old ids never point at new alerts).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// How many alerts are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none are kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

fn searchable_text(alert: &Notification) -> String {
    let [subject, host] = [&alert.subject, &alert.host].map(|part| part.as_deref().unwrap_or(""));
    let mut text = format!("{subject}\n{host}\n{}\n{}", alert.body, alert.channel);
    for (key, value) in &alert.fields {
        text.push('\n');
        text.push_str(key);
        text.push(' ');
        text.push_str(value);
    }
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::{read_message, QuietReason};
    use serde_json::json;

    fn alert(message: serde_json::Value) -> Notification {
        read_message("/system/channels/Alert", &message, chrono::Utc::now())
    }

    #[test]
    fn newest_first_with_unread_count_and_worst_severity() {
        let mut history = AlertHistory::default();
        let a = history.push(alert(json!({"severity": 2, "trigger_name": "CPU"})), Decision::Show);
        let b = history.push(alert(json!({"severity": 5, "trigger_name": "Down"})), Decision::Show);
        assert_eq!(history.search("", Severity::NotClassified).iter().map(|e| e.id).collect::<Vec<_>>(), [b, a]);
        assert_eq!(history.unread_count(), 2);
        assert_eq!(history.worst_unread(), Some(Severity::Disaster));
        assert!(history.mark_read(b));
        assert_eq!(history.worst_unread(), Some(Severity::Warning));
        assert!(!history.mark_read(999));
        history.mark_all_read();
        assert_eq!((history.unread_count(), history.worst_unread()), (0, None));
    }

    #[test]
    fn search_matches_every_word_in_any_case_across_fields() {
        let mut history = AlertHistory::default();
        history.push(alert(json!({"hostname": "web1", "trigger_name": "Disk full", "severity": 4})), Decision::Show);
        history.push(alert(json!({"hostname": "db1", "trigger_name": "Disk full", "severity": 1})), Decision::Show);
        history.push(alert(json!("backup finished")), Decision::Quiet(QuietReason::Paused));
        assert_eq!(history.search("disk WEB1", Severity::NotClassified).len(), 1);
        assert_eq!(history.search("disk", Severity::NotClassified).len(), 2);
        assert_eq!(history.search("disk", Severity::Warning).len(), 1);
        assert_eq!(history.search("backup", Severity::NotClassified)[0].decision, Decision::Quiet(QuietReason::Paused));
        assert!(history.search("nothing-like-this", Severity::NotClassified).is_empty());
    }

    #[test]
    fn a_channel_of_huge_alerts_keeps_the_history_within_its_byte_budget() {
        // Far beyond every cap: 2,000 fields of 5 KB and a 1 MB detail (about 11 MB a message).
        let mut message = serde_json::Map::new();
        message.insert("detail".into(), json!("d".repeat(1 << 20)));
        for n in 0..2_000 {
            message.insert(format!("field_{n}"), json!("v".repeat(5_000)));
        }
        let huge = alert(serde_json::Value::Object(message));
        assert!(huge.approx_bytes() < 100_000, "one alert holds {} bytes", huge.approx_bytes());
        assert_eq!(huge.fields.len(), 64);
        assert_eq!(huge.fields_left_out, 2_001 - 64);
        assert_eq!(huge.cut_fields.len(), 64, "every kept value was cut, and each is named");

        let mut history = AlertHistory::with_limits(1000, 1 << 20);
        for _ in 0..1000 {
            history.push(huge.clone(), Decision::Show);
        }
        assert!(history.approx_bytes() <= 1 << 20, "{} bytes kept", history.approx_bytes());
        assert!(history.len() < 1000 && history.len() > 1, "{} kept", history.len());
        assert_eq!(history.search("", Severity::NotClassified)[0].id, 1000, "the newest is kept");
        history.clear();
        assert_eq!(history.approx_bytes(), 0);
    }

    #[test]
    fn the_oldest_are_forgotten_past_capacity_and_clear_keeps_ids_fresh() {
        let mut history = AlertHistory::with_capacity(2);
        let first = history.push(alert(json!({"n": 1})), Decision::Show);
        history.push(alert(json!({"n": 2})), Decision::Show);
        history.push(alert(json!({"n": 3})), Decision::Show);
        assert_eq!(history.len(), 2);
        assert!(history.get(first).is_none());
        history.clear();
        assert!(history.is_empty());
        let after = history.push(alert(json!({"n": 4})), Decision::Show);
        assert!(after > first + 2, "ids are never reused");
    }
}
