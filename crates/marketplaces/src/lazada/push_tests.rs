use super::*;

/// Lazada's trade order sample, with the ids its document elides filled in.
const ORDER_PUSH: &str = r#"{"seller_id":"1234567","message_type":0,"data":{"order_status":"unpaid","trade_order_id":"260422900198363","trade_order_line_id":"260422900298363","status_update_time":1603698638},"timestamp":1603766859530,"site":"lazada_vn"}"#;
/// Lazada's sample of an order status change that belongs to a return.
const RETURN_PUSH: &str = r#"{"seller_id":"1000114855","message_type":0,"data":{"order_status":"returned","reverse_order_id":"501977696648153","reverse_order_line_id":"502491640048153","status_update_time":1603703663,"trade_order_id":"252883361348153","trade_order_line_id":"252883361948153"},"timestamp":1603715010436,"site":"lazada_vn"}"#;
/// Lazada's token expiration alert: the seller is inside `data`, `"null"` on top, timestamp in seconds.
const TOKEN_PUSH: &str = r#"{"seller_id":"null","message_type":8,"data":{"app_key":"115527","auth_expiry_time":1627542238,"seller_id":"1000165972"},"timestamp":1627416758,"site":"lazada_ph"}"#;
/// Lazada's seller status sample.
const SELLER_PUSH: &str = r#"{"seller_id":"100053528","message_type":13,"data":{"status":"normal"},"timestamp":1627038397,"site":"lazada_sg"}"#;
/// Lazada's category tree broadcast: no seller at all.
const BROADCAST_PUSH: &str = r#"{"message_type":12,"data":{"status":"finish","status_update_time":1627203600000},"timestamp":1627203600,"site":"lazada_sg"}"#;

fn seller(id: u64) -> ShopId {
    ShopId::new(id).unwrap()
}

fn parse(raw: &str) -> LazadaPush {
    LazadaPush::parse(raw.as_bytes()).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

fn field_of(raw: &str) -> &'static str {
    match LazadaPush::parse(raw.as_bytes()) {
        Err(PushParseError::Missing { field } | PushParseError::Invalid { field, .. }) => field,
        other => panic!("expected a field error for {raw}, got {other:?}"),
    }
}

#[test]
fn order_status_push_from_the_docs() {
    let push = parse(ORDER_PUSH);
    assert_eq!(push.seller_id, Some(seller(1234567)));
    assert_eq!(push.message_type, ORDER_STATUS);
    assert_eq!(push.timestamp_ms, 1603766859530);
    assert_eq!(push.site.as_deref(), Some("lazada_vn"));
    assert_eq!(push.region(), Some(LazadaRegion::Vn));
    assert_eq!(
        push.body,
        PushBody::OrderStatus {
            seller_id: seller(1234567),
            trade_order_id: OrderSn::parse("260422900198363").unwrap(),
            trade_order_line_id: Some("260422900298363".into()),
            order_status: "unpaid".into(),
            status_update_time: 1603698638,
            reverse_order_id: None,
            reverse_order_line_id: None,
        }
    );
    assert_eq!(
        push.times(),
        vec![
            ("timestamp", UnixMs::from_millis(1603766859530)),
            ("data.status_update_time", UnixMs::from_secs(1603698638))
        ]
    );
}

#[test]
fn the_signed_vector_body_parses() {
    const VECTORS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    ));
    let doc: serde_json::Value = serde_json::from_str(VECTORS).unwrap();
    let vector = doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["platform"] == "lazada" && v["kind"] == "push")
        .unwrap();
    let push = parse(vector["raw_body"].as_str().unwrap());
    assert!(matches!(push.body, PushBody::OrderStatus { .. }));
    assert_eq!(push.region(), Some(LazadaRegion::Vn));
}

#[test]
fn return_push_keeps_the_reverse_order() {
    let PushBody::OrderStatus {
        order_status,
        reverse_order_id,
        reverse_order_line_id,
        trade_order_id,
        ..
    } = parse(RETURN_PUSH).body
    else {
        panic!()
    };
    assert_eq!(order_status, "returned");
    assert_eq!(trade_order_id.as_str(), "252883361348153");
    assert_eq!(reverse_order_id.as_deref(), Some("501977696648153"));
    assert_eq!(reverse_order_line_id.as_deref(), Some("502491640048153"));
}

