use super::*;
use crate::shopee::push::{PushBody, ShopeePush};
use serde_json::json;
use shoprelay_clock::UnixMs;
use shoprelay_core::policy::FieldPolicy;

fn detail(json: serde_json::Value) -> OrderDetail {
    serde_json::from_value(json).unwrap()
}

#[test]
fn order_detail_with_optional_fields_becomes_a_snapshot() {
    let d = detail(serde_json::json!({
        "order_sn": "220810QSK8S7BX", "region": "SG", "currency": "SGD", "cod": false,
        "order_status": "READY_TO_SHIP", "message_to_seller": "", "create_time": 1660120000,
        "update_time": 1660123127, "days_to_ship": 3, "ship_by_date": 1660379000,
        "buyer_username": "buyer_ana", "pay_time": 1660120100, "total_amount": 23.9,
        "payment_method": "Credit Card", "shipping_carrier": "SPX Express",
        "item_list": [
            {"item_id": 1, "item_name": "Mug", "item_sku": "MUG", "model_id": 2, "model_name": "Blue",
             "model_sku": "MUG-B", "model_quantity_purchased": 2, "model_original_price": 12.5,
             "model_discounted_price": 9.95},
            {"item_name": "Sticker", "item_sku": "STK", "model_sku": "", "model_name": "",
             "model_quantity_purchased": 1, "model_discounted_price": "4.00"}
        ],
        "package_list": [{"package_number": "OFG1", "logistics_status": "LOGISTICS_READY", "shipping_carrier": "SPX Express"}],
        "some_future_field": {"x": 1}
    }));
    let snap = d.to_snapshot(&FieldPolicy::minimal()).unwrap();
    assert_eq!(snap.order_sn.as_str(), "220810QSK8S7BX");
    assert_eq!(snap.status, crate::shopee::status::order_status("READY_TO_SHIP"));
    assert_eq!(snap.total_amount, Some(Decimal::from_str("23.9").unwrap()));
    assert_eq!(snap.total_display().as_deref(), Some("SGD 23.9"));
    assert_eq!(snap.buyer_username.as_deref(), Some("buyer_ana"));
    assert_eq!(snap.message_to_seller, None);
    assert_eq!(snap.pay_time, Some(1660120100));
    assert_eq!(snap.items.len(), 2);
    assert_eq!(snap.items[0].sku.as_deref(), Some("MUG-B"));
    assert_eq!(snap.items[0].model_name.as_deref(), Some("Blue"));
    assert_eq!(snap.items[0].quantity, 2);
    assert_eq!(snap.items[0].unit_price, Some(Decimal::from_str("9.95").unwrap()));
    assert_eq!(snap.items[1].sku.as_deref(), Some("STK"));
    assert_eq!(snap.items[1].model_name, None);
    assert_eq!(snap.items[1].unit_price, Some(Decimal::from_str("4.00").unwrap()));
    assert_eq!(d.package_list[0].package_number, "OFG1");
}

#[test]
fn default_fields_only_still_decode() {
    let d =
        detail(serde_json::json!({"order_sn": "X1", "order_status": "UNPAID", "pay_time": 0, "total_amount": null}));
    let snap = d.to_snapshot(&FieldPolicy::minimal()).unwrap();
    assert_eq!(
        snap,
        OrderSnapshot::bare(
            OrderSn::parse("X1").unwrap(),
            crate::shopee::status::order_status("UNPAID")
        )
    );
}

#[test]
fn unusable_details_are_errors_not_panics() {
    assert!(detail(serde_json::json!({"order_sn": "a b", "order_status": "UNPAID"}))
        .to_snapshot(&FieldPolicy::minimal())
        .is_err());
    assert!(detail(serde_json::json!({"order_sn": "X1"}))
        .to_snapshot(&FieldPolicy::minimal())
        .is_err());
    assert!(
        serde_json::from_value::<OrderDetail>(serde_json::json!({"order_sn": "X1", "total_amount": "abc"})).is_err()
    );
    assert!(serde_json::from_value::<OrderDetail>(serde_json::json!({"order_sn": "X1", "total_amount": [1]})).is_err());
    let big = detail(serde_json::json!({"order_sn": "X1", "order_status": "UNPAID", "total_amount": 1e3}));
    assert_eq!(big.total_amount, Some(Decimal::from(1000)));
}

#[test]
fn token_answers_from_code_and_refresh() {
    let code: TokenAnswer = serde_json::from_value(serde_json::json!({
        "request_id": "r", "error": "", "message": "", "access_token": "a", "refresh_token": "r1",
        "expire_in": 14400, "shop_id_list": [11, 12], "merchant_id_list": [7]
    }))
    .unwrap();
    let grant = code.into_grant().unwrap();
    assert_eq!(grant.access_token.expose(), "a");
    assert_eq!(grant.shop_ids, vec![ShopId::new(11).unwrap(), ShopId::new(12).unwrap()]);
    assert_eq!(grant.merchant_ids, vec![7]);

    let refresh: TokenAnswer = serde_json::from_value(serde_json::json!({
        "partner_id": 1, "shop_id": 11, "access_token": "b", "refresh_token": "r2", "expire_in": 14400
    }))
    .unwrap();
    let grant = refresh.into_grant().unwrap();
    assert_eq!(
        (grant.refresh_token.expose(), grant.shop_ids.len(), grant.expires),
        ("r2", 1, TokenExpiry::In(14400))
    );

    let empty: TokenAnswer = serde_json::from_value(serde_json::json!({"expire_in": 1})).unwrap();
    assert!(empty.into_grant().is_err());
}

