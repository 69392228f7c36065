//! Capped exponential backoff with jitter, so that many desktops reconnecting to a server that
//! just came back do not all knock at the same second.

use std::time::Duration;

/// Backoff settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// First pause.
    pub initial: Duration,
    /// Longest pause (before jitter).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { initial: Duration::from_secs(1), cap: Duration::from_secs(60) }
    }
}

/// Up to this fraction of a pause is added or taken away at random.
const JITTER_FRACTION: f64 = 0.2;

impl Backoff {
    /// The pause before attempt `attempt` (1 = first retry): initial × 2^(attempt−1), capped,
    /// then ±20 % jitter.
    pub fn pause(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exponent).min(self.cap);
        let jitter = 1.0 + JITTER_FRACTION * (fastrand::f64() * 2.0 - 1.0);
        base.mul_f64(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_cap_with_bounded_jitter() {
        let backoff = Backoff::default();
        for (attempt, nominal) in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (40, 60.0)] {
            for _ in 0..50 {
                let pause = backoff.pause(attempt).as_secs_f64();
                assert!(pause >= nominal * 0.8 - 1e-9 && pause <= nominal * 1.2 + 1e-9, "{attempt}: {pause}");
            }
        }
    }

    #[test]
    fn jitter_spreads_the_pauses() {
        let backoff = Backoff::default();
        let pauses: std::collections::HashSet<_> = (0..20).map(|_| backoff.pause(3)).collect();
        assert!(pauses.len() > 10);
    }
}
