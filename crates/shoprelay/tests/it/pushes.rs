//! Pushes in: verification, storage before acknowledgement, deduplication, and every kind of bad input —
//! of which only a bad signature, an unknown app and an oversized body are refused.

use std::time::Duration;

use serde_json::json;
use shoprelay_clock::{Clock, UnixMs};
use shoprelay_store::AuditOutcome;
use shoprelay_store::{AuditFilter, AuditKind, Inbox};

use crate::helpers::*;

#[tokio::test]
async fn an_order_push_becomes_a_card_and_a_robot_markdown() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;

    let cards = app.cards();
    assert_eq!(cards.len(), 1, "{cards:#?}");
    let card = &cards[0];
    assert_eq!(card.recipients, vec!["zhangsan".to_owned()]);
    assert_eq!(card.body["template_card"]["card_type"], "text_notice");
    assert_eq!(card_title(card), "新订单");
    let rows = card_rows(card);
    let row = |k: &str| rows.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(row("订单号").as_deref(), Some(sn.as_str()));
    assert_eq!(row("买家").as_deref(), Some("buyer_ana"));
    assert_eq!(row("状态").as_deref(), Some("待发货"));
    assert!(
        row("付款时间").is_some_and(|t| t.ends_with("(UTC+08:00)")),
        "pay time in the shop's zone: {rows:?}"
    );
    assert_eq!(card.body["template_card"]["emphasis_content"]["title"], "SGD 29.3");
    let items = card.body["template_card"]["sub_title_text"].as_str().unwrap();
    assert!(items.contains("陶瓷马克杯（Blue） [MUG-BL] × 2"), "{items}");
    assert!(items.contains("杯垫 [CST] × 1"), "{items}");
    assert!(card.body["template_card"]["card_action"]["url"]
        .as_str()
        .unwrap()
        .contains(&sn));
    assert_eq!(card.body["enable_duplicate_check"], 1);

    let md = app.markdowns();
    assert_eq!(md.len(), 1);
    assert!(md[0].starts_with("### 新订单"), "{}", md[0]);
    assert!(
        md[0].contains(&sn) && md[0].contains("SGD 29.3") && md[0].contains("陶瓷马克杯"),
        "{}",
        md[0]
    );
}

#[tokio::test]
async fn the_audit_api_filters_deliveries_by_destination() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let entries = |query: String| {
        let http = app.http.clone();
        let url = format!("{}/api/v1/audit?kind=delivery&order_sn={sn}&{query}", app.base);
        async move { http.get(url).send().await.unwrap() }
    };
    let destinations = |v: serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["destination"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let app_only = entries("destination=wecom_app:hq".into()).await.json().await.unwrap();
    let robot_only = entries("destination=robot:ops".into()).await.json().await.unwrap();
    assert_eq!(destinations(app_only), ["wecom_app:hq"], "the card's attempt alone");
    assert_eq!(destinations(robot_only), ["robot:ops"], "the markdown's attempt alone");
    let none: serde_json::Value = entries("destination=webhook:wms".into()).await.json().await.unwrap();
    assert_eq!(none, serde_json::json!([]));
    let bad = entries("destination=fax:hq".into()).await;
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(bad.json::<serde_json::Value>().await.unwrap()["code"], "api.bad_query");
}

#[tokio::test]
async fn status_changes_and_tracking_numbers_follow_the_order() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("UNPAID").await;
    app.shopee.set_order_status(&sn, "READY_TO_SHIP").await.unwrap();
    app.shopee.assign_tracking(&sn, "SPX123").await.unwrap();
    app.dispatch().await;
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert_eq!(titles, vec!["新订单", "订单状态变更：待发货", "已分配运单号"]);
    let rows = card_rows(&app.cards()[2]);
    assert!(rows.contains(&("运单号".into(), "SPX123".into())), "{rows:?}");
}

