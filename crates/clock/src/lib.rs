//! Time as shoprelay reads it and waits for it: one [`Clock`] handed to everything that needs the time,
//! so a test moves time forward in a call instead of waiting for it to pass.
//!
//! # Layout
//! - [`Clock`]: what a time source answers (now, in unix milliseconds) and how to wait for a time.
//! - [`SystemClock`]: the host's clock, for production.
//! - [`ManualClock`]: a clock that moves only when told to; advancing it wakes whoever waits on it. Tests
//!   hand the same one to the engine and to the simulators, so both see the same minute pass.
//!
//! A leaf crate of its own (only tokio below it): the simulators share the abstraction without depending
//! on the engine, and core stays free of async.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Completes once a clock has reached the time it was made for.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The clock every component of one process shares.
pub type SharedClock = Arc<dyn Clock>;

/// A source of the current time that can also wait for a time to come.
pub trait Clock: Debug + Send + Sync {
    /// Unix milliseconds now.
    fn now_ms(&self) -> i64;

    /// Completes once [`Clock::now_ms`] has reached `at_ms` (at once if it already has).
    fn sleep_until(&self, at_ms: i64) -> Sleep;

    /// Unix seconds now.
    fn now_secs(&self) -> i64 {
        self.now_ms().div_euclid(1_000)
    }

    /// Completes once `duration` has passed by this clock.
    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleep_until(self.now_ms().saturating_add(millis(duration)))
    }
}

/// The host's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The host's clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(Self)
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => millis(since),
            // A host clock set before 1970: negative, as the time it claims to be.
            Err(before) => -millis(before.duration()),
        }
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let wait = u64::try_from(at_ms.saturating_sub(self.now_ms())).unwrap_or(0);
        Box::pin(tokio::time::sleep(Duration::from_millis(wait)))
    }
}

/// A clock that stands still until [`ManualClock::advance`] moves it; clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<i64>>,
}

impl ManualClock {
    /// A clock standing at `start_ms` (unix milliseconds).
    pub fn new(start_ms: i64) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start_ms)),
        }
    }

    /// A clock standing at the host's time now, so times it gives look like real ones to peers that
    /// still read the host clock (signature timestamps, say).
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now_ms())
    }

    /// Moves the clock forward by `by` and wakes whoever waits for a time it has now reached.
    pub fn advance(&self, by: Duration) {
        let by = millis(by);
        self.now.send_modify(|now| *now = now.saturating_add(by));
    }

    /// This clock as a [`SharedClock`] (sharing its time with every clone).
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at_ms: i64) -> Sleep {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            if now.wait_for(|now| *now >= at_ms).await.is_err() {
                // Every handle to the clock is gone: its time can never reach `at_ms`.
                std::future::pending::<()>().await;
            }
        })
    }
}

/// A duration in whole milliseconds, saturating far beyond any time shoprelay waits.
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_advanced_and_wakes_its_sleepers() {
        let clock = ManualClock::new(1_000);
        let shared = clock.shared();
        let mut sleeper = tokio::spawn(shared.sleep(Duration::from_secs(60)));
        tokio::task::yield_now().await;
        assert_eq!(shared.now_ms(), 1_000);
        clock.advance(Duration::from_secs(59));
        let early = tokio::time::timeout(Duration::from_millis(50), &mut sleeper).await;
        assert!(early.is_err(), "woke a second early");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken once the minute passed")
            .unwrap();
        assert_eq!(shared.now_ms(), 61_000);
        assert_eq!(shared.now_secs(), 61);
    }

    #[tokio::test]
    async fn a_time_already_reached_needs_no_waiting() {
        let clock = ManualClock::new(5_000);
        tokio::time::timeout(Duration::from_secs(5), clock.sleep_until(4_000))
            .await
            .expect("the past is due at once");
    }

    #[tokio::test]
    async fn a_dropped_clock_never_wakes_its_sleepers() {
        let clock = ManualClock::new(0);
        let sleep = clock.sleep_until(1);
        drop(clock);
        assert!(tokio::time::timeout(Duration::from_millis(50), sleep).await.is_err());
    }

    #[test]
    fn seconds_round_down_before_the_epoch_too() {
        assert_eq!(ManualClock::new(-1).now_secs(), -1);
        assert_eq!(ManualClock::new(1_999).now_secs(), 1);
    }

    #[test]
    fn the_system_clock_reads_the_host() {
        let host = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((SystemClock.now_ms() - host).abs() < 5_000);
    }
}
