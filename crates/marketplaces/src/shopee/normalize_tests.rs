use super::super::model::OrderDetail;
use super::*;
use shoprelay_clock::UnixMs;
use shoprelay_core::event::EventKind;
use shoprelay_core::policy::FieldPolicy;

fn app() -> ConfigId {
    ConfigId::parse("app-1").unwrap()
}

fn push(raw: &str) -> ShopeePush {
    ShopeePush::parse(raw.as_bytes()).unwrap()
}

fn status_push(status: &str, update_time: i64) -> ShopeePush {
    push(&format!(
        r#"{{"data":{{"items":[],"ordersn":"220810QSK8S7BX","status":"{status}","completed_scenario":"","update_time":{update_time}}},"shop_id":727720655,"code":3,"timestamp":1660123127}}"#
    ))
}

fn detail(status: &str) -> OrderDetail {
    serde_json::from_value(serde_json::json!({
        "order_sn": "220810QSK8S7BX", "order_status": status, "currency": "SGD", "total_amount": 23.9,
        "buyer_username": "buyer_ana",
        "item_list": [{"item_name": "Mug", "model_quantity_purchased": 1, "model_discounted_price": 23.9}]
    }))
    .unwrap()
}

/// [`super::normalize`] under the default data policy.
fn normalize(
    app: &ConfigId,
    push: &ShopeePush,
    hint: &str,
    detail: Option<&OrderDetail>,
    known: Option<&OrderStatus>,
) -> Vec<Event> {
    // A detail that fails to convert leaves the event with the bare snapshot.
    let snapshot = detail.and_then(|d| d.to_snapshot(&FieldPolicy::minimal()).ok());
    super::normalize(app, push, hint, snapshot.as_ref(), known)
}

fn one(events: Vec<Event>) -> Event {
    assert_eq!(events.len(), 1, "{events:?}");
    events.into_iter().next().unwrap()
}

#[test]
fn a_new_unpaid_or_ready_order_is_created_with_its_detail() {
    for status in ["UNPAID", "READY_TO_SHIP"] {
        let d = detail(status);
        let e = one(normalize(&app(), &status_push(status, 100), "h", Some(&d), None));
        assert_eq!(e.kind(), EventKind::OrderCreated);
        // Created once per order, whichever status first shows it.
        assert_eq!(e.dedupe_key, "shopee:727720655:220810QSK8S7BX:created");
        assert_eq!(e.platform, crate::shopee::PLATFORM);
        assert_eq!(e.app, app());
        assert_eq!(e.shop_id.map(ShopId::get), Some(727720655));
        assert_eq!(e.order_sn.as_ref().map(OrderSn::as_str), Some("220810QSK8S7BX"));
        assert_eq!(e.occurred_at, UnixMs::from_secs(100));
        let order = e.order.unwrap();
        assert_eq!(order.buyer_username.as_deref(), Some("buyer_ana"));
        assert_eq!(order.items.len(), 1);
    }
}

#[test]
fn known_orders_change_status_and_repeats_are_silent() {
    let e = one(normalize(
        &app(),
        &status_push("SHIPPED", 200),
        "h",
        None,
        Some(&crate::shopee::status::order_status("PROCESSED")),
    ));
    assert_eq!(
        e.body,
        EventBody::OrderStatusChanged {
            from: Some(crate::shopee::status::order_status("PROCESSED")),
            to: crate::shopee::status::order_status("SHIPPED")
        }
    );
    assert_eq!(
        e.order,
        Some(OrderSnapshot::bare(
            OrderSn::parse("220810QSK8S7BX").unwrap(),
            crate::shopee::status::order_status("SHIPPED")
        ))
    );

    assert!(normalize(
        &app(),
        &status_push("SHIPPED", 200),
        "h",
        None,
        Some(&crate::shopee::status::order_status("SHIPPED"))
    )
    .is_empty());

    // First sight of an order past creation is a change from an unknown status, not a creation.
    let e = one(normalize(&app(), &status_push("PROCESSED", 150), "h", None, None));
    assert_eq!(
        e.body,
        EventBody::OrderStatusChanged {
            from: None,
            to: crate::shopee::status::order_status("PROCESSED")
        }
    );
}

#[test]
fn duplicate_pushes_share_a_key_and_returns_to_a_status_do_not() {
    let key = |update_time, known: &OrderStatus| {
        one(normalize(
            &app(),
            &status_push("PROCESSED", update_time),
            "h",
            None,
            Some(known),
        ))
        .dedupe_key
    };
    assert_eq!(
        key(300, &crate::shopee::status::order_status("READY_TO_SHIP")),
        key(300, &crate::shopee::status::order_status("READY_TO_SHIP"))
    );
    assert_ne!(
        key(300, &crate::shopee::status::order_status("READY_TO_SHIP")),
        key(500, &crate::shopee::status::order_status("RETRY_SHIP"))
    );
}

#[test]
fn another_orders_detail_is_ignored() {
    let mut other = detail("UNPAID");
    other.order_sn = "OTHER1".into();
    let e = one(normalize(&app(), &status_push("UNPAID", 1), "h", Some(&other), None));
    assert_eq!(e.order.unwrap().items.len(), 0);
}

