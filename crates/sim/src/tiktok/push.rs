//! Pushes to the app's callback URL, signed like TikTok Shop's; sending, the attempts and the retries are
//! the shared [`crate::push_sender`]'s.
//!
//! TikTok wants HTTP 200 within 3 seconds; anything else is a failure, retried 2 minutes, 30 minutes,
//! 3 hours and 12 hours after the first attempt, each retry the same body with the same
//! `tts_notification_id`.

use serde::Serialize;

use super::control::SimError;
use super::orders::Order;
use super::sign::push_authorization;
use super::state::Core;
use crate::push_sender::{self, PushSender, RetrySchedule, SenderConfig};

/// `type` of an order status change.
pub const TYPE_ORDER_STATUS: i64 = 1;
/// `type` of a cancellation status change.
pub const TYPE_CANCELLATION_STATUS: i64 = 11;

/// What a TikTok push is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushAbout {
    /// `type`.
    pub kind: i64,
    /// The shop it is about.
    pub shop_id: String,
    /// `tts_notification_id`.
    pub notification_id: String,
}

/// One push, with every delivery attempt.
pub type PushRecord = push_sender::PushRecord<PushAbout>;

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

/// The sender with TikTok's answer time and retry schedule.
pub(crate) fn sender(config: &super::TiktokSimConfig, clock: shoprelay_clock::SharedClock) -> PushSender<PushAbout> {
    let config = SenderConfig {
        ack_timeout_ms: config.push_ack_timeout_ms,
        retries: RetrySchedule::AfterFirst(config.push_retry_after_secs.clone()),
        url: config.push_url.clone(),
    };
    PushSender::new(config, clock)
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
        let notification_id = format!("73271123930573{:05}", self.pushes.next_id());
        let body = PushBody {
            kind,
            tts_notification_id: &notification_id,
            shop_id,
            timestamp: self.now_ms().div_euclid(1000),
            data,
        };
        let body = serde_json::to_string(&body).map_err(|e| SimError::Unserializable(e.to_string()))?;
        let authorization = push_authorization(&self.config.app_key, &self.config.app_secret, body.as_bytes());
        let dropped = self.state().faults.take_drop();
        let about = PushAbout {
            kind,
            shop_id: shop_id.to_owned(),
            notification_id,
        };
        Ok(self.pushes.send(about, body, authorization, dropped).await)
    }
}
