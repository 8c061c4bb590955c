//! Sliding-window counters for WeCom's per-member and per-robot limits.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// WeCom's minute, in milliseconds.
const MINUTE_MS: i64 = 60_000;

/// At most `max` events within any `span_ms` milliseconds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub(crate) span_ms: i64,
    pub(crate) max: u32,
}

impl Window {
    /// At most `max` per minute.
    pub(crate) fn per_minute(max: u32) -> Self {
        Self {
            span_ms: MINUTE_MS,
            max,
        }
    }

    /// At most `max` per hour.
    pub(crate) fn per_hour(max: u32) -> Self {
        Self {
            span_ms: 60 * MINUTE_MS,
            max,
        }
    }
}

/// When each key's recent events happened (Unix milliseconds).
#[derive(Debug)]
pub(crate) struct RateLog<K> {
    hits: HashMap<K, VecDeque<i64>>,
}

impl<K> Default for RateLog<K> {
    fn default() -> Self {
        Self { hits: HashMap::new() }
    }
}

impl<K: Hash + Eq> RateLog<K> {
    /// Records an event for `key` if every window still has room; false (nothing recorded) if not.
    pub(crate) fn try_acquire(&mut self, key: K, now: i64, windows: &[Window]) -> bool {
        let longest = windows.iter().map(|w| w.span_ms).max().unwrap_or_default();
        let hits = self.hits.entry(key).or_default();
        while hits.front().is_some_and(|&t| now - t >= longest) {
            hits.pop_front();
        }
        let full = windows.iter().any(|w| {
            let recent = hits.iter().rev().take_while(|&&t| now - t < w.span_ms).count();
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
        [Window::per_minute(30), Window::per_hour(1000)]
    }

    #[test]
    fn thirty_per_minute_then_room_again_after_the_minute() {
        let mut log = RateLog::default();
        let t0 = 1_700_000_000_000;
        for _ in 0..30 {
            assert!(log.try_acquire("u", t0, &member_windows()));
        }
        assert!(!log.try_acquire("u", t0 + 59_999, &member_windows()));
        assert!(log.try_acquire("other", t0, &member_windows()));
        assert!(log.try_acquire("u", t0 + 60_000, &member_windows()));
    }

    #[test]
    fn a_thousand_per_hour_even_when_each_minute_is_within_limits() {
        let mut log = RateLog::default();
        let t0 = 1_700_000_000_000;
        let mut accepted = 0;
        for minute in 0..40 {
            for _ in 0..30 {
                if log.try_acquire("u", t0 + minute * 60_000, &member_windows()) {
                    accepted += 1;
                }
            }
        }
        assert_eq!(accepted, 1000);
        // The first minute's messages leave the hour window at t0 + 3600 s.
        assert!(log.try_acquire("u", t0 + 3_600_000, &member_windows()));
    }
}
