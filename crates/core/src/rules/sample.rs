//! A realistic sample event of every kind, for live previews of templates and dry runs of rules
//! before a real event exists, and for probing expressions at load.

use std::time::Duration;

use rust_decimal::Decimal;
use shoprelay_clock::UnixMs;

use crate::destination::Destination;
use crate::event::{Event, EventBody, EventKind, LogisticsIssue, Platform, TrailStep};
use crate::ids::{ConfigId, OrderSn, ShopId};
use crate::order::{OrderItem, OrderSnapshot, OrderStage, OrderStatus};

/// 2024-08-10 09:40 UTC, a Saturday: 17:40 in Singapore, the sample shop's zone.
pub const SAMPLE_TIME: UnixMs = UnixMs::from_secs(1_723_282_800);

/// The sample's marketplace: a neutral name, since previews are about the seller's rules, not a platform.
pub const SAMPLE_PLATFORM: Platform = Platform::named("marketplace");

/// A status in the sample, named by its stage (a real platform's own word would be, e.g., `READY_TO_SHIP`).
fn status(stage: OrderStage) -> OrderStatus {
    OrderStatus::new(stage, stage.as_str().to_ascii_uppercase())
}

/// A sample event of `kind` from a Singapore shop, with an enriched order where the kind
/// has one; its `occurred_at` is [`SAMPLE_TIME`].
pub fn sample_event(kind: EventKind) -> Event {
    let order_sn = OrderSn::parse("240810ABCD1234").ok();
    let order = order_sn.clone().map(sample_order);
    let body = match kind {
        EventKind::OrderCreated => EventBody::OrderCreated,
        EventKind::OrderStatusChanged => EventBody::OrderStatusChanged {
            from: Some(status(OrderStage::Unpaid)),
            to: status(OrderStage::ToShip),
        },
        EventKind::TrackingNumberAssigned => EventBody::TrackingNumberAssigned {
            tracking_no: "SPXSG04211873524".to_owned(),
            package_number: Some("OFG172328280012345".to_owned()),
        },
        EventKind::ShopAuthorized => EventBody::ShopAuthorized,
        EventKind::ShopDeauthorized => EventBody::ShopDeauthorized,
        EventKind::AuthorizationExpiring => EventBody::AuthorizationExpiring {
            expire_before: Some(SAMPLE_TIME.as_secs() + 7 * 86_400),
        },
        EventKind::ReauthorizationRequired => EventBody::ReauthorizationRequired {
            reason: "error_auth: refresh_token expired".to_owned(),
        },
        EventKind::ChatUnavailable => EventBody::ChatUnavailable {
            reason: "error_api_permission: the chat API is whitelist-only".to_owned(),
        },
        EventKind::DeliveryFailing => EventBody::DeliveryFailing {
            destination: Destination::WecomApp(sample_id("hq")),
            reason: "WeCom errcode 60020: not allow to access from your ip".to_owned(),
        },
        EventKind::OrderCancelled => EventBody::OrderCancelled {
            from: Some(status(OrderStage::ToShip)),
        },
        EventKind::CancellationRequested => EventBody::CancellationRequested {
            from: Some(status(OrderStage::ToShip)),
        },
        EventKind::ReturnRequested => EventBody::ReturnRequested {
            from: Some(status(OrderStage::Completed)),
        },
        EventKind::LogisticsException => EventBody::LogisticsException {
            issue: LogisticsIssue::FailedDelivery,
            logistics_status: Some("FAILED_DELIVERED".to_owned()),
            description: Some("Delivery attempt failed: recipient not at home".to_owned()),
            days_without_update: None,
            hours_to_ship_by: None,
            trail: vec![
                TrailStep {
                    at: SAMPLE_TIME - Duration::from_secs(3_600),
                    description: "Delivery attempt failed: recipient not at home".to_owned(),
                    status: "FAILED_DELIVERED".to_owned(),
                },
                TrailStep {
                    at: SAMPLE_TIME - Duration::from_secs(86_400),
                    description: "Out for delivery".to_owned(),
                    status: "OUT_FOR_DELIVERY".to_owned(),
                },
            ],
        },
        EventKind::Escalation => EventBody::Escalation {
            task_id: 42,
            rule: "new-orders".to_owned(),
            assignee: Some("alice".to_owned()),
            waited_minutes: 30,
            about: "新订单 240810ABCD1234 · SGD 58.80".to_owned(),
        },
        EventKind::BuyerMessage => EventBody::BuyerMessage {
            conversation_id: "129384756102938475".to_owned(),
            from_user_name: "tan_ah_kow".to_owned(),
            text: "Hi, can you ship today? 请问今天能发货吗？".to_owned(),
            message_id: "2001839465372819456".to_owned(),
            buyer_id: None,
            conversation: None,
            latest_order: None,
        },
    };
    let has_order = matches!(
        kind,
        EventKind::OrderCreated
            | EventKind::OrderStatusChanged
            | EventKind::TrackingNumberAssigned
            | EventKind::OrderCancelled
            | EventKind::CancellationRequested
            | EventKind::ReturnRequested
            | EventKind::LogisticsException
            | EventKind::Escalation
    );
    let order = order.map(|mut o| {
        o.status = match kind {
            EventKind::OrderCancelled => status(OrderStage::Cancelled),
            EventKind::CancellationRequested => status(OrderStage::CancelRequested),
            EventKind::ReturnRequested => status(OrderStage::ReturnRequested),
            EventKind::LogisticsException => status(OrderStage::Shipped),
            _ => o.status,
        };
        o
    });
    Event {
        dedupe_key: format!("sample:{}", kind.as_str()),
        platform: SAMPLE_PLATFORM,
        app: sample_app(),
        shop_id: ShopId::new(100_001).ok(),
        order_sn: if has_order { order_sn } else { None },
        occurred_at: SAMPLE_TIME,
        order: if has_order { order } else { None },
        body,
    }
}