#[test]
fn ids_and_times_as_numbers_or_strings() {
    // The reverse-order sample sends its ids as numbers; milliseconds in status_update_time are seconds'd.
    let push = parse(
        r#"{"seller_id":1234567,"message_type":"0","data":{"order_status":"shipped","trade_order_id":416557324702006,"trade_order_line_id":416557324802006,"status_update_time":"1626767698000"},"timestamp":"1627889609","site":"LAZADA-SG"}"#,
    );
    assert_eq!(push.seller_id, Some(seller(1234567)));
    assert_eq!(push.timestamp_ms, 1627889609000);
    assert_eq!(push.region(), Some(LazadaRegion::Sg));
    let PushBody::OrderStatus {
        trade_order_id,
        trade_order_line_id,
        status_update_time,
        ..
    } = push.body
    else {
        panic!()
    };
    assert_eq!(trade_order_id.as_str(), "416557324702006");
    assert_eq!(trade_order_line_id.as_deref(), Some("416557324802006"));
    assert_eq!(status_update_time, 1626767698);
}

#[test]
fn token_expiry_names_the_seller_inside_data() {
    let push = parse(TOKEN_PUSH);
    assert_eq!(push.seller_id, Some(seller(1000165972)));
    assert_eq!(push.timestamp_ms, 1627416758000, "seconds are read as milliseconds");
    assert_eq!(push.region(), Some(LazadaRegion::Ph));
    assert_eq!(
        push.body,
        PushBody::TokenExpiring {
            seller_id: seller(1000165972),
            app_key: Some("115527".into()),
            auth_expiry_time: Some(1627542238),
        }
    );
    assert_eq!(push.times(), vec![("timestamp", UnixMs::from_secs(1627416758))]);
}

