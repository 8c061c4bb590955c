//! Pushes to the app's callback URL, signed like Lazada's; sending, the attempts and the retries are the
//! shared [`crate::push_sender`]'s.
//!
//! Lazada wants HTTP 200 within 500 ms; anything else counts as a failure, and the push is tried again
//! every 30 minutes, 12 times at most, on the simulator's clock.

use serde::Serialize;

use super::control::SimError;
use super::orders::Order;
use super::sign::push_authorization;
use super::state::Core;
use crate::push_sender::{self, PushSender, RetrySchedule, SenderConfig};

/// `message_type` of an order item status change.
pub const MESSAGE_ORDER_STATUS: i64 = 0;
/// `message_type` of "the authorization token expires within 48 hours".
pub const MESSAGE_TOKEN_EXPIRING: i64 = 8;
/// `message_type` of a seller status change.
pub const MESSAGE_SELLER_STATUS: i64 = 13;

/// What a Lazada push is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushAbout {
    /// `message_type`.
    pub message_type: i64,
    /// The seller it is about.
    pub seller_id: String,
}

/// One push, with every delivery attempt.
pub type PushRecord = push_sender::PushRecord<PushAbout>;

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

/// The sender with Lazada's answer time and retry schedule.
pub(crate) fn sender(config: &super::LazadaSimConfig, clock: shoprelay_clock::SharedClock) -> PushSender<PushAbout> {
    let config = SenderConfig {
        ack_timeout_ms: config.push_ack_timeout_ms,
        retries: RetrySchedule::Every {
            interval_secs: config.push_retry_interval_secs,
            retries: config.push_retries,
        },
        url: config.push_url.clone(),
    };
    PushSender::new(config, clock)
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

    /// Pushes a change of the seller's status (`message_type` 13): `data.status` is `normal`, or `close`
    /// ("most of the daily operations are banned"); stamped in seconds, as Lazada's sample of it is.
    pub(crate) async fn push_seller_status(&self, seller_id: &str, status: &str) -> Result<PushRecord, SimError> {
        let data = serde_json::json!({ "status": status });
        let stamp = self.now_ms().div_euclid(1_000);
        self.push_stamped(seller_id, MESSAGE_SELLER_STATUS, data, stamp).await
    }

    /// Makes a push about `seller_id`, signs it and makes the first attempt (unless dropped or no URL).
    pub(crate) async fn push<D: Serialize>(
        &self,
        seller_id: &str,
        message_type: i64,
        data: D,
    ) -> Result<PushRecord, SimError> {
        self.push_stamped(seller_id, message_type, data, self.now_ms()).await
    }

    /// [`Core::push`] with the envelope `timestamp` given (Lazada stamps some pushes in seconds).
    async fn push_stamped<D: Serialize>(
        &self,
        seller_id: &str,
        message_type: i64,
        data: D,
        timestamp: i64,
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
            timestamp,
            site,
        };
        let body = serde_json::to_string(&body).map_err(|e| SimError::Unserializable(e.to_string()))?;
        let authorization = push_authorization(&self.config.app_key, &self.config.app_secret, body.as_bytes());
        let dropped = self.state().faults.take_drop();
        let about = PushAbout {
            message_type,
            seller_id: seller_id.to_owned(),
        };
        Ok(self.pushes.send(about, body, authorization, dropped).await)
    }
}
