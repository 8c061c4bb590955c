use super::*;

const ORDER_PUSH: &str = r#"{"data":{"items":[],"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127},"shop_id":727720655,"code":3,"timestamp":1660123127}"#;
const CHAT_PUSH: &str = r#"{"code":10,"shop_id":727720655,"timestamp":1700000000,"data":{"type":"message","content":{"message_id":"2123","from_id":55501,"from_user_name":"buyer_ana","to_id":727720655,"message_type":"text","content":{"text":"Kapan pesanan saya dikirim? 我的订单什么时候发货"},"conversation_id":"9988776655","created_timestamp":1700000000}}}"#;

fn shop(id: u64) -> ShopId {
    ShopId::new(id).unwrap()
}

fn parse(raw: &str) -> ShopeePush {
    ShopeePush::parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn field_of(raw: &str) -> &'static str {
    match ShopeePush::parse(raw.as_bytes()) {
        Err(PushParseError::Missing { field } | PushParseError::Invalid { field, .. }) => field,
        other => panic!("expected a field error for {raw}, got {other:?}"),
    }
}

#[test]
fn order_status_push_from_the_docs() {
    let push = parse(ORDER_PUSH);
    assert_eq!(push.code, 3);
    assert_eq!(push.shop_id, Some(shop(727720655)));
    assert_eq!(push.timestamp, Some(1660123127));
    assert_eq!(push.msg_id, None);
    assert_eq!(
        push.body,
        PushBody::OrderStatus {
            shop_id: shop(727720655),
            order_sn: OrderSn::parse("220810QSK8S7BX").unwrap(),
            status: crate::shopee::status::order_status("PROCESSED"),
            update_time: 1660123127,
            completed_scenario: None,
        }
    );
}

#[test]
fn live_order_push_with_msg_id_and_null_scenario() {
    let push = parse(
        r#"{"msg_id":"a1b2","data":{"ordersn":"X1","status":"COMPLETED","completed_scenario":null},"shop_id":5,"code":3,"timestamp":9}"#,
    );
    assert_eq!(push.msg_id.as_deref(), Some("a1b2"));
    let PushBody::OrderStatus {
        update_time,
        completed_scenario,
        status,
        ..
    } = push.body
    else {
        panic!()
    };
    assert_eq!(
        (update_time, completed_scenario, status),
        (9, None, crate::shopee::status::order_status("COMPLETED"))
    );
    let push = parse(
        r#"{"data":{"ordersn":"X1","status":"SOMETHING_NEW","completed_scenario":"BUYER_CONFIRMED"},"shop_id":5,"code":3,"timestamp":9}"#,
    );
    let PushBody::OrderStatus {
        completed_scenario,
        status,
        ..
    } = push.body
    else {
        panic!()
    };
    assert_eq!(completed_scenario.as_deref(), Some("BUYER_CONFIRMED"));
    assert_eq!(
        status,
        OrderStatus::new(shoprelay_core::order::OrderStage::Other, "SOMETHING_NEW")
    );
}

