//! Pure mapping of a parsed push (and, for orders, the detail fetched for it) to neutral events.
//!
//! Dedupe keys name the fact, not the delivery, so Shopee's duplicate and retried pushes collapse into one
//! event. Order status keys include the push's `update_time`: an order can genuinely return to a status
//! (PROCESSED → RETRY_SHIP → PROCESSED), and that second visit must not be swallowed as a duplicate.

use shoprelay_clock::UnixMs;
use shoprelay_core::event::{Event, EventBody};
use shoprelay_core::ids::{ConfigId, OrderSn, ShopId};
use shoprelay_core::order::{OrderSnapshot, OrderStatus};
use shoprelay_core::status_change::StatusChange;

use super::push::{ChatMessage, PushBody, ShopeePush};

/// The events a push means.
///
/// `dedupe_hint` is the push's own identity ([`super::push::dedupe_key`]), used where the push names no
/// time of its own. `detail` is the order as fetched for this push (ignored if it is another order's);
/// `known_status` is the order's status as last stored, `None` for an order never seen. The detail is
/// already filtered by the shop's data policy.
pub fn normalize(
    app: &ConfigId,
    push: &ShopeePush,
    dedupe_hint: &str,
    detail: Option<&OrderSnapshot>,
    known_status: Option<&OrderStatus>,
) -> Vec<Event> {
    let stamp = push.timestamp.map_or_else(|| dedupe_hint.to_owned(), |t| t.to_string());
    let at = push.timestamp.unwrap_or_default();
    // Shopee times are unix seconds.
    let event = |key: String, shop_id: Option<ShopId>, order_sn: Option<&OrderSn>, secs: i64, body| Event {
        dedupe_key: key,
        platform: super::PLATFORM,
        app: app.clone(),
        shop_id,
        order_sn: order_sn.cloned(),
        occurred_at: UnixMs::from_secs(secs),
        order: None,
        body,
    };
    match &push.body {
        PushBody::OrderStatus {
            shop_id,
            order_sn,
            status,
            update_time,
            ..
        } => StatusChange {
            platform: super::PLATFORM,
            app,
            shop: *shop_id,
            order_sn,
            status,
            at: UnixMs::from_secs(*update_time),
            known: known_status,
            detail,
        }
        .events(),
        PushBody::TrackingNumber {
            shop_id,
            order_sn,
            package_number,
            tracking_no,
        } => {
            let key = format!("shopee:{shop_id}:{order_sn}:tracking:{tracking_no}");
            let body = EventBody::TrackingNumberAssigned {
                tracking_no: tracking_no.clone(),
                package_number: package_number.clone(),
            };
            let order = snapshot(order_sn, detail)
                .or_else(|| known_status.map(|status| OrderSnapshot::bare(order_sn.clone(), status.clone())));
            vec![Event {
                order,
                ..event(key, Some(*shop_id), Some(order_sn), at, body)
            }]
        }
        PushBody::ShopAuthorized {
            shop_id,
            main_account_id,
            ..
        } => {
            let who = match (shop_id, main_account_id) {
                (Some(shop), _) => shop.to_string(),
                (None, Some(main)) => format!("main:{main}"),
                (None, None) => "unknown".to_owned(),
            };
            vec![event(
                format!("shopee:auth:{who}:{stamp}"),
                *shop_id,
                None,
                at,
                EventBody::ShopAuthorized,
            )]
        }
        PushBody::ShopDeauthorized { shop_id } => {
            vec![event(
                format!("shopee:deauth:{shop_id}:{stamp}"),
                Some(*shop_id),
                None,
                at,
                EventBody::ShopDeauthorized,
            )]
        }
        // Merchants are not shops events can name; their shops come in shop_expire_soon.
        PushBody::AuthorizationExpiring {
            shop_ids,
            expire_before,
            ..
        } => shop_ids
            .iter()
            .map(|shop_id| {
                let until = expire_before.map_or_else(|| stamp.clone(), |t| t.to_string());
                let body = EventBody::AuthorizationExpiring {
                    expire_before: *expire_before,
                };
                event(
                    format!("shopee:expiring:{shop_id}:{until}"),
                    Some(*shop_id),
                    None,
                    at,
                    body,
                )
            })
            .collect(),
        PushBody::Webchat {
            shop_id,
            message: Some(message),
        } if is_from_buyer(*shop_id, message) => {
            let body = EventBody::BuyerMessage {
                conversation_id: message.conversation_id.clone(),
                from_user_name: message.from_user_name.clone(),
                text: message_text(message),
                message_id: message.message_id.clone(),
                buyer_id: message.from_id.map(|id| id.to_string()),
                conversation: None,
                latest_order: None,
            };
            let occurred_at = message.created_timestamp.unwrap_or(at);
            vec![event(
                format!("shopee:chat:{}", message.message_id),
                Some(*shop_id),
                None,
                occurred_at,
                body,
            )]
        }
        PushBody::Webchat { .. } | PushBody::Verification { .. } | PushBody::Other { .. } => Vec::new(),
    }
}

fn snapshot(order_sn: &OrderSn, detail: Option<&OrderSnapshot>) -> Option<OrderSnapshot> {
    detail.filter(|s| &s.order_sn == order_sn).cloned()
}

/// Chat pushes also echo what the shop itself sent; only the buyer's side is news.
fn is_from_buyer(shop_id: ShopId, message: &ChatMessage) -> bool {
    message.from_id != Some(shop_id.get())
}

/// The text of a message, or a placeholder naming what was sent instead.
fn message_text(message: &ChatMessage) -> String {
    if let Some(text) = message.text.as_ref().filter(|t| !t.is_empty()) {
        return text.clone();
    }
    match message.message_type.as_str() {
        "image" => "[图片]".to_owned(),
        "video" => "[视频]".to_owned(),
        "item" => "[商品]".to_owned(),
        "order" => "[订单]".to_owned(),
        "sticker" => "[表情]".to_owned(),
        "text" => String::new(),
        other => format!("[{other}]"),
    }
}

#[cfg(test)]
#[path = "normalize_tests.rs"]
mod tests;