#[tokio::test]
async fn a_duplicated_push_yields_one_event_and_one_message() {
    let app = spawn_app().await;
    app.authorize().await;
    app.shopee.set_faults(shoprelay_sim::shopee::FaultsRequest {
        duplicate_pushes: Some(true),
        ..Default::default()
    });
    let sn = app.create_order("READY_TO_SHIP").await;
    assert!(app.shopee.pushes().iter().filter(|p| p.body.contains(&sn)).count() >= 1);
    app.dispatch().await;
    assert_eq!(app.cards().len(), 1);
    let dup = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Duplicate),
            ..Default::default()
        })
        .await;
    assert!(!dup.is_empty(), "the repeat is audited as a duplicate");
}

#[tokio::test]
async fn the_same_fact_in_a_new_push_body_is_not_sent_twice() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    // Shopee retries can carry another msg_id; the event's own identity still matches.
    let now = app.clock.now().as_secs();
    let body = json!({"msg_id": "other", "code": 3, "shop_id": SHOP, "timestamp": now,
        "data": {"ordersn": sn, "status": "READY_TO_SHIP", "update_time": 0, "items": []}});
    app.dispatch().await;
    let before = app.cards().len();
    let body2 = json!({"msg_id": "other-2", "code": 3, "shop_id": SHOP, "timestamp": now,
        "data": {"ordersn": sn, "status": "READY_TO_SHIP", "update_time": 0, "items": []}});
    for b in [body, body2] {
        let text = b.to_string();
        let (status, _) = app.post_push(APP, &text, Some(app.sign(&text))).await;
        assert_eq!(status, 200);
    }
    app.dispatch().await;
    assert_eq!(
        app.cards().len(),
        before,
        "a status already announced is not announced again"
    );
}

#[tokio::test]
async fn a_bad_or_missing_signature_is_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let body = json!({"code": 3, "shop_id": SHOP, "timestamp": 1, "data": {"ordersn": "A1", "status": "UNPAID", "update_time": 1}}).to_string();
    let (status, err) = app.post_push(APP, &body, Some("0".repeat(64))).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "push.signature_invalid");
    assert!(err["message"].as_str().unwrap().contains("public_url"));
    assert!(err["message_en"].as_str().unwrap().contains("public_url"));
    let (status, err) = app.post_push(APP, &body, None).await;
    assert_eq!(status, 401);
    assert_eq!(err["code"], "push.signature_missing");
    // Signed for another URL (a proxy rewrote it): also refused.
    let other = shoprelay_marketplaces::shopee::push_signature(
        PARTNER_KEY,
        "https://elsewhere/push/shopee/main",
        body.as_bytes(),
    );
    assert_eq!(app.post_push(APP, &body, Some(other)).await.0, 401);
    let q = app.server.engine.store().queue_depths().await.unwrap();
    assert_eq!(q.inbox_pending, 0);
    let rejected = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Rejected),
            ..Default::default()
        })
        .await;
    assert_eq!(rejected.len(), 3);
    assert!(rejected.iter().all(|a| a.http_status == Some(401)));
}

#[tokio::test]
async fn only_the_signature_the_app_and_the_size_are_refused() {
    let app = spawn_app().await;
    let (status, err) = app.post_push("nope", "{}", Some(app.sign("{}"))).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("push.unknown_app")));

    let huge = format!("{{\"code\":3,\"pad\":\"{}\"}}", "x".repeat(1024 * 1024));
    let (status, err) = app.post_push(APP, &huge, Some(app.sign(&huge))).await;
    assert_eq!((status, err["code"].as_str()), (413, Some("push.too_large")));
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    assert!(err["message_en"].as_str().is_some_and(|m| !m.is_empty()), "{err}");
    assert_eq!(app.server.engine.store().queue_depths().await.unwrap().inbox_pending, 0);
}

