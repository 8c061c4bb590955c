//! Time as shoprelay reads it and waits for it: one [`Clock`] handed to everything that needs the time,
//! so a test moves time forward in a call instead of waiting for it to pass.
//!
//! # Layout
//! - [`UnixMs`] (`unix_ms`): an instant in unix milliseconds, the one unit instants are kept in; [`unix_secs`]
//!   for a field whose JSON stays in whole seconds.
//! - [`Clock`]: what a time source answers (now, as a [`UnixMs`]) and how to wait for a time.
//! - [`SystemClock`]: the host's clock, for production.
//! - [`ManualClock`]: a clock that moves only when told to; advancing it wakes whoever waits on it. Tests
//!   hand the same one to the engine and to the simulators, so both see the same minute pass.
//!
//! A leaf crate of its own (only tokio and serde below it): the simulators share the abstraction without
//! depending on the engine, and core takes its instant type from here.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

mod unix_ms;

pub use unix_ms::{unix_secs, UnixMs};

/// Completes once a clock has reached the time it was made for.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The clock every component of one process shares.
pub type SharedClock = Arc<dyn Clock>;

/// A source of the current time that can also wait for a time to come.
pub trait Clock: Debug + Send + Sync {
    /// The instant now.
    fn now(&self) -> UnixMs;

    /// Completes once [`Clock::now`] has reached `at` (at once if it already has).
    fn sleep_until(&self, at: UnixMs) -> Sleep;

    /// Completes once `duration` has passed by this clock.
    fn sleep(&self, duration: Duration) -> Sleep {
        self.sleep_until(self.now() + duration)
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
    fn now(&self) -> UnixMs {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => UnixMs::EPOCH + since,
            // A host clock set before 1970: negative, as the time it claims to be.
            Err(before) => UnixMs::EPOCH - before.duration(),
        }
    }

    fn sleep_until(&self, at: UnixMs) -> Sleep {
        Box::pin(tokio::time::sleep(at.saturating_duration_since(self.now())))
    }
}

/// A clock that stands still until [`ManualClock::advance`] moves it; clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<UnixMs>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: UnixMs) -> Self {
        Self {
            now: Arc::new(watch::Sender::new(start)),
        }
    }

    /// A clock standing at the host's time now, so times it gives look like real ones to peers that
    /// still read the host clock (signature timestamps, say).
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward by `by` and wakes whoever waits for a time it has now reached.
    pub fn advance(&self, by: Duration) {
        self.now.send_modify(|now| *now = *now + by);
    }

    /// This clock as a [`SharedClock`] (sharing its time with every clone).
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixMs {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: UnixMs) -> Sleep {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            if now.wait_for(|now| *now >= at).await.is_err() {
                // Every handle to the clock is gone: its time can never reach `at`.
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_advanced_and_wakes_its_sleepers() {
        let clock = ManualClock::new(UnixMs::from_millis(1_000));
        let shared = clock.shared();
        let mut sleeper = tokio::spawn(shared.sleep(Duration::from_secs(60)));
        tokio::task::yield_now().await;
        assert_eq!(shared.now(), UnixMs::from_millis(1_000));
        clock.advance(Duration::from_secs(59));
        let early = tokio::time::timeout(Duration::from_millis(50), &mut sleeper).await;
        assert!(early.is_err(), "woke a second early");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("woken once the minute passed")
            .unwrap();
        assert_eq!(shared.now(), UnixMs::from_secs(61));
    }

    #[tokio::test]
    async fn a_time_already_reached_needs_no_waiting() {
        let clock = ManualClock::new(UnixMs::from_millis(5_000));
        tokio::time::timeout(Duration::from_secs(5), clock.sleep_until(UnixMs::from_millis(4_000)))
            .await
            .expect("the past is due at once");
    }

    #[tokio::test]
    async fn a_dropped_clock_never_wakes_its_sleepers() {
        let clock = ManualClock::new(UnixMs::EPOCH);
        let sleep = clock.sleep_until(UnixMs::from_millis(1));
        drop(clock);
        assert!(tokio::time::timeout(Duration::from_millis(50), sleep).await.is_err());
    }

    #[test]
    fn the_system_clock_reads_the_host() {
        let host = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
        assert!((SystemClock.now().as_millis() - host).abs() < 5_000);
    }
}
