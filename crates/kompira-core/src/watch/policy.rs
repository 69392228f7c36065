//! Whether an alert pops up now: pause, quiet hours, a severity floor, and "critical still
//! gets through". Suppressed alerts are still handed to the sink (marked), so the history
//! keeps them: nothing is dropped, only kept quiet.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::NaiveTime;
use serde::Serialize;

use super::reading::{Notification, Severity};

/// The user's notification preferences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Alerts below this severity never pop up (resolutions always follow their problem's rule).
    pub min_severity: Severity,
    /// Local times between which alerts stay quiet; `start > end` wraps midnight (22:00–07:00).
    pub quiet_hours: Option<(NaiveTime, NaiveTime)>,
    /// Alerts at or above this severity pop up even when paused or in quiet hours.
    pub breakthrough: Option<Severity>,
}

impl Default for Policy {
    fn default() -> Self {
        Self { min_severity: Severity::NotClassified, quiet_hours: None, breakthrough: Some(Severity::Disaster) }
    }
}

/// What happened to an alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Decision {
    /// Show it now.
    Show,
    /// Keep it in the history without a popup, for this reason.
    Quiet(QuietReason),
}

/// Why an alert was kept quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum QuietReason {
    /// Notifications are paused.
    Paused,
    /// Inside quiet hours.
    QuietHours,
    /// Below the severity floor.
    BelowMinimum,
}

impl Policy {
    /// The decision for one alert at local time `now`, given whether the user paused.
    pub fn decide(&self, alert: &Notification, now: NaiveTime, paused: bool) -> Decision {
        if alert.severity < self.min_severity {
            return Decision::Quiet(QuietReason::BelowMinimum);
        }
        let breaks_through = self.breakthrough.is_some_and(|floor| alert.severity >= floor);
        if paused && !breaks_through {
            return Decision::Quiet(QuietReason::Paused);
        }
        if self.in_quiet_hours(now) && !breaks_through {
            return Decision::Quiet(QuietReason::QuietHours);
        }
        Decision::Show
    }

    fn in_quiet_hours(&self, now: NaiveTime) -> bool {
        match self.quiet_hours {
            None => false,
            Some((start, end)) if start <= end => start <= now && now < end,
            Some((start, end)) => now >= start || now < end,
        }
    }
}

/// Remembers recent alert keys so a repeated message pops up once per window.
#[derive(Debug)]
pub struct Deduplicator {
    window: Duration,
    capacity: usize,
    seen: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl Deduplicator {
    /// Keys are remembered for `window`, at most `capacity` of them.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self { window, capacity: capacity.max(1), seen: HashMap::new(), order: VecDeque::new() }
    }

    /// True the first time a key is seen within the window.
    pub fn first_sighting(&mut self, key: &str, now: Instant) -> bool {
        while let Some((at, old)) = self.order.front() {
            let expired = now.duration_since(*at) >= self.window;
            if !expired && self.order.len() < self.capacity {
                break;
            }
            if self.seen.get(old) == Some(at) {
                self.seen.remove(old);
            }
            self.order.pop_front();
        }
        if self.seen.contains_key(key) {
            return false;
        }
        self.seen.insert(key.to_owned(), now);
        self.order.push_back((now, key.to_owned()));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn alert(severity: Severity) -> Notification {
        Notification {
            key: "k".into(),
            subject: Some("t".into()),
            host: None,
            body: String::new(),
            severity,
            resolved: false,
            fields: Vec::new(),
            cut_fields: Vec::new(),
            fields_left_out: 0,
            channel: "/c".into(),
            received: Utc::now(),
        }
    }

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn quiet_hours_wrap_midnight_and_disasters_break_through() {
        let policy = Policy { quiet_hours: Some((at(22, 0), at(7, 0))), ..Policy::default() };
        let quiet = Decision::Quiet(QuietReason::QuietHours);
        assert_eq!(policy.decide(&alert(Severity::High), at(23, 30), false), quiet);
        assert_eq!(policy.decide(&alert(Severity::High), at(6, 59), false), quiet);
        assert_eq!(policy.decide(&alert(Severity::High), at(7, 0), false), Decision::Show);
        assert_eq!(policy.decide(&alert(Severity::Disaster), at(23, 30), false), Decision::Show);
    }

    #[test]
    fn daytime_quiet_hours_do_not_wrap() {
        let policy = Policy { quiet_hours: Some((at(12, 0), at(13, 0))), breakthrough: None, ..Policy::default() };
        assert_eq!(
            policy.decide(&alert(Severity::Disaster), at(12, 30), false),
            Decision::Quiet(QuietReason::QuietHours)
        );
        assert_eq!(policy.decide(&alert(Severity::Disaster), at(13, 30), false), Decision::Show);
    }

    #[test]
    fn pause_keeps_alerts_quiet_unless_they_break_through() {
        let policy = Policy { breakthrough: Some(Severity::High), ..Policy::default() };
        assert_eq!(policy.decide(&alert(Severity::Average), at(9, 0), true), Decision::Quiet(QuietReason::Paused));
        assert_eq!(policy.decide(&alert(Severity::High), at(9, 0), true), Decision::Show);
        let strict = Policy { breakthrough: None, ..Policy::default() };
        assert_eq!(strict.decide(&alert(Severity::Disaster), at(9, 0), true), Decision::Quiet(QuietReason::Paused));
    }

    #[test]
    fn the_severity_floor_applies_first() {
        let policy = Policy { min_severity: Severity::Warning, ..Policy::default() };
        assert_eq!(
            policy.decide(&alert(Severity::Information), at(9, 0), false),
            Decision::Quiet(QuietReason::BelowMinimum)
        );
        assert_eq!(policy.decide(&alert(Severity::Warning), at(9, 0), false), Decision::Show);
    }

    #[test]
    fn duplicates_are_suppressed_within_the_window_only() {
        let mut dedupe = Deduplicator::new(Duration::from_secs(60), 100);
        let t0 = Instant::now();
        assert!(dedupe.first_sighting("a", t0));
        assert!(!dedupe.first_sighting("a", t0 + Duration::from_secs(59)));
        assert!(dedupe.first_sighting("b", t0 + Duration::from_secs(1)));
        assert!(dedupe.first_sighting("a", t0 + Duration::from_secs(61)));
    }

    #[test]
    fn the_memory_is_bounded() {
        let mut dedupe = Deduplicator::new(Duration::from_secs(3600), 2);
        let t0 = Instant::now();
        assert!(dedupe.first_sighting("a", t0));
        assert!(dedupe.first_sighting("b", t0));
        assert!(dedupe.first_sighting("c", t0));
        assert!(dedupe.first_sighting("a", t0), "the oldest key was forgotten");
        assert!(dedupe.seen.len() <= 2);
    }
}