/// Shopee counts anything but a 2xx with an empty body as a failure and disables the subscription
/// below 30 % success; what it missed meanwhile never comes back. So every correctly signed push is
/// stored and answered 2xx, whatever its shape; the shape is ours to handle.
#[tokio::test]
async fn every_signed_push_is_stored_and_answered_2xx_with_an_empty_body() {
    let app = spawn_app().await;
    app.authorize().await;
    let renamed_order = app.create_order("READY_TO_SHIP").await;
    let renamed_shop = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    // Later than the orders' creation, within the window pushes must fall in.
    let now = app.clock.now().as_secs() + 60;
    let readable = [
        // The API's spelling of the order, and the `shopid` some samples use.
        json!({"code": 3, "shop_id": SHOP, "timestamp": now,
            "data": {"order_sn": renamed_order, "status": "SHIPPED", "update_time": now}}),
        json!({"code": 3, "shopid": SHOP, "timestamp": now,
            "data": {"ordersn": renamed_shop, "status": "SHIPPED", "update_time": now}}),
        json!({"code": 47, "shop_id": SHOP, "timestamp": now, "data": {"something": "new"}}),
        json!({"code": 2, "timestamp": now, "data": {"shopid": 999}}),
    ];
    let unreadable = [
        "{\"code\": 3, \"shop_id\": ".to_owned(),
        json!({"code": 3, "shop_id": SHOP, "timestamp": 11, "data": {"status": "UNPAID"}}).to_string(),
        json!({"code": "3", "shop_id": SHOP, "data": {}}).to_string(),
        json!({"shop_id": SHOP, "timestamp": 12}).to_string(),
        json!([1, 2, 3]).to_string(),
        "not json at all".to_owned(),
    ];
    let bodies: Vec<String> = readable
        .iter()
        .map(|b| b.to_string())
        .chain(unreadable.iter().cloned())
        .collect();
    for body in &bodies {
        let resp = app
            .http
            .post(format!("{}/push/shopee/{APP}", app.base))
            .header("content-type", "application/json")
            .header("authorization", app.sign(body))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{body}");
        assert!(resp.text().await.unwrap().is_empty(), "{body}");
    }
    // Not even the content type is a reason: a proxy may have rewritten it.
    let plain = json!({"code": 3, "shop_id": SHOP, "timestamp": 13, "data": {}}).to_string();
    let resp = app
        .http
        .post(format!("{}/push/shopee/{APP}", app.base))
        .header("content-type", "text/plain")
        .header("authorization", app.sign(&plain))
        .body(plain.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().is_empty());

    let accepted = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Accepted),
            ..Default::default()
        })
        .await;
    assert!(accepted.len() > bodies.len(), "every push stored: {accepted:#?}");
    app.dispatch_until_settled().await;

    // Both spellings are read: the two orders moved on.
    for sn in [&renamed_order, &renamed_shop] {
        assert!(
            app.cards()
                .iter()
                .any(|m| card_title(m) == "订单状态变更：已发货"
                    && card_rows(m).contains(&("订单号".into(), sn.clone()))),
            "{sn}: {:#?}",
            app.cards()
        );
    }
    // What we cannot read is a failed inbox item, in the audit with the reason.
    let failed = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Failed),
            ..Default::default()
        })
        .await;
    assert_eq!(failed.len(), unreadable.len() + 1, "{failed:#?}");
    assert!(failed.iter().any(|a| a.detail.contains("data.ordersn")), "{failed:#?}");
    assert!(
        failed.iter().any(|a| a.detail.contains("not valid JSON")),
        "{failed:#?}"
    );
}

#[tokio::test]
async fn failed_pushes_go_back_to_the_inbox_to_be_read_again() {
    let app = spawn_app().await;
    for body in [
        "{\"code\": 3, \"shop_id\": ".to_owned(),
        json!({"code": 3, "shop_id": SHOP, "timestamp": 11, "data": {"status": "UNPAID"}}).to_string(),
    ] {
        assert_eq!(app.post_push(APP, &body, Some(app.sign(&body))).await.0, 200);
    }
    app.dispatch_until_settled().await;
    let failed = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Failed),
            ..Default::default()
        })
        .await;
    assert_eq!(failed.len(), 2, "{failed:#?}");

    // After an upgrade they are processed again: every failed item goes back to the inbox.
    let store = app.server.engine.store();
    let filter = shoprelay_store::PushReplayFilter::default();
    assert_eq!(store.count_failed_pushes(&filter).await.unwrap(), failed.len() as i64);
    let replayed = store.replay_failed_pushes(&filter, app.clock.now(), 100).await.unwrap();
    assert_eq!(replayed, failed.len() as u64);
    assert_eq!(store.queue_depths().await.unwrap().inbox_pending, failed.len() as i64);
    let audited = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Replayed),
            ..Default::default()
        })
        .await;
    assert_eq!(audited.len(), failed.len());
    app.dispatch_until_settled().await;
    let failed_again = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Failed),
            ..Default::default()
        })
        .await;
    assert_eq!(
        failed_again.len(),
        2 * failed.len(),
        "read again, by this version still unreadable"
    );
}

