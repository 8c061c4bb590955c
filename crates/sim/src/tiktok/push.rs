//! Pushes to the app's callback URL, signed like TikTok Shop's, with every delivery attempt recorded.
//!
//! TikTok wants HTTP 200 within 3 seconds; anything else is a failure, retried 2 minutes, 30 minutes,
//! 3 hours and 12 hours after the first attempt, each retry the same body with the same
//! `tts_notification_id`. Retries run on the simulator's clock: a test advancing its manual clock sees
//! them happen.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::control::SimError;
use super::orders::Order;
use super::sign::push_authorization;
use super::state::{Core, Shared};

/// `type` of an order status change.
pub const TYPE_ORDER_STATUS: i64 = 1;
/// `type` of a cancellation status change.
pub const TYPE_CANCELLATION_STATUS: i64 = 11;

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
    /// Failed every retry; TikTok stops here.
    GaveUp,
    /// Lost on purpose by the drop fault: never sent.
    Dropped,
    /// No callback URL was set.
    NoTarget,
}

/// One push, with every delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRecord {
    /// Sequence number, from 1.
    pub id: u64,
    /// `type`.
    pub kind: i64,
    /// The shop it is about.
    pub shop_id: String,
    /// `tts_notification_id`.
    pub notification_id: String,
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

/// A push body in TikTok's field order.
#[derive(Serialize)]
struct PushBody<'a, D: Serialize> {
    #[serde(rename = "type")]
    kind: i64,
    tts_notification_id: &'a str,
    shop_id: &'a str,
    timestamp: i64,
    data: D,
}

/// The `data` of an order status push.
#[derive(Serialize)]
struct OrderStatusData<'a> {
    order_id: String,
    order_status: &'a str,
    is_on_hold_order: bool,
    update_time: i64,
}

impl Core {
    /// Pushes the order's status (type 1).
    pub(crate) async fn push_order_status(&self, order: &Order) -> Result<PushRecord, SimError> {
        let data = OrderStatusData {
            order_id: order.id.to_string(),
            order_status: &order.status,
            is_on_hold_order: order.status == "ON_HOLD",
            update_time: order.update_time,
        };
        self.push(&order.shop_id, TYPE_ORDER_STATUS, data).await
    }

    /// Makes a push about `shop_id`, signs it and makes the first attempt (unless dropped or no URL).
    pub(crate) async fn push<D: Serialize>(&self, shop_id: &str, kind: i64, data: D) -> Result<PushRecord, SimError> {
        if self.state().shop(shop_id).is_none() {
            return Err(SimError::UnknownShop(shop_id.to_owned()));
        }
        let notification_id = format!("73271123930573{:05}", self.state().pushes.len() + 1);
        let body = PushBody {
            kind,
            tts_notification_id: &notification_id,
            shop_id,
            timestamp: self.now_ms().div_euclid(1000),
            data,
        };
        let body = serde_json::to_string(&body).map_err(|e| SimError::Unserializable(e.to_string()))?;
        let authorization = push_authorization(&self.config.app_key, &self.config.app_secret, body.as_bytes());
        let (id, send) = {
            let mut state = self.state();
            let id = state.pushes.len() as u64 + 1;
            let push_state = if state.faults.drop_pushes > 0 {
                state.faults.drop_pushes -= 1;
                PushState::Dropped
            } else if state.push_url.is_none() {
                PushState::NoTarget
            } else {
                PushState::Sending
            };
            state.pushes.push(PushRecord {
                id,
                kind,
                shop_id: shop_id.to_owned(),
                notification_id,
                body,
                authorization,
                state: push_state,
                next_attempt_at_ms: None,
                attempts: Vec::new(),
            });
            (id, push_state == PushState::Sending)
        };
        if send {
            self.attempt(id).await;
        }
        self.record(id).ok_or(SimError::UnknownPush(id))
    }

    /// A copy of one push.
    pub(crate) fn record(&self, id: u64) -> Option<PushRecord> {
        self.state().pushes.get(index(id)).cloned()
    }

    fn next_retry_at(&self) -> Option<i64> {
        self.state().pushes.iter().filter_map(|p| p.next_attempt_at_ms).min()
    }

    /// Makes every retry that is due. Each is claimed under the lock, so none runs twice.
    async fn retry_due(&self) {
        let now = self.now_ms();
        let due: Vec<u64> = {
            let mut state = self.state();
            state
                .pushes
                .iter_mut()
                .filter(|p| p.next_attempt_at_ms.is_some_and(|at| at <= now))
                .map(|p| {
                    p.next_attempt_at_ms = None;
                    p.id
                })
                .collect()
        };
        for id in due {
            self.attempt(id).await;
        }
    }

    /// One delivery attempt; schedules the next retry when it fails and retries are left.
    async fn attempt(&self, id: u64) {
        let Some(push) = self.record(id) else {
            return;
        };
        let url = self.state().push_url.clone();
        let at_ms = self.now_ms();
        let started = Instant::now();
        let (status, error) = match url {
            None => (None, Some("no callback URL".to_owned())),
            Some(url) => {
                let sent = self
                    .http
                    .post(&url)
                    .header(reqwest::header::AUTHORIZATION, &push.authorization)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(push.body)
                    .timeout(Duration::from_millis(self.config.push_ack_timeout_ms))
                    .send()
                    .await;
                match sent {
                    Ok(answer) if answer.status().as_u16() == 200 => (Some(200), None),
                    Ok(answer) => (
                        Some(answer.status().as_u16()),
                        Some(format!("HTTP {}", answer.status())),
                    ),
                    Err(e) if e.is_timeout() => (
                        None,
                        Some(format!("no answer within {} ms", self.config.push_ack_timeout_ms)),
                    ),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut scheduled = false;
        {
            let mut state = self.state();
            if let Some(record) = state.pushes.get_mut(index(id)) {
                let failed = error.is_some();
                record.attempts.push(Attempt {
                    at_ms,
                    status,
                    latency_ms,
                    error,
                });
                let first = record.attempts.first().map_or(at_ms, |a| a.at_ms);
                // The n-th retry comes its offset after the first attempt; n attempts made, n-1 retries.
                let next = self
                    .config
                    .push_retry_after_secs
                    .get(record.attempts.len().saturating_sub(1))
                    .map(|after| first + after * 1000);
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
    pub(crate) async fn wait_for_attempts(&self, id: u64, count: usize) -> Option<PushRecord> {
        let mut attempts = self.attempts.subscribe();
        loop {
            let push = self.record(id)?;
            if push.attempts.len() >= count {
                return Some(push);
            }
            attempts.changed().await.ok()?;
        }
    }
}

/// The retry scheduler: sleeps on the simulator's clock until the next retry is due, wakes early when a
/// new one is scheduled. Runs until the simulator is dropped.
pub(crate) async fn run_retries(core: Shared) {
    loop {
        match core.next_retry_at() {
            Some(at) if at <= core.now_ms() => core.retry_due().await,
            Some(at) => {
                tokio::select! {
                    () = core.clock.sleep_until(at) => {}
                    () = core.retry_wake.notified() => {}
                }
            }
            None => core.retry_wake.notified().await,
        }
    }
}

/// Push ids start at 1 and are positions in the record list plus one.
fn index(id: u64) -> usize {
    usize::try_from(id.saturating_sub(1)).unwrap_or(usize::MAX)
}
