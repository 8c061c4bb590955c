//! Pure mapping of a parsed Lazada push (and, for orders, the snapshot fetched for it) to neutral events.
//!
//! Lazada pushes each line of an order separately, so dedupe keys name the order, never the line: the
//! lines of one order moving together make one event. Status keys include the change's time, because an
//! order can genuinely come back to a status and that second visit must not be swallowed as a duplicate.

use shoprelay_clock::UnixMs;
use shoprelay_core::event::{Event, EventBody};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::status_change::StatusChange;

use super::push::{LazadaPush, PushBody};
use super::status::order_status;

/// The events a push means.
///
/// `dedupe_key` is the push's own identity ([`super::push::dedupe_key`]), used where the push names no
/// time of its own. `detail` is the order as fetched for this push, already filtered by the shop's data
/// policy ([`super::snapshot()`]; ignored if it is another order's); `known` is the order's status as last
/// stored, `None` for an order never seen.
///
/// A seller status push (type 13, `normal` or `close`) makes no event: a closed account is neither a
/// revoked authorization (the app's tokens stay valid) nor anything else the neutral events name, so it
/// is left to the inbox and the audit log.
pub fn normalize(
    app: &ConfigId,
    push: &LazadaPush,
    dedupe_key: &str,
    detail: Option<&OrderSnapshot>,
    known: Option<&OrderStatus>,
) -> Vec<Event> {
    // Lazada times are unix seconds.
    let event = |key: String, shop_id: ShopId, order_sn: Option<&OrderSn>, secs: i64, body| Event {
        dedupe_key: key,
        platform: super::PLATFORM,
        app: app.clone(),
        shop_id: Some(shop_id),
        order_sn: order_sn.cloned(),
        occurred_at: UnixMs::from_secs(secs),
        order: None,
        body,
    };
    match &push.body {
        PushBody::OrderStatus {
            seller_id,
            trade_order_id,
            order_status: raw,
            status_update_time,
            ..
        } => {
            let status = order_status(raw);
            // Keyed by order, not line: the lines of one order collapse into one event.
            StatusChange {
                platform: super::PLATFORM,
                app,
                shop: *seller_id,
                order_sn: trade_order_id,
                status: &status,
                at: UnixMs::from_secs(*status_update_time),
                known,
                detail,
            }
            .events()
        }
        PushBody::TokenExpiring {
            seller_id,
            auth_expiry_time,
            ..
        } => {
            // Lazada repeats the alert daily until the expiry: one event per expiry time.
            let until = auth_expiry_time.map_or_else(|| dedupe_key.to_owned(), |t| t.to_string());
            let body = EventBody::AuthorizationExpiring {
                expire_before: *auth_expiry_time,
            };
            vec![event(
                format!("lazada:expiring:{seller_id}:{until}"),
                *seller_id,
                None,
                push.timestamp_ms.div_euclid(1_000),
                body,
            )]
        }
        PushBody::SellerStatus { .. } | PushBody::Other { .. } => Vec::new(),
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