#[tokio::test]
async fn the_cli_replays_failed_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let key = shoprelay_core::secret::SecretBox::generate_key();
    let store = shoprelay_store::SqlStore::connect(&url, shoprelay_core::secret::SecretBox::from_base64(&key).unwrap())
        .await
        .unwrap();
    let push = |key: &str, body: &str| shoprelay_store::NewPush {
        platform: shoprelay_marketplaces::shopee::PLATFORM,
        app_id: shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        dedupe_key: key.into(),
        code: -1,
        shop_id: None,
        order_sn: None,
        body: body.into(),
        received_at: UnixMs::from_millis(1),
    };
    store
        .insert_pushes(&[push("a", "garbled"), push("b", "also garbled")])
        .await
        .unwrap();
    for item in store
        .claim_inbox(UnixMs::from_millis(2), Duration::from_secs(1), 10)
        .await
        .unwrap()
    {
        let failed = shoprelay_store::InboxCompletion {
            state: shoprelay_store::InboxState::Failed,
            events: Vec::new(),
            order_updates: Vec::new(),
            note: Some("unreadable".into()),
        };
        store
            .complete_inbox(&item, failed, UnixMs::from_millis(3))
            .await
            .unwrap();
    }
    assert!(store
        .claim_inbox(UnixMs::from_millis(4), Duration::from_secs(1), 10)
        .await
        .unwrap()
        .is_empty());

    let out = crate::cli::bin()
        .env("SHOPRELAY_DATABASE_URL", &url)
        .env("SHOPRELAY_MASTER_KEY", &key)
        .current_dir(dir.path())
        .args(["replay", "--failed-pushes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("re-queued 2 failed push"), "{stdout}");
    let again = store
        .claim_inbox(shoprelay_clock::SystemClock.now(), Duration::from_secs(1), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 2, "both back in the inbox");
    assert!(again.iter().all(|i| i.attempts == 1), "attempts start over");
    store.close().await;
}

#[tokio::test]
async fn verification_unknown_codes_and_unknown_shops_are_answered_and_kept() {
    let app = spawn_app().await;
    let verify = json!({"code": 0, "data": {"verify_info": "This is a Verification message."}}).to_string();
    let resp = app
        .http
        .post(format!("{}/push/shopee/{APP}", app.base))
        .header("content-type", "application/json")
        .header("authorization", app.sign(&verify))
        .body(verify.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.text().await.unwrap().is_empty(), "Shopee needs an empty body");

    let now = app.clock.now().as_secs();
    let unknown_code = json!({"code": 99, "shop_id": SHOP, "timestamp": now, "data": {"x": 1}}).to_string();
    assert_eq!(
        app.post_push(APP, &unknown_code, Some(app.sign(&unknown_code))).await.0,
        200
    );
    let other_shop =
        json!({"code": 3, "shop_id": 999, "timestamp": now, "data": {"ordersn": "X9", "status": "UNPAID", "update_time": now}})
            .to_string();
    assert_eq!(
        app.post_push(APP, &other_shop, Some(app.sign(&other_shop))).await.0,
        200
    );
    app.dispatch().await;

    let unknown = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::UnknownShop),
            ..Default::default()
        })
        .await;
    assert_eq!(
        unknown.len(),
        1,
        "a push for an unconfigured shop is stored and reported"
    );
    assert_eq!(unknown[0].shop_id, Some(999));
    assert!(unknown[0].detail.contains("not configured"));
    let processed = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Processed),
            ..Default::default()
        })
        .await;
    assert_eq!(
        processed.len(),
        1,
        "the unknown code is stored and processed without events: {processed:#?}"
    );
    assert!(app.wecom.messages().is_empty());
    let bad = app
        .http
        .get(format!("{}/api/v1/audit?from=yesterday", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(bad.json::<serde_json::Value>().await.unwrap()["code"], "api.bad_query");
    let verified = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Push),
            outcome: Some(AuditOutcome::Verified),
            ..Default::default()
        })
        .await;
    // One from setting the push URL (the simulator verifies it, as Shopee's console does), one from us.
    assert_eq!(verified.len(), 2);
}

