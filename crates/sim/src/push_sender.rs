//! The push sender the Lazada and TikTok Shop simulators share: it keeps every push with its delivery
//! attempts, POSTs each to the callback URL with its signature, counts a 200 within the platform's time
//! as delivered, and retries a failed one on the platform's schedule, on the simulator's clock (a test
//! advancing its manual clock sees the retry happen).
//!
//! What differs by platform stays with the platform: the body, its signature, what a push is about
//! (`M`, flattened into the record) and which pushes the drop fault loses. Shopee's sender is not this
//! one: Shopee wants an empty 2xx body, keeps failed pushes for `get_lost_push_message`, retries only
//! when a test asks, and orders chat pushes through a lane of their own.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use shoprelay_clock::{SharedClock, UnixMs};
use tokio::sync::{watch, Notify};

/// Where a push stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Made, first attempt under way.
    Sending,
    /// An attempt got 200 in time.
    Delivered,
    /// Failed; the next retry is scheduled.
    Retrying,
    /// Failed every retry; the platform stops here.
    GaveUp,
    /// Lost on purpose by the drop fault: never sent, only reconciliation can find the change.
    Dropped,
    /// No callback URL was set.
    NoTarget,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// Unix milliseconds (simulator clock) it was made.
    pub at_ms: i64,
    /// HTTP status, when the receiver answered in time.
    pub status: Option<u16>,
    /// Real milliseconds until the answer or the failure.
    pub latency_ms: u64,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// One push, with every delivery attempt; `about` is the platform's own description of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRecord<M> {
    /// Sequence number, from 1.
    pub id: u64,
    /// What the push is about, in the platform's words (its type, the shop or seller, …).
    #[serde(flatten)]
    pub about: M,
    /// The raw body, exactly as signed.
    pub body: String,
    /// The `Authorization` header.
    pub authorization: String,
    /// Where it stands.
    pub state: PushState,
    /// Unix milliseconds (simulator clock) of the next retry, while retrying.
    pub next_attempt_at_ms: Option<i64>,
    /// Delivery attempts, oldest first.
    pub attempts: Vec<Attempt>,
}

/// When a failed push is tried again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrySchedule {
    /// The n-th retry comes the n-th offset (seconds) after the FIRST attempt (TikTok: 2 min, 30 min, 3 h,
    /// 12 h).
    AfterFirst(Vec<i64>),
    /// Each retry comes `interval_secs` after the attempt before it, `retries` times (Lazada: 30 min, 12).
    Every {
        /// Seconds between attempts.
        interval_secs: i64,
        /// Retries after the first attempt.
        retries: usize,
    },
}

impl RetrySchedule {
    /// When the next attempt comes after `made` attempts, the first at `first_ms` and the last at `now_ms`;
    /// `None` when the schedule is spent.
    fn next(&self, made: usize, first_ms: i64, now_ms: i64) -> Option<i64> {
        match self {
            // n attempts made, n-1 retries.
            Self::AfterFirst(offsets) => offsets.get(made.saturating_sub(1)).map(|after| first_ms + after * 1000),
            // The first attempt is not a retry: 12 retries make 13 attempts.
            Self::Every { interval_secs, retries } => (made <= *retries).then(|| now_ms + interval_secs * 1000),
        }
    }
}

/// How a platform's receiver must answer, and when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderConfig {
    /// Milliseconds a receiver has to answer with 200.
    pub ack_timeout_ms: u64,
    /// When a failed push is tried again.
    pub retries: RetrySchedule,
    /// The callback URL at start.
    pub url: Option<String>,
}

struct Outbox<M> {
    url: Option<String>,
    pushes: Vec<PushRecord<M>>,
}

/// Every push of one simulator, the callback URL, and the retry scheduler's wake-ups.
pub struct PushSender<M> {
    config: SenderConfig,
    http: reqwest::Client,
    clock: SharedClock,
    outbox: Mutex<Outbox<M>>,
    /// Wakes the retry scheduler when a push is scheduled for a retry.
    retry_wake: Notify,
    /// Counts delivery attempts, so a test can wait for one instead of sleeping.
    attempts: watch::Sender<u64>,
}