#[test]
fn seller_status_and_other_types() {
    let push = parse(SELLER_PUSH);
    assert_eq!(
        push.body,
        PushBody::SellerStatus {
            seller_id: seller(100053528),
            status: "normal".into(),
        }
    );
    let broadcast = parse(BROADCAST_PUSH);
    assert_eq!(broadcast.seller_id, None);
    assert_eq!(broadcast.body, PushBody::Other { message_type: 12 });
    let product = parse(
        r#"{"seller_id":"500176629136","message_type":1,"data":{"itemId":2202832065},"timestamp":1627451616,"site":"lazada_ph"}"#,
    );
    assert_eq!(product.seller_id, Some(seller(500176629136)));
    assert_eq!(product.body, PushBody::Other { message_type: 1 });
    let bare = parse(r#"{"message_type":99,"timestamp":1}"#);
    assert_eq!((bare.site.as_deref(), bare.region()), (None, None));
    let unknown_site = parse(r#"{"message_type":99,"timestamp":1,"site":"lazada_cn"}"#);
    assert_eq!(unknown_site.region(), None);
}

#[test]
fn malformed_pushes_name_the_field() {
    let cases = [
        (r#"[1,2]"#, "(body)"),
        (r#"{"timestamp":1}"#, "message_type"),
        (r#"{"message_type":"zero","timestamp":1}"#, "message_type"),
        (r#"{"message_type":0.5,"timestamp":1}"#, "message_type"),
        (r#"{"message_type":0}"#, "timestamp"),
        (r#"{"message_type":0,"timestamp":true}"#, "timestamp"),
        (r#"{"message_type":99,"timestamp":1,"data":[]}"#, "data"),
        (r#"{"message_type":99,"timestamp":1,"site":{}}"#, "site"),
        (r#"{"message_type":99,"timestamp":1,"seller_id":"abc"}"#, "seller_id"),
        (r#"{"message_type":99,"timestamp":1,"seller_id":-5}"#, "seller_id"),
        (
            r#"{"message_type":99,"timestamp":1,"seller_id":"99999999999999999999"}"#,
            "seller_id",
        ),
        (
            r#"{"message_type":99,"timestamp":1,"data":{"seller_id":[1]}}"#,
            "data.seller_id",
        ),
        (
            r#"{"message_type":0,"timestamp":1,"data":{"trade_order_id":"1","order_status":"x","status_update_time":1}}"#,
            "seller_id",
        ),
        (
            r#"{"seller_id":"1","message_type":0,"timestamp":1,"data":{"order_status":"x","status_update_time":1}}"#,
            "data.trade_order_id",
        ),
        (
            r#"{"seller_id":"1","message_type":0,"timestamp":1,"data":{"trade_order_id":"a b","order_status":"x","status_update_time":1}}"#,
            "data.trade_order_id",
        ),
        (
            r#"{"seller_id":"1","message_type":0,"timestamp":1,"data":{"trade_order_id":"1","order_status":"","status_update_time":1}}"#,
            "data.order_status",
        ),
        (
            r#"{"seller_id":"1","message_type":0,"timestamp":1,"data":{"trade_order_id":"1","order_status":"x"}}"#,
            "data.status_update_time",
        ),
        (
            r#"{"seller_id":"1","message_type":0,"timestamp":1,"data":{"trade_order_id":"1","order_status":"x","status_update_time":1,"trade_order_line_id":{}}}"#,
            "data.trade_order_line_id",
        ),
        (
            r#"{"seller_id":"null","message_type":8,"timestamp":1,"data":{}}"#,
            "seller_id",
        ),
        (
            r#"{"seller_id":"1","message_type":13,"timestamp":1,"data":{}}"#,
            "data.status",
        ),
    ];
    for (raw, field) in cases {
        assert_eq!(field_of(raw), field, "{raw}");
    }
    assert!(matches!(
        LazadaPush::parse(b"{\"message_type\":"),
        Err(PushParseError::NotJson(_))
    ));
    assert!(matches!(
        LazadaPush::parse(b"\xff\xfe"),
        Err(PushParseError::NotJson(_))
    ));
}

#[test]
fn hostile_input_never_panics() {
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"\"x\"".to_vec(),
        b"{}".to_vec(),
        br#"{"message_type":9223372036854775807,"timestamp":-9223372036854775808}"#.to_vec(),
        br#"{"message_type":0,"timestamp":9223372036854775807,"seller_id":"1","data":{"trade_order_id":"1","order_status":"x","status_update_time":-9223372036854775808}}"#.to_vec(),
        br#"{"message_type":1e400,"timestamp":1}"#.to_vec(),
        "[".repeat(10_000).into_bytes(),
        format!(r#"{{"message_type":0,"timestamp":1,"seller_id":"1","data":{{"trade_order_id":"{}"}}}}"#, "9".repeat(100_000)).into_bytes(),
    ];
    for body in [ORDER_PUSH, RETURN_PUSH, TOKEN_PUSH, SELLER_PUSH, BROADCAST_PUSH] {
        for cut in 0..body.len() {
            inputs.push(body.as_bytes()[..cut].to_vec());
        }
    }
    for input in &inputs {
        let _ = LazadaPush::parse(input);
        assert_eq!(dedupe_key(input).len(), 64);
    }
}

#[test]
fn dedupe_key_is_stable_across_retries() {
    let key = dedupe_key(ORDER_PUSH.as_bytes());
    assert_eq!(key.len(), 64);
    // The same change re-serialised, with another envelope timestamp, is the same push.
    let retry = r#"{ "site":"lazada_vn","timestamp":1603768659530,"message_type":0,
        "data":{"status_update_time":1603698638,"trade_order_line_id":"260422900298363","trade_order_id":"260422900198363","order_status":"unpaid"},
        "seller_id":1234567 }"#;
    assert_eq!(dedupe_key(retry.as_bytes()), key);
    let changed = [
        ORDER_PUSH.replace("\"unpaid\"", "\"pending\""),
        ORDER_PUSH.replace("260422900298363", "260422900298364"),
        ORDER_PUSH.replace("1603698638", "1603698639"),
        ORDER_PUSH.replace("1234567", "1234568"),
    ];
    for other in changed {
        assert_ne!(dedupe_key(other.as_bytes()), key, "{other}");
    }
    // A token alert is the same alert whenever it is resent; other pushes are known by their bytes.
    let token = dedupe_key(TOKEN_PUSH.as_bytes());
    assert_eq!(
        dedupe_key(TOKEN_PUSH.replace("1627416758", "1627418558").as_bytes()),
        token
    );
    assert_ne!(
        dedupe_key(TOKEN_PUSH.replace("1627542238", "1627542239").as_bytes()),
        token
    );
    assert_eq!(dedupe_key(b"not json"), hex::encode(Sha256::digest(b"not json")));
    assert_eq!(
        dedupe_key(SELLER_PUSH.as_bytes()),
        hex::encode(Sha256::digest(SELLER_PUSH.as_bytes()))
    );
}