#[tokio::test]
async fn orders_arrive_without_details_when_the_shop_never_authorized() {
    let app = spawn_app().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let cards = app.cards();
    assert_eq!(cards.len(), 1, "nothing is lost for lack of enrichment");
    assert!(card_rows(&cards[0]).contains(&("订单号".into(), sn)));
    let processed = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Processed),
            ..Default::default()
        })
        .await;
    assert!(
        processed[0].detail.contains("without order details"),
        "{}",
        processed[0].detail
    );
}

#[tokio::test]
async fn partner_and_chat_pushes_become_their_events() {
    let app = spawn_app_with(Options {
        extra_toml: r#"
[[routes]]
id = "service"
events = ["buyer_message", "shop_authorized", "shop_deauthorized", "authorization_expiring"]
targets = [{ type = "wecom_app", app = "hq", users = ["lisi"] }]
"#
        .into(),
        ..Options::default()
    })
    .await;
    app.authorize().await;
    let now = app.clock.now().as_secs();
    let pushes = [
        json!({"code": 10, "shop_id": SHOP, "timestamp": now, "data": {"type": "message", "content": {
            "message_id": "m1", "from_id": 55501, "from_user_name": "buyer_ana", "to_id": SHOP,
            "message_type": "text", "content": {"text": "我的订单什么时候发货"}, "conversation_id": "c1",
            "created_timestamp": now}}}),
        json!({"code": 12, "timestamp": now + 1, "data": {"shop_expire_soon": [SHOP], "merchant_expire_soon": [],
            "expire_before": 1_900_000_000, "page_no": 1, "total_page": 1}}),
        json!({"code": 2, "shop_id": SHOP, "timestamp": now + 2, "data": {"shop_id": SHOP}}),
    ];
    for push in &pushes {
        let body = push.to_string();
        let (status, err) = app.post_push(APP, &body, Some(app.sign(&body))).await;
        assert_eq!(status, 200, "{err}");
    }
    app.dispatch_until_settled().await;
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(titles.contains(&"买家消息".to_owned()), "{titles:?}");
    assert!(titles.contains(&"店铺授权即将到期".to_owned()), "{titles:?}");
    assert!(titles.contains(&"店铺已取消授权".to_owned()), "{titles:?}");
    let chat = app.cards().into_iter().find(|m| card_title(m) == "买家消息").unwrap();
    assert!(chat.body["template_card"]["sub_title_text"]
        .as_str()
        .unwrap()
        .contains("什么时候发货"));
    // Admins hear about expiry and deauthorization whatever the routes say.
    let md = app.markdowns();
    assert!(md.iter().any(|m| m.contains("店铺授权即将到期")), "{md:?}");
    assert!(md.iter().any(|m| m.contains("店铺已取消授权")), "{md:?}");
    let (a, s) = (
        shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        shoprelay_core::ids::ShopId::new(SHOP).unwrap(),
    );
    let auth = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    assert_eq!(auth.status, shoprelay_store::ShopAuthStatus::Deauthorized);
}

#[tokio::test]
async fn messages_switch_to_english() {
    let app = spawn_app_with(Options {
        language: shoprelay_core::error::Lang::En,
        ..Options::default()
    })
    .await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    let card = &app.cards()[0];
    assert_eq!(card_title(card), "New order");
    let rows = card_rows(card);
    assert!(rows.contains(&("Order".into(), sn.clone())), "{rows:?}");
    assert!(rows.contains(&("Status".into(), "To ship".into())), "{rows:?}");
    assert_eq!(card.body["template_card"]["emphasis_content"]["desc"], "Order total");
    let md = app.markdowns();
    assert!(
        md[0].starts_with("### New order") && md[0].contains("View order"),
        "{}",
        md[0]
    );
}

/// Ten years in seconds.
const DECADE: i64 = 10 * 365 * 86_400;

