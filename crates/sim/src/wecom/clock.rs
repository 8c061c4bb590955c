//! The simulator's clock: the clock it was started with, plus an offset tests and the demo can advance.
//!
//! Started with a test's manual clock (the one the engine under test reads too), the simulator sees the
//! same minutes pass as the engine; the offset moves the simulator alone, e.g. to expire its tokens.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use shoprelay_clock::SharedClock;

/// A clock with a manual offset on top.
#[derive(Debug)]
pub(crate) struct SimClock {
    base: SharedClock,
    offset_ms: AtomicI64,
}

impl SimClock {
    pub(crate) fn new(base: SharedClock) -> Self {
        Self {
            base,
            offset_ms: AtomicI64::new(0),
        }
    }

    /// Now as Unix milliseconds: for rate windows, token expiry and the times messages are shown with.
    pub(crate) fn now_ms(&self) -> i64 {
        self.base
            .now()
            .as_millis()
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Now as Unix milliseconds, for what the simulator reports (never negative).
    pub(crate) fn unix_ms(&self) -> u64 {
        u64::try_from(self.now_ms()).unwrap_or(0)
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use shoprelay_clock::{Clock, ManualClock, UnixMs};

    use super::*;

    #[test]
    fn the_offset_adds_to_the_clock_it_was_given() {
        let base = ManualClock::new(UnixMs::from_millis(1_000));
        let clock = SimClock::new(base.shared());
        clock.advance(Duration::from_secs(61));
        assert_eq!(clock.now_ms(), 62_000);
        base.advance(Duration::from_secs(1));
        assert_eq!(clock.now_ms(), 63_000);
        assert_eq!(clock.unix_ms(), 63_000);
        assert_eq!(base.now().as_millis(), 2_000, "the offset is the simulator's alone");
    }
}