fn sample_app() -> ConfigId {
    sample_id("sample")
}

fn sample_id(literal: &'static str) -> ConfigId {
    match ConfigId::parse(literal) {
        Ok(id) => id,
        // Literals of ASCII letters are valid config ids; the test below pins them.
        Err(e) => unreachable!("sample id {literal}: {e}"),
    }
}

fn sample_order(order_sn: OrderSn) -> OrderSnapshot {
    OrderSnapshot {
        region: Some("SG".to_owned()),
        currency: Some("SGD".to_owned()),
        total_amount: Some(Decimal::new(5880, 2)),
        buyer_username: Some("tan_ah_kow".to_owned()),
        items: vec![
            OrderItem {
                name: "Cotton Crew-neck T-Shirt".to_owned(),
                sku: Some("TS-001-BLK-M".to_owned()),
                model_name: Some("Black, M".to_owned()),
                quantity: 2,
                unit_price: Some(Decimal::new(1990, 2)),
            },
            OrderItem {
                name: "Clear Phone Case for iPhone 15".to_owned(),
                sku: Some("PC-IP15".to_owned()),
                model_name: None,
                quantity: 1,
                unit_price: Some(Decimal::new(1900, 2)),
            },
        ],
        create_time: Some(SAMPLE_TIME.as_secs() - 300),
        pay_time: Some(SAMPLE_TIME.as_secs() - 240),
        ship_by_date: Some(SAMPLE_TIME.as_secs() + 3 * 86_400),
        payment_method: Some("Wallet".to_owned()),
        shipping_carrier: Some("SPX Express".to_owned()),
        message_to_seller: Some("Please pack carefully, it's a gift".to_owned()),
        ..OrderSnapshot::bare(order_sn, status(OrderStage::ToShip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_sample_of_that_kind() {
        for kind in EventKind::ALL {
            let event = sample_event(kind);
            assert_eq!(event.kind(), kind);
            assert_eq!(event.app.as_str(), "sample");
            assert!(event.shop_id.is_some());
        }
        assert!(sample_event(EventKind::OrderCreated).order.is_some());
        assert!(sample_event(EventKind::ShopAuthorized).order.is_none());
    }
}
