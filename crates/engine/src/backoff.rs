//! Retry schedules: exponential back-off with full jitter, so many failed deliveries do not retry in
//! lock-step against a destination that is just recovering.

use std::time::Duration;

use rand::Rng;

/// An exponential schedule: attempt n waits a random time in [base·2ⁿ⁻¹ / 2, base·2ⁿ⁻¹], capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry.
    pub base: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Attempts after which the work is given up (a dead letter).
    pub max_attempts: i64,
}

impl Backoff {
    /// The delay after `attempt` failed attempts (1-based), or `None` when the schedule is exhausted.
    pub fn delay(&self, attempt: i64) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let ceiling = self.base.saturating_mul(1u32 << exp).min(self.max);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX).max(1);
        Some(Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_ends() {
        let b = Backoff {
            base: Duration::from_secs(2),
            max: Duration::from_secs(60),
            max_attempts: 10,
        };
        for _ in 0..100 {
            let d1 = b.delay(1).unwrap();
            assert!(d1 >= Duration::from_secs(1) && d1 <= Duration::from_secs(2));
            let d4 = b.delay(4).unwrap();
            assert!(d4 >= Duration::from_secs(8) && d4 <= Duration::from_secs(16));
            assert!(b.delay(9).unwrap() <= Duration::from_secs(60));
        }
        assert_eq!(b.delay(10), None);
    }
}