impl<M: Clone + Send + 'static> PushSender<M> {
    /// A sender with no push yet, on the simulator's clock.
    pub fn new(config: SenderConfig, clock: SharedClock) -> Self {
        let outbox = Outbox {
            url: config.url.clone(),
            pushes: Vec::new(),
        };
        Self {
            config,
            http: reqwest::Client::new(),
            clock,
            outbox: Mutex::new(outbox),
            retry_wake: Notify::new(),
            attempts: watch::Sender::new(0),
        }
    }

    fn outbox(&self) -> MutexGuard<'_, Outbox<M>> {
        // Only whole records are ever written, so a poisoned outbox is still a valid one.
        self.outbox.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets (or clears) the callback URL.
    pub fn set_target(&self, url: Option<String>) {
        self.outbox().url = url;
    }

    /// The id the next push gets (the platforms number their notification ids with it).
    pub fn next_id(&self) -> u64 {
        self.outbox().pushes.len() as u64 + 1
    }

    /// Records a push (`about`, the signed `body` and its `authorization`) and makes its first attempt,
    /// unless `dropped` (the drop fault lost it) or no callback URL is set.
    pub async fn send(&self, about: M, body: String, authorization: String, dropped: bool) -> PushRecord<M> {
        let (made, send) = {
            let mut outbox = self.outbox();
            let id = outbox.pushes.len() as u64 + 1;
            let state = if dropped {
                PushState::Dropped
            } else if outbox.url.is_none() {
                PushState::NoTarget
            } else {
                PushState::Sending
            };
            let made = PushRecord {
                id,
                about,
                body,
                authorization,
                state,
                next_attempt_at_ms: None,
                attempts: Vec::new(),
            };
            outbox.pushes.push(made.clone());
            (made, state == PushState::Sending)
        };
        if send {
            self.attempt(made.id).await;
        }
        // Records are never removed, so the push is there; as made, should that ever change.
        self.record(made.id).unwrap_or(made)
    }

    /// A copy of one push.
    pub fn record(&self, id: u64) -> Option<PushRecord<M>> {
        self.outbox().pushes.get(index(id)).cloned()
    }

    /// Every push so far, with its attempts.
    pub fn records(&self) -> Vec<PushRecord<M>> {
        self.outbox().pushes.clone()
    }

    /// When the earliest scheduled retry is due.
    fn next_retry_at(&self) -> Option<i64> {
        self.outbox().pushes.iter().filter_map(|p| p.next_attempt_at_ms).min()
    }

    /// Makes every retry that is due. Each is claimed under the lock, so none runs twice.
    async fn retry_due(&self) {
        let now = self.clock.now().as_millis();
        let due: Vec<u64> = self
            .outbox()
            .pushes
            .iter_mut()
            .filter(|p| p.next_attempt_at_ms.is_some_and(|at| at <= now))
            .map(|p| {
                p.next_attempt_at_ms = None;
                p.id
            })
            .collect();
        for id in due {
            self.attempt(id).await;
        }
    }

    /// One delivery attempt; schedules the next retry when it fails and the schedule has one left.
    async fn attempt(&self, id: u64) {
        let Some(push) = self.record(id) else {
            return;
        };
        let url = self.outbox().url.clone();
        let at_ms = self.clock.now().as_millis();
        let started = Instant::now();
        let timeout_ms = self.config.ack_timeout_ms;
        let (status, error) = match url {
            // The URL was cleared while the push waited for a retry: the retry fails like an unreachable one.
            None => (None, Some("no callback URL".to_owned())),
            Some(url) => {
                let sent = self
                    .http
                    .post(&url)
                    .header(reqwest::header::AUTHORIZATION, &push.authorization)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(push.body)
                    .timeout(Duration::from_millis(timeout_ms))
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().as_u16() == 200 => (Some(200), None),
                    Ok(answer) => (
                        Some(answer.status().as_u16()),
                        Some(format!("HTTP {}", answer.status())),
                    ),
                    Err(e) if e.is_timeout() => (None, Some(format!("no answer within {timeout_ms} ms"))),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let failed = error.is_some();
        let mut scheduled = false;
        {
            let mut outbox = self.outbox();
            if let Some(record) = outbox.pushes.get_mut(index(id)) {
                record.attempts.push(Attempt {
                    at_ms,
                    status,
                    latency_ms,
                    error,
                });
                let first = record.attempts.first().map_or(at_ms, |a| a.at_ms);
                let next = self
                    .config
                    .retries
                    .next(record.attempts.len(), first, self.clock.now().as_millis());
                (record.state, record.next_attempt_at_ms) = match (failed, next) {
                    (false, _) => (PushState::Delivered, None),
                    (true, Some(next)) => {
                        scheduled = true;
                        (PushState::Retrying, Some(next))
                    }
                    (true, None) => (PushState::GaveUp, None),
                };
            }
        }
        if scheduled {
            self.retry_wake.notify_one();
        }
        self.attempts.send_modify(|n| *n += 1);
    }

    /// Waits (without a timeout of its own) until push `id` has had `count` attempts, and returns it.
    pub async fn wait_for_attempts(&self, id: u64, count: usize) -> Option<PushRecord<M>> {
        let mut attempts = self.attempts.subscribe();
        loop {
            let push = self.record(id)?;
            if push.attempts.len() >= count {
                return Some(push);
            }
            attempts.changed().await.ok()?;
        }
    }

    /// The retry scheduler: sleeps on the simulator's clock until the next retry is due, wakes early when
    /// a new one is scheduled. Runs until its task is aborted (the simulator is dropped).
    pub async fn run_retries(&self) {
        loop {
            match self.next_retry_at() {
                Some(at) if at <= self.clock.now().as_millis() => self.retry_due().await,
                Some(at) => {
                    // A wake-up stored by notify_one before this wait still counts, so none is lost.
                    tokio::select! {
                        () = self.clock.sleep_until(UnixMs::from_millis(at)) => {}
                        () = self.retry_wake.notified() => {}
                    }
                }
                None => self.retry_wake.notified().await,
            }
        }
    }
}

/// Push ids start at 1 and are positions in the record list plus one.
fn index(id: u64) -> usize {
    usize::try_from(id.saturating_sub(1)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_come_after_the_first_attempt_or_after_the_last() {
        let tiktok = RetrySchedule::AfterFirst(vec![120, 1800]);
        assert_eq!(tiktok.next(1, 1_000, 5_000), Some(121_000));
        assert_eq!(tiktok.next(2, 1_000, 200_000), Some(1_801_000));
        assert_eq!(tiktok.next(3, 1_000, 2_000_000), None);
        let lazada = RetrySchedule::Every {
            interval_secs: 1800,
            retries: 2,
        };
        assert_eq!(lazada.next(1, 0, 10), Some(1_800_010));
        assert_eq!(lazada.next(2, 0, 20), Some(1_800_020));
        assert_eq!(lazada.next(3, 0, 30), None, "two retries make three attempts");
    }
}
