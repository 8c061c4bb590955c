//! What an order's move to a status announces, the same for every marketplace: nothing when the status is
//! the one already known; `order_created` at first sight in a creation stage, else `order_status_changed`;
//! and a cancellation, cancellation request or return as a trigger of its own, so a rule can select it
//! without a status condition.
//!
//! Dedupe keys name the fact: an order is created once, whatever push first shows it; later visits to a
//! status (PROCESSED → RETRY_SHIP → PROCESSED) are new facts, told apart by the platform's time.

use shoprelay_clock::UnixMs;

use crate::event::{Event, EventBody, Platform};
use crate::ids::{ConfigId, OrderSn, ShopId};
use crate::order::{OrderSnapshot, OrderStage, OrderStatus};

/// One order's move to a status, as an adapter read it from a push.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    /// The marketplace.
    pub platform: Platform,
    /// The app that received it.
    pub app: &'a ConfigId,
    /// The shop (seller).
    pub shop: ShopId,
    /// The order.
    pub order_sn: &'a OrderSn,
    /// The new status.
    pub status: &'a OrderStatus,
    /// The platform's time of it.
    pub at: UnixMs,
    /// The status stored before, `None` for an order never seen.
    pub known: Option<&'a OrderStatus>,
    /// The order as fetched for this push, when it is this order's.
    pub detail: Option<&'a OrderSnapshot>,
}

impl StatusChange<'_> {
    /// The events the move announces.
    pub fn events(self) -> Vec<Event> {
        if self.known == Some(self.status) {
            return Vec::new();
        }
        let prefix = format!("{}:{}:{}", self.platform, self.shop, self.order_sn);
        let body = match self.known {
            None if self.status.is_creation() => EventBody::OrderCreated,
            from => EventBody::OrderStatusChanged {
                from: from.cloned(),
                to: self.status.clone(),
            },
        };
        let key = match body {
            EventBody::OrderCreated => format!("{prefix}:created"),
            // Keys name the second, as they did before instants were typed, so a replayed push still dedupes.
            _ => format!("{prefix}:status:{}:{}", self.status.raw, self.at.as_secs()),
        };
        let order = self
            .detail
            .filter(|d| &d.order_sn == self.order_sn)
            .cloned()
            .unwrap_or_else(|| OrderSnapshot::bare(self.order_sn.clone(), self.status.clone()));
        let from = self.known.cloned();
        let derived = match self.status.stage {
            OrderStage::Cancelled => Some(("cancelled", EventBody::OrderCancelled { from })),
            OrderStage::CancelRequested => Some(("cancel_requested", EventBody::CancellationRequested { from })),
            OrderStage::ReturnRequested => Some(("return_requested", EventBody::ReturnRequested { from })),
            _ => None,
        };
        let event = |dedupe_key: String, body| Event {
            dedupe_key,
            platform: self.platform,
            app: self.app.clone(),
            shop_id: Some(self.shop),
            order_sn: Some(self.order_sn.clone()),
            occurred_at: self.at,
            order: Some(order.clone()),
            body,
        };
        let mut events = vec![event(key, body)];
        if let Some((name, body)) = derived {
            events.push(event(format!("{prefix}:{name}:{}", self.at.as_secs()), body));
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn kinds(known: Option<&OrderStatus>, status: &OrderStatus) -> Vec<(EventKind, String)> {
        let app = ConfigId::parse("app").unwrap();
        let order = OrderSn::parse("A1").unwrap();
        StatusChange {
            platform: Platform::named("market"),
            app: &app,
            shop: ShopId::new(7).unwrap(),
            order_sn: &order,
            status,
            at: shoprelay_clock::UnixMs::from_secs(100),
            known,
            detail: None,
        }
        .events()
        .into_iter()
        .map(|e| (e.kind(), e.dedupe_key))
        .collect()
    }

    #[test]
    fn a_move_is_created_changed_or_nothing_with_its_own_triggers() {
        let to_ship = OrderStatus::new(OrderStage::ToShip, "to_ship");
        let cancelled = OrderStatus::new(OrderStage::Cancelled, "gone");
        assert_eq!(
            kinds(None, &to_ship),
            vec![(EventKind::OrderCreated, "market:7:A1:created".to_owned())]
        );
        assert!(kinds(Some(&to_ship), &to_ship).is_empty());
        assert_eq!(
            kinds(Some(&to_ship), &cancelled),
            vec![
                (EventKind::OrderStatusChanged, "market:7:A1:status:gone:100".to_owned()),
                (EventKind::OrderCancelled, "market:7:A1:cancelled:100".to_owned()),
            ]
        );
        // First seen already cancelled: a change from nothing, never a creation.
        assert_eq!(kinds(None, &cancelled)[0].0, EventKind::OrderStatusChanged);
    }
}
