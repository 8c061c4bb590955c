use shoprelay_clock::UnixMs;
use shoprelay_core::event::EventKind;
use shoprelay_core::policy::FieldPolicy;

use super::*;
use crate::lazada::model::LazadaOrder;

fn app() -> ConfigId {
    ConfigId::parse("lz-1").unwrap()
}

fn push(raw: &str) -> LazadaPush {
    LazadaPush::parse(raw.as_bytes()).unwrap()
}

/// An order status push for one line of order 260422900198363.
fn status_push(status: &str, line: &str, update_time: i64) -> LazadaPush {
    push(&format!(
        r#"{{"seller_id":"1234567","message_type":0,"data":{{"order_status":"{status}","trade_order_id":"260422900198363","trade_order_line_id":"{line}","status_update_time":{update_time}}},"timestamp":1603766859530,"site":"lazada_vn"}}"#
    ))
}

fn sn(raw: &str) -> OrderSn {
    OrderSn::parse(raw).unwrap()
}

fn detail(order_id: &str, status: &str) -> OrderSnapshot {
    let order: LazadaOrder = serde_json::from_value(serde_json::json!({
        "order_id": order_id, "statuses": [status], "price": "120000", "payment_method": "COD",
        "customer_first_name": "Lan"
    }))
    .unwrap();
    crate::lazada::snapshot(&order, &[], Some("VN"), &FieldPolicy::minimal()).unwrap()
}

fn one(events: Vec<Event>) -> Event {
    assert_eq!(events.len(), 1, "{events:?}");
    events.into_iter().next().unwrap()
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(Event::kind).collect()
}

#[test]
fn a_new_unpaid_or_pending_order_is_created_with_its_detail() {
    for status in ["unpaid", "pending"] {
        let d = detail("260422900198363", status);
        let e = one(normalize(
            &app(),
            &status_push(status, "L1", 1603698638),
            "h",
            Some(&d),
            None,
        ));
        assert_eq!(e.kind(), EventKind::OrderCreated);
        assert_eq!(e.dedupe_key, "lazada:1234567:260422900198363:created");
        assert_eq!(e.platform, crate::lazada::PLATFORM);
        assert_eq!(e.app, app());
        assert_eq!(e.shop_id.map(ShopId::get), Some(1234567));
        assert_eq!(e.order_sn, Some(sn("260422900198363")));
        assert_eq!(e.occurred_at, UnixMs::from_secs(1603698638));
        let order = e.order.unwrap();
        assert_eq!(order.currency.as_deref(), Some("VND"));
        assert!(order.cod);
        assert_eq!(order.buyer_username, None);
        assert_eq!(order.recipient, None);
    }
}

#[test]
fn the_lines_of_one_order_make_one_event() {
    // Two lines created in the same second, and two lines moving together later: same keys, so the
    // inbox stores one event for each fact.
    let first = one(normalize(&app(), &status_push("pending", "L1", 100), "h1", None, None));
    let second = one(normalize(&app(), &status_push("pending", "L2", 101), "h2", None, None));
    assert_eq!(first.dedupe_key, second.dedupe_key);
    let known = order_status("pending");
    let a = one(normalize(
        &app(),
        &status_push("packed", "L1", 200),
        "h3",
        None,
        Some(&known),
    ));
    let b = one(normalize(
        &app(),
        &status_push("packed", "L2", 200),
        "h4",
        None,
        Some(&known),
    ));
    assert_eq!(a.dedupe_key, "lazada:1234567:260422900198363:status:packed:200");
    assert_eq!(a.dedupe_key, b.dedupe_key);
    // Once the first line's change is stored, the second line's push is a repeat.
    assert!(normalize(
        &app(),
        &status_push("packed", "L2", 201),
        "h5",
        None,
        Some(&order_status("packed"))
    )
    .is_empty());
}