#[test]
fn verification_push_has_no_timestamp() {
    let push = parse(r#"{"code":0,"data":{"verify_info":"This is a Verification message."}}"#);
    assert_eq!(push.timestamp, None);
    assert_eq!(
        push.body,
        PushBody::Verification {
            verify_info: Some("This is a Verification message.".into())
        }
    );
}

#[test]
fn authorization_pushes() {
    let push = parse(
        r#"{"code":1,"partner_id":2001887,"timestamp":7,"data":{"shop_id":11,"success":1,"extra":"ok","main_account_id":0}}"#,
    );
    assert_eq!(
        push.body,
        PushBody::ShopAuthorized {
            shop_id: Some(shop(11)),
            main_account_id: None,
            partner_id: Some(2001887),
            success: Some(1),
            extra: Some("ok".into()),
        }
    );
    let main = parse(r#"{"code":1,"timestamp":7,"data":{"shop_id":0,"main_account_id":42}}"#);
    let PushBody::ShopAuthorized {
        shop_id,
        main_account_id,
        ..
    } = main.body
    else {
        panic!()
    };
    assert_eq!((shop_id, main_account_id), (None, Some(42)));

    for raw in [
        r#"{"code":2,"timestamp":7,"data":{"shop_id":12}}"#,
        r#"{"code":2,"timestamp":7,"data":{"shopid":12}}"#,
        r#"{"code":2,"timestamp":7,"shopid":12,"data":{}}"#,
        r#"{"code":2,"timestamp":7,"shop_id":12}"#,
    ] {
        assert_eq!(
            parse(raw).body,
            PushBody::ShopDeauthorized { shop_id: shop(12) },
            "{raw}"
        );
    }
    assert_eq!(field_of(r#"{"code":2,"timestamp":7,"data":{}}"#), "data.shop_id");

    let expiring = parse(
        r#"{"code":12,"timestamp":7,"data":{"shop_expire_soon":[1,2],"merchant_expire_soon":[3],"expire_before":99,"page_no":1,"total_page":1}}"#,
    );
    assert_eq!(
        expiring.body,
        PushBody::AuthorizationExpiring {
            shop_ids: vec![shop(1), shop(2)],
            merchant_ids: vec![3],
            expire_before: Some(99)
        }
    );
    assert_eq!(
        field_of(r#"{"code":12,"data":{"shop_expire_soon":[1,0]}}"#),
        "data.shop_expire_soon"
    );
}

#[test]
fn tracking_number_push() {
    let push = parse(
        r#"{"code":4,"shop_id":5,"timestamp":9,"data":{"ordersn":"X1","forder_id":"F1","package_number":"OFG1","tracking_no":"SPX123"}}"#,
    );
    assert_eq!(
        push.body,
        PushBody::TrackingNumber {
            shop_id: shop(5),
            order_sn: OrderSn::parse("X1").unwrap(),
            package_number: Some("OFG1".into()),
            tracking_no: "SPX123".into(),
        }
    );
    assert_eq!(
        field_of(r#"{"code":4,"shop_id":5,"data":{"ordersn":"X1"}}"#),
        "data.tracking_no"
    );
}

#[test]
fn webchat_message_and_notification() {
    let push = parse(CHAT_PUSH);
    let PushBody::Webchat {
        shop_id,
        message: Some(m),
    } = push.body
    else {
        panic!()
    };
    assert_eq!(shop_id, shop(727720655));
    assert_eq!(m.message_id, "2123");
    assert_eq!(m.conversation_id, "9988776655");
    assert_eq!(m.from_id, Some(55501));
    assert_eq!(m.from_user_name, "buyer_ana");
    assert_eq!(m.message_type, "text");
    assert_eq!(
        m.text.as_deref(),
        Some("Kapan pesanan saya dikirim? 我的订单什么时候发货")
    );
    assert_eq!(m.created_timestamp, Some(1700000000));

    let image = parse(
        r#"{"code":10,"timestamp":1,"data":{"type":"message","content":{"shop_id":8,"message_id":77,"conversation_id":66,"message_type":"image","content":{"url":"u","thumb_url":"t"}}}}"#,
    );
    let PushBody::Webchat {
        shop_id,
        message: Some(m),
    } = image.body
    else {
        panic!()
    };
    assert_eq!(
        (shop_id, m.message_id.as_str(), m.conversation_id.as_str(), m.text),
        (shop(8), "77", "66", None)
    );

    let note = parse(r#"{"code":10,"shop_id":8,"timestamp":1,"data":{"type":"notification","content":{"x":1}}}"#);
    assert_eq!(
        note.body,
        PushBody::Webchat {
            shop_id: shop(8),
            message: None
        }
    );
}

#[test]
fn unknown_codes_are_kept_not_rejected() {
    let push = parse(r#"{"code":15,"shop_id":5,"timestamp":9,"data":{"whatever":[1,2,3]}}"#);
    assert_eq!(push.body, PushBody::Other { code: 15 });
    assert_eq!(parse(r#"{"code":-7}"#).body, PushBody::Other { code: -7 });
}

#[test]
fn bad_fields_name_the_field() {
    assert_eq!(field_of(r#"{"data":{}}"#), "code");
    assert_eq!(field_of(r#"{"code":"3"}"#), "code");
    assert_eq!(field_of(r#"[]"#), "(body)");
    assert_eq!(
        field_of(r#"{"code":3,"data":{"ordersn":"X1","status":"SHIPPED","update_time":1}}"#),
        "shop_id"
    );
    assert_eq!(field_of(r#"{"code":3,"shop_id":"5","data":{}}"#), "shop_id");
    assert_eq!(
        field_of(r#"{"code":3,"shop_id":5,"data":{"status":"SHIPPED"}}"#),
        "data.ordersn"
    );
    assert_eq!(
        field_of(r#"{"code":3,"shop_id":5,"data":{"ordersn":"a b","status":"SHIPPED"}}"#),
        "data.ordersn"
    );
    assert_eq!(
        field_of(r#"{"code":3,"shop_id":5,"data":{"ordersn":"X1"}}"#),
        "data.status"
    );
    assert_eq!(
        field_of(r#"{"code":3,"shop_id":5,"data":{"ordersn":"X1","status":"SHIPPED"}}"#),
        "data.update_time"
    );
    assert_eq!(field_of(r#"{"code":3,"shop_id":5,"data":[1]}"#), "data");
    assert_eq!(
        field_of(r#"{"code":10,"shop_id":5,"data":{"type":"message"}}"#),
        "data.content"
    );
    assert_eq!(
        field_of(r#"{"code":10,"shop_id":5,"data":{"type":"message","content":{"message_type":"text"}}}"#),
        "data.content.message_id"
    );

    let err = ShopeePush::parse(br#"{"code":3,"shop_id":5,"data":{"status":"SHIPPED"}}"#).unwrap_err();
    assert!(err.to_string().contains("data.ordersn"), "{err}");
    let err = ShopeePush::parse(b"not json").unwrap_err();
    assert!(matches!(err, PushParseError::NotJson(_)));
}

#[test]
fn both_spellings_of_the_order_and_the_shop_are_read() {
    let expected = PushBody::OrderStatus {
        shop_id: shop(727720655),
        order_sn: OrderSn::parse("220810QSK8S7BX").unwrap(),
        status: crate::shopee::status::order_status("PROCESSED"),
        update_time: 1660123127,
        completed_scenario: None,
    };
    for raw in [
        r#"{"data":{"order_sn":"220810QSK8S7BX","status":"PROCESSED","update_time":1660123127},"shop_id":727720655,"code":3,"timestamp":1660123127}"#,
        r#"{"data":{"ordersn":"220810QSK8S7BX","status":"PROCESSED","update_time":1660123127},"shopid":727720655,"code":3,"timestamp":1660123127}"#,
        r#"{"data":{"order_sn":"220810QSK8S7BX","status":"PROCESSED","update_time":1660123127},"shopid":727720655,"code":3,"timestamp":1660123127}"#,
    ] {
        let push = parse(raw);
        assert_eq!(push.shop_id, Some(shop(727720655)), "{raw}");
        assert_eq!(push.body, expected, "{raw}");
    }
    let tracking = parse(r#"{"code":4,"shopid":5,"timestamp":9,"data":{"order_sn":"X1","tracking_no":"SPX123"}}"#);
    assert_eq!(
        tracking.body,
        PushBody::TrackingNumber {
            shop_id: shop(5),
            order_sn: OrderSn::parse("X1").unwrap(),
            package_number: None,
            tracking_no: "SPX123".into(),
        }
    );
}

#[test]
fn truncated_and_garbled_bodies_never_panic() {
    let samples = [
        ORDER_PUSH,
        CHAT_PUSH,
        r#"{"code":12,"timestamp":7,"data":{"shop_expire_soon":[1,2],"merchant_expire_soon":[3],"expire_before":99}}"#,
        r#"{"code":4,"shop_id":5,"timestamp":9,"data":{"ordersn":"X1","package_number":"OFG1","tracking_no":"SPX123"}}"#,
        r#"{"code":2,"timestamp":7,"data":{"shopid":12}}"#,
    ];
    // A small deterministic generator keeps the test reproducible without a dependency.
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut parsed = 0;
    for sample in samples {
        let bytes = sample.as_bytes();
        for cut in 0..bytes.len() {
            let _ = ShopeePush::parse(&bytes[..cut]);
            let _ = dedupe_key(&bytes[..cut]);
        }
        for _ in 0..2000 {
            let mut garbled = bytes.to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() as usize) % garbled.len();
                garbled[at] = (next() % 256) as u8;
            }
            if ShopeePush::parse(&garbled).is_ok() {
                parsed += 1;
            }
            let _ = dedupe_key(&garbled);
        }
    }
    // Some garbles hit only string contents and still parse: the loop exercised both outcomes.
    assert!(parsed > 0);
}

#[test]
fn dedupe_key_prefers_msg_id_else_hashes_the_body() {
    assert_eq!(dedupe_key(br#"{"msg_id":"abc","code":3}"#), "abc");
    assert_eq!(dedupe_key(br#"{"msg_id":12345,"code":3}"#), "12345");
    let a = dedupe_key(ORDER_PUSH.as_bytes());
    assert_eq!(a.len(), 64);
    assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(a, dedupe_key(ORDER_PUSH.as_bytes()));
    assert_ne!(a, dedupe_key(CHAT_PUSH.as_bytes()));
    assert_eq!(dedupe_key(b"garbage").len(), 64);
}
