//! The simulator's clock: tokio's clock plus an offset tests and the demo can advance.
//!
//! Built on `tokio::time::Instant`, so `tokio::time::pause()` works too; the offset lets tests
//! that talk to the simulator over real sockets jump a rate window without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// A monotonic clock with a manual offset, plus the wall time it corresponds to.
#[derive(Debug, Clone)]
pub(crate) struct SimClock {
    started: Instant,
    started_unix_ms: u64,
    offset_ms: Arc<AtomicU64>,
}

impl SimClock {
    pub(crate) fn new() -> Self {
        let started_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            started: Instant::now(),
            started_unix_ms,
            offset_ms: Arc::default(),
        }
    }

    /// Now, for rate windows and token expiry.
    pub(crate) fn now(&self) -> Instant {
        Instant::now() + self.offset()
    }

    /// Now as Unix milliseconds, consistent with [`SimClock::now`].
    pub(crate) fn unix_ms(&self) -> u64 {
        let elapsed = self.now().duration_since(self.started);
        self.started_unix_ms
            .saturating_add(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    /// Moves the clock forward.
    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }

    fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advancing_moves_both_clocks() {
        let clock = SimClock::new();
        let (before, before_ms) = (clock.now(), clock.unix_ms());
        clock.advance(Duration::from_secs(61));
        assert!(clock.now().duration_since(before) >= Duration::from_secs(61));
        assert!(clock.unix_ms() - before_ms >= 61_000);
    }
}
