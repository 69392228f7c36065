//! When to pop up "connection lost" and "connection restored": on the change, not on every
//! retry, and not more often than a set gap, so a flapping network does not bury the desktop
//! in popups. Pure: the caller passes the time.

use std::time::{Duration, Instant};

/// The smallest gap between two connection popups that start a new lost/restored pair.
pub const CONNECTION_POPUP_GAP: Duration = Duration::from_secs(60);

/// What to tell the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    Lost,
    Restored,
}

/// Turns the watcher's connection states into popups.
///
/// - "Lost" only after the connection was up (a start-up failure shows in the tray and the
///   status line instead), and at most once per gap; a loss that falls inside the gap is told
///   at the next state change after the gap if the connection is still down.
/// - "Restored" only answers a "Lost" that was shown, so the last popup never claims the
///   connection is down when it is up; it is never held back.
/// - While `quiet` (popups paused) nothing pops up; a loss is still told when the pause ends and
///   the connection is still down.
#[derive(Debug)]
pub struct ConnectionNotices {
    gap: Duration,
    connected: bool,
    untold_loss: bool,
    told_lost: bool,
    last_popup: Option<Instant>,
}

impl ConnectionNotices {
    pub fn new(gap: Duration) -> Self {
        ConnectionNotices { gap, connected: false, untold_loss: false, told_lost: false, last_popup: None }
    }

    /// Takes the current state; returns the popup to show now, if any.
    pub fn observe(&mut self, connected: bool, quiet: bool, now: Instant) -> Option<Notice> {
        let was_connected = std::mem::replace(&mut self.connected, connected);
        if connected {
            self.untold_loss = false;
            if !std::mem::take(&mut self.told_lost) || quiet {
                return None;
            }
            self.last_popup = Some(now);
            return Some(Notice::Restored);
        }
        if was_connected {
            self.untold_loss = true;
        }
        let gap_passed = self.last_popup.is_none_or(|last| now.duration_since(last) >= self.gap);
        if !self.untold_loss || quiet || !gap_passed {
            return None;
        }
        self.untold_loss = false;
        self.told_lost = true;
        self.last_popup = Some(now);
        Some(Notice::Lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UP: bool = true;
    const DOWN: bool = false;

    /// Feeds `(seconds since start, connected)` states; returns the popups with their times.
    fn popups(states: &[(u64, bool)], quiet_until: u64) -> Vec<(u64, Notice)> {
        let start = Instant::now();
        let mut notices = ConnectionNotices::new(CONNECTION_POPUP_GAP);
        states
            .iter()
            .filter_map(|&(at, connected)| {
                let notice = notices.observe(connected, at < quiet_until, start + Duration::from_secs(at));
                notice.map(|n| (at, n))
            })
            .collect()
    }

    #[test]
    fn a_start_that_never_connects_pops_nothing() {
        assert_eq!(popups(&[(0, DOWN), (5, DOWN), (100, DOWN)], 0), vec![]);
    }

    #[test]
    fn a_loss_and_its_return_pop_once_each_not_on_every_retry() {
        let states = [(0, UP), (10, DOWN), (11, DOWN), (13, DOWN), (20, UP), (21, UP)];
        assert_eq!(popups(&states, 0), vec![(10, Notice::Lost), (20, Notice::Restored)]);
    }

    #[test]
    fn a_flapping_connection_pops_one_pair_per_gap() {
        let states = [(0, UP), (10, DOWN), (12, UP), (20, DOWN), (22, UP), (30, DOWN), (31, UP), (80, DOWN), (81, UP)];
        assert_eq!(
            popups(&states, 0),
            vec![(10, Notice::Lost), (12, Notice::Restored), (80, Notice::Lost), (81, Notice::Restored)]
        );
    }

    #[test]
    fn a_loss_inside_the_gap_is_told_later_if_it_lasts() {
        // Down again 8 s after "restored": held back, then told at the first retry after the gap.
        let states = [(0, UP), (10, DOWN), (12, UP), (20, DOWN), (40, DOWN), (75, DOWN), (90, UP)];
        assert_eq!(
            popups(&states, 0),
            vec![(10, Notice::Lost), (12, Notice::Restored), (75, Notice::Lost), (90, Notice::Restored)]
        );
    }

    #[test]
    fn nothing_pops_while_paused_and_a_lasting_loss_is_told_after() {
        assert_eq!(popups(&[(0, UP), (10, DOWN), (20, DOWN), (30, UP)], 100), vec![]);
        assert_eq!(popups(&[(0, UP), (10, DOWN), (50, DOWN), (70, DOWN)], 60), vec![(70, Notice::Lost)]);
    }
}