fn order_push(sn: &str, status: &str, timestamp: i64, update_time: i64) -> String {
    json!({"code": 3, "shop_id": SHOP, "timestamp": timestamp,
        "data": {"ordersn": sn, "status": status, "update_time": update_time, "items": []}})
    .to_string()
}

async fn out_of_window(app: &TestApp) -> Vec<shoprelay_store::AuditEntry> {
    app.audit(AuditFilter {
        outcome: Some(AuditOutcome::OutOfWindow),
        ..Default::default()
    })
    .await
}

/// A signed push dated ten years ahead is stored and answered like any other (the push answer contract),
/// but changes nothing: otherwise every later real push for the order would look stale.
#[tokio::test]
async fn a_push_from_the_future_changes_nothing_and_the_real_one_still_arrives() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let now = app.clock.now().as_secs();
    // Dated ahead in the envelope, then only in `update_time`.
    for (n, forged) in [
        order_push(&sn, "CANCELLED", now + DECADE, now + DECADE),
        order_push(&sn, "CANCELLED", now, now + DECADE),
    ]
    .iter()
    .enumerate()
    {
        let (status, body) = app.post_push(APP, forged, Some(app.sign(forged))).await;
        assert_eq!((status, body), (200, json!("")), "answered like any signed push");
        app.dispatch_until_settled().await;
        let refused = out_of_window(&app).await;
        assert_eq!(refused.len(), n + 1, "audited: {refused:#?}");
        assert!(refused[0].detail.contains("ahead"), "{}", refused[0].detail);
        assert_eq!(refused[0].order_sn.as_deref(), Some(sn.as_str()));
    }
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(!titles.iter().any(|t| t.contains("取消")), "{titles:?}");

    app.shopee.set_order_status(&sn, "SHIPPED").await.unwrap();
    app.dispatch_until_settled().await;
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(titles.contains(&"订单状态变更：已发货".to_owned()), "{titles:?}");
}

/// Shopee keeps lost pushes three days and reconciliation reaches back fifteen: a push that old still
/// counts. One older than 30 days is refused, audited.
#[tokio::test]
async fn old_pushes_count_within_the_window_and_not_beyond_it() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let now = app.clock.now().as_secs();
    let ancient = order_push(&sn, "CANCELLED", now - 40 * 86_400, now + 60);
    assert_eq!(app.post_push(APP, &ancient, Some(app.sign(&ancient))).await.0, 200);
    app.dispatch_until_settled().await;
    let refused = out_of_window(&app).await;
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(refused[0].detail.contains("behind"), "{}", refused[0].detail);

    let other = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let late = order_push(&other, "SHIPPED", now - 3 * 86_400 + 60, now + 60);
    assert_eq!(app.post_push(APP, &late, Some(app.sign(&late))).await.0, 200);
    app.dispatch_until_settled().await;
    assert_eq!(out_of_window(&app).await.len(), 1, "a three-day-old push still counts");
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(!titles.iter().any(|t| t.contains("取消")), "{titles:?}");
    assert!(titles.contains(&"订单状态变更：已发货".to_owned()), "{titles:?}");
}

/// An order frozen by a future time stored before this check existed thaws with the next real push.
#[tokio::test]
async fn an_order_frozen_in_the_future_thaws_with_the_next_real_push() {
    let app = spawn_app().await;
    app.authorize().await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    let url = format!("sqlite://{}", app.database_path().display());
    let db = sqlx::SqlitePool::connect(&url).await.unwrap();
    let frozen = sqlx::query("UPDATE order_state SET status = 'CANCELLED', status_time = $1 WHERE order_sn = $2")
        .bind(app.clock.now().as_secs() + DECADE)
        .bind(&sn)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(frozen.rows_affected(), 1);
    db.close().await;

    app.shopee.set_order_status(&sn, "SHIPPED").await.unwrap();
    app.dispatch_until_settled().await;
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(titles.contains(&"订单状态变更：已发货".to_owned()), "{titles:?}");
    // And the state moved on: a push just after it is compared with the real time.
    app.shopee.set_order_status(&sn, "COMPLETED").await.unwrap();
    app.dispatch_until_settled().await;
    let titles: Vec<String> = app.cards().iter().map(card_title).collect();
    assert!(titles.iter().any(|t| t.contains("已完成")), "{titles:?}");
}
