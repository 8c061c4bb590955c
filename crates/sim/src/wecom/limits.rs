//! Sliding-window counters for WeCom's per-member and per-robot limits.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::Duration;

use tokio::time::Instant;

/// At most `max` events within any `span`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) span: Duration,
    pub(crate) max: u32,
}

impl Window {
    /// At most `max` per minute, a minute lasting `minute_ms`.
    pub(crate) fn per_minute(max: u32, minute_ms: u64) -> Self {
        Self {
            span: Duration::from_millis(minute_ms),
            max,
        }
    }

    /// At most `max` per hour of 60 such minutes.
    pub(crate) fn per_hour(max: u32, minute_ms: u64) -> Self {
        Self {
            span: Duration::from_millis(minute_ms.saturating_mul(60)),
            max,
        }
    }
}

/// When each key's recent events happened.
#[derive(Debug)]
pub(crate) struct RateLog<K> {
    hits: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for RateLog<K> {
    fn default() -> Self {
        Self { hits: HashMap::new() }
    }
}

impl<K: Hash + Eq> RateLog<K> {
    /// Records an event for `key` if every window still has room; false (nothing recorded) if not.
    pub(crate) fn try_acquire(&mut self, key: K, now: Instant, windows: &[Window]) -> bool {
        let longest = windows.iter().map(|w| w.span).max().unwrap_or_default();
        let hits = self.hits.entry(key).or_default();
        while hits.front().is_some_and(|&t| now.duration_since(t) >= longest) {
            hits.pop_front();
        }
        let full = windows.iter().any(|w| {
            let recent = hits
                .iter()
                .rev()
                .take_while(|&&t| now.duration_since(t) < w.span)
                .count();
            recent >= w.max as usize
        });
        if !full {
            hits.push_back(now);
        }
        !full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member_windows() -> [Window; 2] {
        [Window::per_minute(30, 60_000), Window::per_hour(1000, 60_000)]
    }

    #[test]
    fn thirty_per_minute_then_room_again_after_the_minute() {
        let mut log = RateLog::default();
        let t0 = Instant::now();
        for _ in 0..30 {
            assert!(log.try_acquire("u", t0, &member_windows()));
        }
        assert!(!log.try_acquire("u", t0 + Duration::from_secs(59), &member_windows()));
        assert!(log.try_acquire("other", t0, &member_windows()));
        assert!(log.try_acquire("u", t0 + Duration::from_secs(60), &member_windows()));
    }

    #[test]
    fn a_thousand_per_hour_even_when_each_minute_is_within_limits() {
        let mut log = RateLog::default();
        let t0 = Instant::now();
        let mut accepted = 0;
        for minute in 0..40u64 {
            for _ in 0..30 {
                if log.try_acquire("u", t0 + Duration::from_secs(minute * 60), &member_windows()) {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 1000);
        // The first minute's messages leave the hour window at t0 + 3600 s.
        assert!(log.try_acquire("u", t0 + Duration::from_secs(3600), &member_windows()));
    }
}