#[test]
fn tracking_number() {
    let p = push(
        r#"{"code":4,"shop_id":5,"timestamp":9,"data":{"ordersn":"X1","package_number":"OFG1","tracking_no":"SPX123"}}"#,
    );
    let e = one(normalize(
        &app(),
        &p,
        "h",
        None,
        Some(&crate::shopee::status::order_status("PROCESSED")),
    ));
    assert_eq!(e.dedupe_key, "shopee:5:X1:tracking:SPX123");
    assert_eq!(
        e.body,
        EventBody::TrackingNumberAssigned {
            tracking_no: "SPX123".into(),
            package_number: Some("OFG1".into())
        }
    );
    assert_eq!(
        e.order.map(|o| o.status),
        Some(crate::shopee::status::order_status("PROCESSED"))
    );
    assert_eq!(one(normalize(&app(), &p, "h", None, None)).order, None);
}

#[test]
fn authorization_events() {
    let auth = one(normalize(
        &app(),
        &push(r#"{"code":1,"timestamp":7,"data":{"shop_id":11,"success":1}}"#),
        "h",
        None,
        None,
    ));
    assert_eq!(
        (auth.kind(), auth.dedupe_key.as_str()),
        (EventKind::ShopAuthorized, "shopee:auth:11:7")
    );
    let main = one(normalize(
        &app(),
        &push(r#"{"code":1,"data":{"main_account_id":42}}"#),
        "hint",
        None,
        None,
    ));
    assert_eq!(
        (main.shop_id, main.dedupe_key.as_str()),
        (None, "shopee:auth:main:42:hint")
    );

    let deauth = one(normalize(
        &app(),
        &push(r#"{"code":2,"timestamp":7,"data":{"shopid":12}}"#),
        "h",
        None,
        None,
    ));
    assert_eq!(
        (deauth.kind(), deauth.dedupe_key.as_str()),
        (EventKind::ShopDeauthorized, "shopee:deauth:12:7")
    );

    let expiring = normalize(
        &app(),
        &push(
            r#"{"code":12,"timestamp":7,"data":{"shop_expire_soon":[1,2],"merchant_expire_soon":[3],"expire_before":99}}"#,
        ),
        "h",
        None,
        None,
    );
    assert_eq!(expiring.len(), 2);
    assert_eq!(expiring[1].shop_id.map(ShopId::get), Some(2));
    assert_eq!(expiring[1].dedupe_key, "shopee:expiring:2:99");
    assert_eq!(
        expiring[0].body,
        EventBody::AuthorizationExpiring {
            expire_before: Some(99)
        }
    );
}

#[test]
fn buyer_messages_with_placeholders() {
    let chat = |from: u64, kind: &str, content: &str| {
        push(&format!(
            r#"{{"code":10,"shop_id":8,"timestamp":1,"data":{{"type":"message","content":{{"message_id":"m{from}{kind}","from_id":{from},"from_user_name":"ana","to_id":8,"message_type":"{kind}","content":{content},"conversation_id":"c1","created_timestamp":5}}}}}}"#
        ))
    };
    let e = one(normalize(
        &app(),
        &chat(55, "text", r#"{"text":"hi 你好"}"#),
        "h",
        None,
        None,
    ));
    assert_eq!(e.dedupe_key, "shopee:chat:m55text");
    assert_eq!(e.occurred_at, UnixMs::from_secs(5));
    assert_eq!(
        e.body,
        EventBody::BuyerMessage {
            conversation_id: "c1".into(),
            from_user_name: "ana".into(),
            text: "hi 你好".into(),
            message_id: "m55text".into(),
            buyer_id: Some("55".into()),
            conversation: None,
            latest_order: None,
        }
    );
    let image = one(normalize(&app(), &chat(55, "image", r#"{"url":"u"}"#), "h", None, None));
    assert!(matches!(image.body, EventBody::BuyerMessage { ref text, .. } if text == "[图片]"));
    let faq = one(normalize(&app(), &chat(55, "faq_liveagent", "{}"), "h", None, None));
    assert!(matches!(faq.body, EventBody::BuyerMessage { ref text, .. } if text == "[faq_liveagent]"));
    // The shop's own message echoed back is not a buyer message.
    assert!(normalize(&app(), &chat(8, "text", r#"{"text":"thanks"}"#), "h", None, None).is_empty());
    let note = push(r#"{"code":10,"shop_id":8,"timestamp":1,"data":{"type":"notification","content":{}}}"#);
    assert!(normalize(&app(), &note, "h", None, None).is_empty());
}

#[test]
fn verification_and_unknown_pushes_make_no_events() {
    assert!(normalize(
        &app(),
        &push(r#"{"code":0,"data":{"verify_info":"x"}}"#),
        "h",
        None,
        None
    )
    .is_empty());
    assert!(normalize(
        &app(),
        &push(r#"{"code":15,"shop_id":5,"timestamp":9,"data":{}}"#),
        "h",
        None,
        None
    )
    .is_empty());
}
