//! Pure mapping of a parsed TikTok Shop push (and the snapshot fetched for it) to neutral events.
//!
//! An order status push (type 1) and a cancellation push (type 11) are both a move of the order to a
//! status: the shared [`StatusChange`] rules make `order_created`, `order_status_changed` and the derived
//! cancellation events of it. A cancellation request that was withdrawn or refused
//! (`CANCELLATION_REQUEST_CANCEL`, …) moves the order nowhere new, so it announces nothing: the order's
//! next status push says where it stands.

use shoprelay_clock::UnixMs;
use shoprelay_core::event::Event;
use shoprelay_core::ids::ConfigId;
use shoprelay_core::order::{OrderSnapshot, OrderStage, OrderStatus};
use shoprelay_core::status_change::StatusChange;

use super::push::{PushBody, TiktokPush};
use super::status::order_status;

/// The status a push moves its order to, when it moves it: the order's status word (type 1), or a
/// cancellation request's word that is a stage of its own (type 11).
pub fn pushed_status(push: &TiktokPush) -> Option<(OrderStatus, UnixMs)> {
    let (_, raw, at) = push.order_change()?;
    let status = order_status(raw);
    match &push.body {
        PushBody::Cancellation { .. }
            if !matches!(status.stage, OrderStage::CancelRequested | OrderStage::Cancelled) =>
        {
            None
        }
        _ => Some((status, UnixMs::from_secs(at))),
    }
}

/// The events a push means. `detail` is the order as fetched for this push, already filtered by the
/// shop's data policy (ignored if it is another order's); `known` is the order's status as last stored.
pub fn normalize(
    app: &ConfigId,
    push: &TiktokPush,
    detail: Option<&OrderSnapshot>,
    known: Option<&OrderStatus>,
) -> Vec<Event> {
    let (Some((order_sn, _, _)), Some(shop), Some((status, at))) =
        (push.order_change(), push.shop_id, pushed_status(push))
    else {
        return Vec::new();
    };
    StatusChange {
        platform: super::PLATFORM,
        app,
        shop,
        order_sn,
        status: &status,
        at,
        known,
        detail,
    }
    .events()
}

#[cfg(test)]
mod tests {
    use shoprelay_core::event::EventKind;

    use super::*;

    fn push(kind: i64, field: &str, status: &str) -> TiktokPush {
        let raw = format!(
            r#"{{"type":{kind},"tts_notification_id":"n","shop_id":"7494049642642441621","timestamp":1644412885,"data":{{"order_id":"576461413038785752","{field}":"{status}","update_time":1644412880}}}}"#
        );
        TiktokPush::parse(raw.as_bytes()).unwrap()
    }

    fn kinds(push: &TiktokPush, known: Option<&OrderStatus>) -> Vec<EventKind> {
        let app = ConfigId::parse("tt").unwrap();
        normalize(&app, push, None, known).iter().map(Event::kind).collect()
    }

    #[test]
    fn order_pushes_create_change_and_cancel_orders() {
        let created = push(1, "order_status", "AWAITING_SHIPMENT");
        assert_eq!(kinds(&created, None), [EventKind::OrderCreated]);
        let app = ConfigId::parse("tt").unwrap();
        let event = &normalize(&app, &created, None, None)[0];
        assert_eq!(event.platform.as_str(), "tiktok");
        assert_eq!(
            event.dedupe_key,
            "tiktok:7494049642642441621:576461413038785752:created"
        );
        let to_ship = order_status("AWAITING_SHIPMENT");
        assert!(kinds(&created, Some(&to_ship)).is_empty(), "the status already known");
        assert_eq!(
            kinds(&push(1, "order_status", "IN_TRANSIT"), Some(&to_ship)),
            [EventKind::OrderStatusChanged]
        );
        assert_eq!(
            kinds(&push(1, "order_status", "CANCELLED"), Some(&to_ship)),
            [EventKind::OrderStatusChanged, EventKind::OrderCancelled]
        );
    }

    #[test]
    fn cancellation_pushes_request_or_complete_a_cancellation_and_withdrawals_say_nothing() {
        let to_ship = order_status("AWAITING_SHIPMENT");
        assert_eq!(
            kinds(
                &push(11, "cancel_status", "CANCELLATION_REQUEST_PENDING"),
                Some(&to_ship)
            ),
            [EventKind::OrderStatusChanged, EventKind::CancellationRequested]
        );
        assert_eq!(
            kinds(
                &push(11, "cancel_status", "CANCELLATION_REQUEST_SUCCESS"),
                Some(&to_ship)
            ),
            [EventKind::OrderStatusChanged, EventKind::OrderCancelled]
        );
        let withdrawn = push(11, "cancel_status", "CANCELLATION_REQUEST_CANCEL");
        assert!(pushed_status(&withdrawn).is_none());
        assert!(kinds(&withdrawn, Some(&to_ship)).is_empty());
    }
}