#[test]
fn known_orders_change_status_and_returns_to_a_status_are_new_facts() {
    let e = one(normalize(
        &app(),
        &status_push("shipped", "L1", 300),
        "h",
        None,
        Some(&order_status("ready_to_ship")),
    ));
    assert_eq!(
        e.body,
        EventBody::OrderStatusChanged {
            from: Some(order_status("ready_to_ship")),
            to: order_status("shipped"),
        }
    );
    assert_eq!(
        e.order,
        Some(OrderSnapshot::bare(sn("260422900198363"), order_status("shipped")))
    );
    let key = |time| {
        one(normalize(
            &app(),
            &status_push("packed", "L1", time),
            "h",
            None,
            Some(&order_status("repacked")),
        ))
        .dedupe_key
    };
    assert_ne!(key(300), key(500));

    // First sight of an order past creation is a change from an unknown status, not a creation.
    let e = one(normalize(
        &app(),
        &status_push("ready_to_ship", "L1", 150),
        "h",
        None,
        None,
    ));
    assert_eq!(
        e.body,
        EventBody::OrderStatusChanged {
            from: None,
            to: order_status("ready_to_ship"),
        }
    );
}

#[test]
fn cancellations_and_returns_also_make_their_own_event() {
    let cases = [
        ("canceled", EventKind::OrderCancelled, "cancelled"),
        ("CANCEL_INIT", EventKind::CancellationRequested, "cancel_requested"),
        ("returned", EventKind::ReturnRequested, "return_requested"),
        ("failed_delivery", EventKind::ReturnRequested, "return_requested"),
    ];
    let known = order_status("shipped");
    for (raw, kind, name) in cases {
        let events = normalize(&app(), &status_push(raw, "L1", 400), "h", None, Some(&known));
        assert_eq!(kinds(&events), [EventKind::OrderStatusChanged, kind], "{raw}");
        assert_eq!(
            events[1].dedupe_key,
            format!("lazada:1234567:260422900198363:{name}:400")
        );
        assert_eq!(events[1].body.status_from(), Some(&known));
        assert_eq!(events[1].order, events[0].order);
        assert_eq!(events[1].occurred_at, UnixMs::from_secs(400));
    }
    // Lost or unknown statuses are plain changes.
    let lost = normalize(&app(), &status_push("lost_by_3pl", "L1", 400), "h", None, Some(&known));
    assert_eq!(kinds(&lost), [EventKind::OrderStatusChanged]);
}

#[test]
fn another_orders_detail_is_ignored() {
    let other = detail("999", "pending");
    let e = one(normalize(
        &app(),
        &status_push("pending", "L1", 1),
        "h",
        Some(&other),
        None,
    ));
    assert_eq!(
        e.order,
        Some(OrderSnapshot::bare(sn("260422900198363"), order_status("pending")))
    );
}

#[test]
fn token_expiry_alerts_name_the_seller_once_per_expiry() {
    let raw = r#"{"seller_id":"null","message_type":8,"data":{"app_key":"115527","auth_expiry_time":1627542238,"seller_id":"1000165972"},"timestamp":1627416758,"site":"lazada_ph"}"#;
    let e = one(normalize(&app(), &push(raw), "h", None, None));
    assert_eq!(
        e.body,
        EventBody::AuthorizationExpiring {
            expire_before: Some(1627542238)
        }
    );
    assert_eq!(e.shop_id.map(ShopId::get), Some(1000165972));
    assert_eq!(e.dedupe_key, "lazada:expiring:1000165972:1627542238");
    assert_eq!(
        (e.order_sn, e.order, e.occurred_at),
        (None, None, UnixMs::from_secs(1627416758))
    );
    // The next day's alert for the same expiry is the same fact.
    let next_day = raw.replace("1627416758", "1627503158");
    assert_eq!(
        one(normalize(&app(), &push(&next_day), "h2", None, None)).dedupe_key,
        e.dedupe_key
    );

    let no_time = r#"{"message_type":8,"data":{"seller_id":"1000165972"},"timestamp":1627416758}"#;
    let e = one(normalize(&app(), &push(no_time), "hint", None, None));
    assert_eq!(e.dedupe_key, "lazada:expiring:1000165972:hint");
    assert_eq!(e.body, EventBody::AuthorizationExpiring { expire_before: None });
}

#[test]
fn seller_status_and_other_pushes_make_no_events() {
    let pushes = [
        r#"{"seller_id":"100053528","message_type":13,"data":{"status":"close"},"timestamp":1627038397,"site":"lazada_sg"}"#,
        r#"{"message_type":12,"data":{"status":"finish"},"timestamp":1627203600,"site":"lazada_sg"}"#,
        r#"{"seller_id":"100053528","message_type":3,"data":{},"timestamp":1627038397}"#,
    ];
    for raw in pushes {
        assert!(normalize(&app(), &push(raw), "h", None, None).is_empty(), "{raw}");
    }
}