#[test]
fn order_list_page() {
    let answer: OrderListAnswer = serde_json::from_value(serde_json::json!({
        "more": true, "next_cursor": "20",
        "order_list": [{"order_sn": "A1", "order_status": "SHIPPED"}, {"order_sn": "A2"}]
    }))
    .unwrap();
    let page = answer.into_page().unwrap();
    assert!(page.more);
    assert_eq!(page.next_cursor.as_deref(), Some("20"));
    assert_eq!(
        page.orders[0].status,
        Some(crate::shopee::status::order_status("SHIPPED"))
    );
    assert_eq!(
        page.orders[1],
        OrderListItem {
            order_sn: OrderSn::parse("A2").unwrap(),
            status: None
        }
    );
}

#[test]
fn lost_push_page_in_the_documented_shape() {
    // The reference's shape: `data` is a JSON string holding the whole original envelope.
    let original = r#"{"data":{"items":[],"ordersn":"220810QSK8S7BX","status":"PROCESSED","completed_scenario":"","update_time":1660123127},"shop_id":727720655,"code":3,"timestamp":1660123100}"#;
    let page: LostPushPage = serde_json::from_value(json!({
        "push_message_list": [
            {"shop_id": 727720655, "code": 3, "timestamp": 1660129999, "data": original},
            {"code": 12, "timestamp": 1660129999, "data": "{\"code\":12,\"timestamp\":1660120000,\"data\":{\"shop_expire_soon\":[5]}}"},
            {"code": 3, "data": "not json"},
            {"shop_id": "weird", "data": 7},
        ],
        "has_next_page": false,
        "last_message_id": 42
    }))
    .unwrap();
    assert_eq!(page.push_message_list.len(), 4, "an odd item never fails its page");
    assert_eq!(page.last_message_id, Some(42));

    let first = page.push_message_list[0].push_body();
    assert_eq!(first, original.as_bytes(), "the original envelope, byte for byte");
    let push = ShopeePush::parse(&first).unwrap();
    assert_eq!(
        push.timestamp,
        Some(1660123100),
        "Shopee's timestamp, not the item's or ours"
    );
    assert!(matches!(
        push.body,
        PushBody::OrderStatus {
            update_time: 1660123127,
            ..
        }
    ));

    let partner = ShopeePush::parse(&page.push_message_list[1].push_body()).unwrap();
    assert_eq!(
        (partner.code, partner.shop_id, partner.timestamp),
        (12, None, Some(1660120000))
    );

    // Unreadable items are kept as they came: stored, failed, replayable.
    for odd in &page.push_message_list[2..] {
        let body = odd.push_body();
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), odd.0);
        assert!(ShopeePush::parse(&body).is_err());
    }
}

#[test]
fn lost_push_with_only_the_data_object_is_wrapped() {
    let lost = LostPush(json!({"shop_id": 5, "code": 3, "timestamp": 9,
        "data": r#"{"ordersn":"X1","status":"SHIPPED","update_time":8}"#}));
    let push = ShopeePush::parse(&lost.push_body()).unwrap();
    assert_eq!(
        (push.code, push.shop_id.map(|s| s.get()), push.timestamp),
        (3, Some(5), Some(9))
    );
    assert!(matches!(push.body, PushBody::OrderStatus { update_time: 8, .. }));
}

#[test]
fn the_recipient_keeps_only_what_the_policy_allows_and_drops_shopees_own_masks() {
    use shoprelay_core::policy::{Acceptance, SensitiveField, COMMITMENT_VERSION};
    let d = detail(json!({
        "order_sn": "220810QSK8S7BX", "order_status": "READY_TO_SHIP",
        "recipient_address": {"name": "Tan Mei Ling", "phone": "******64", "town": "", "district": "Tanjong Pagar",
            "city": "Singapore", "state": "", "region": "SG", "zipcode": "******", "full_address": "****"}
    }));
    assert_eq!(d.to_snapshot(&FieldPolicy::minimal()).unwrap().recipient, None);
    let accepted = Some(Acceptance {
        by: "admin".into(),
        at: UnixMs::from_millis(1),
        version: COMMITMENT_VERSION.into(),
    });
    let policy = FieldPolicy::new([SensitiveField::Phone, SensitiveField::Address].into(), accepted).unwrap();
    let r = d.to_snapshot(&policy).unwrap().recipient.unwrap();
    assert_eq!(r.name, None, "name is not in the policy");
    assert_eq!(
        r.phone.as_deref(),
        Some("******64"),
        "Shopee's partial mask still says something"
    );
    let address = r.address.unwrap();
    assert_eq!(
        address.full_address, None,
        "an all-stars value is unknown, not an address"
    );
    assert_eq!(address.zipcode, None);
    assert_eq!(address.district.as_deref(), Some("Tanjong Pagar"));
}
