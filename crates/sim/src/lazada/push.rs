//! Pushes to the app's callback URL, signed like Lazada's, with every delivery attempt recorded.
//!
//! Lazada wants HTTP 200 within 500 ms; anything else counts as a failure, and the push is tried again
//! every 30 minutes, 12 times at most. Those retries run on the simulator's clock: a scheduler task sleeps
//! until the next one is due, so a test advancing its manual clock by 30 minutes sees the retry happen.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::control::SimError;
use super::orders::Order;
use super::sign::push_authorization;
use super::state::{Core, Shared};

/// `message_type` of an order item status change.
pub const MESSAGE_ORDER_STATUS: i64 = 0;
/// `message_type` of "the authorization token expires within 48 hours".
pub const MESSAGE_TOKEN_EXPIRING: i64 = 8;
/// `message_type` of a seller status change.
pub const MESSAGE_SELLER_STATUS: i64 = 13;

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
    /// Failed every retry; Lazada stops here.
    GaveUp,
    /// Lost on purpose by the drop fault: never sent, only reconciliation can find the change.
    Dropped,
    /// No callback URL was set.
    NoTarget,
}

/// One push, with every delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushRecord {
    /// Sequence number, from 1.
    pub id: u64,
    /// `message_type`.
    pub message_type: i64,
    /// The seller it is about.
    pub seller_id: String,
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

/// A push body in Lazada's field order: `seller_id, message_type, data, timestamp, site`.
#[derive(Serialize)]
struct PushBody<'a, D: Serialize> {
    seller_id: &'a str,
    message_type: i64,
    data: D,
    timestamp: i64,
    site: String,
}

/// The `data` of an order status push, in the documented field order.
#[derive(Serialize)]
struct OrderStatusData<'a> {
    order_status: &'a str,
    trade_order_id: String,
    trade_order_line_id: String,
    status_update_time: i64,
}

impl Core {
    /// Pushes the status of each named item of `order` (`message_type` 0).
    pub(crate) async fn push_item_statuses(&self, order: &Order, item_ids: &[u64]) -> Vec<PushRecord> {
        let mut pushes = Vec::new();
        for item in order.items.iter().filter(|i| item_ids.contains(&i.order_item_id)) {
            let data = OrderStatusData {
                order_status: &item.status,
                trade_order_id: order.order_id.to_string(),
                trade_order_line_id: item.order_item_id.to_string(),
                status_update_time: item.updated_at_ms.div_euclid(1000),
            };
            if let Ok(push) = self.push(&order.seller_id, MESSAGE_ORDER_STATUS, data).await {
                pushes.push(push);
            }
        }
        pushes
    }

    /// Makes a push about `seller_id`, signs it and makes the first attempt (unless dropped or no URL).
    pub(crate) async fn push<D: Serialize>(
        &self,
        seller_id: &str,
        message_type: i64,
        data: D,
    ) -> Result<PushRecord, SimError> {
        let site = self
            .state()
            .seller(seller_id)
            .map(|(_, c)| c.country.site())
            .ok_or_else(|| SimError::UnknownSeller(seller_id.to_owned()))?;
        let body = PushBody {
            seller_id,
            message_type,
            data,
            timestamp: self.now_ms(),
            site,
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
                message_type,
                seller_id: seller_id.to_owned(),
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

    /// When the earliest scheduled retry is due.
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
            // The URL was cleared while the push waited for a retry: the retry fails like an unreachable one.
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
        let failed = error.is_some();
        let mut scheduled = false;
        {
            let mut state = self.state();
            if let Some(record) = state.pushes.get_mut(index(id)) {
                record.attempts.push(Attempt {
                    at_ms,
                    status,
                    latency_ms,
                    error,
                });
                // The first attempt is not a retry: 12 retries make 13 attempts.
                let retries_left = record.attempts.len() <= self.config.push_retries;
                (record.state, record.next_attempt_at_ms) = match (failed, retries_left) {
                    (false, _) => (PushState::Delivered, None),
                    (true, true) => {
                        scheduled = true;
                        let next = self.now_ms() + self.config.push_retry_interval_secs * 1000;
                        (PushState::Retrying, Some(next))
                    }
                    (true, false) => (PushState::GaveUp, None),
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
                // A wake-up stored by notify_one before this wait still counts, so none is lost.
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
