//! The Shopee client of shoprelay-marketplaces against the simulator, end to end over real HTTP.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use shoprelay_clock::SystemClock;
use shoprelay_core::ids::{OrderSn, ShopId};
use shoprelay_core::policy::FieldPolicy;
use shoprelay_core::secret::Secret;
use shoprelay_marketplaces::shopee::{
    api_sign, verify_push, AuthTarget, Disposition, PushBody, ShopeeApp, ShopeeClient, ShopeeError, ShopeePush,
    TokenExpiry,
};
use shoprelay_sim::shopee::{
    serve, ApiFault, ChatSender, FaultsRequest, NewItem, NewOrder, ShopeeSim, ShopeeSimConfig, SimError,
};

const PARTNER_ID: u64 = 2001887;
const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";
const SHOP: u64 = 727720655;

async fn start(config: ShopeeSimConfig) -> ShopeeSim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve(listener, config, SystemClock::shared()).await
}

fn app(sim: &ShopeeSim, key: &str) -> ShopeeApp {
    ShopeeApp {
        partner_id: PARTNER_ID,
        partner_key: Secret::new(key),
        api_base: sim.base_url().to_owned(),
    }
}

fn client(timeout: Duration) -> ShopeeClient {
    ShopeeClient::new(
        reqwest::Client::builder().timeout(timeout).build().unwrap(),
        SystemClock::shared(),
    )
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn shop() -> ShopId {
    ShopId::new(SHOP).unwrap()
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens the authorization link as the seller and returns the redirect's query pairs.
async fn authorize(sim: &ShopeeSim, link_suffix: &str) -> Vec<(String, String)> {
    let link =
        client(Duration::from_secs(5)).auth_partner_url(&app(sim, PARTNER_KEY), "http://127.0.0.1:9/cb?x=1", now());
    let answer = no_redirects().get(format!("{link}{link_suffix}")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:9/cb?x=1&code="), "{location}");
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    &pairs.iter().find(|(k, _)| k == key).unwrap().1
}

async fn tokens(sim: &ShopeeSim) -> (String, String) {
    let pairs = authorize(sim, "").await;
    let grant = client(Duration::from_secs(5))
        .get_access_token(&app(sim, PARTNER_KEY), param(&pairs, "code"), AuthTarget::Shop(shop()))
        .await
        .unwrap();
    (
        grant.access_token.expose().to_owned(),
        grant.refresh_token.expose().to_owned(),
    )
}

fn api_error(result: Result<impl std::fmt::Debug, ShopeeError>) -> (String, Disposition) {
    match result {
        Err(e @ ShopeeError::Api { .. }) => {
            let ShopeeError::Api { error, .. } = &e else {
                unreachable!()
            };
            (error.clone(), e.disposition())
        }
        other => panic!("expected a Shopee API error, got {other:?}"),
    }
}

/// A signed GET by hand, for what the client never sends (default fields only, bad timestamps, …).
async fn raw_get(sim: &ShopeeSim, path: &str, token: Option<&str>, timestamp: i64, extra: &[(&str, &str)]) -> Value {
    let shop = token.map(|t| (t, SHOP));
    let sign = api_sign(PARTNER_KEY, PARTNER_ID, path, timestamp, shop);
    let mut query: Vec<(String, String)> = vec![
        ("partner_id".into(), PARTNER_ID.to_string()),
        ("timestamp".into(), timestamp.to_string()),
        ("sign".into(), sign),
    ];
    if let Some(token) = token {
        query.push(("access_token".into(), token.into()));
        query.push(("shop_id".into(), SHOP.to_string()));
    }
    query.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .query(&query)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A publicly signed call by hand with `method`; returns the HTTP status and the body (`Null` if not JSON).
async fn raw_public(sim: &ShopeeSim, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let timestamp = now();
    let sign = api_sign(PARTNER_KEY, PARTNER_ID, path, timestamp, None);
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .query(&[
            ("partner_id", PARTNER_ID.to_string()),
            ("timestamp", timestamp.to_string()),
            ("sign", sign),
        ])
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[derive(Default)]
struct Inbox {
    received: Vec<(String, Bytes)>,
    answer_status: Option<StatusCode>,
}

/// A recording push receiver on port 0; answers 200 with an empty body unless told otherwise.
async fn receiver() -> (String, Arc<Mutex<Inbox>>) {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    async fn take(State(inbox): State<Arc<Mutex<Inbox>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut inbox = inbox.lock().unwrap();
        inbox.received.push((auth, body));
        inbox.answer_status.unwrap_or(StatusCode::OK)
    }
    let router = Router::new()
        .route("/push/shopee/app-1", post(take))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push/shopee/app-1?tenant=a", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

fn received(inbox: &Arc<Mutex<Inbox>>) -> Vec<(String, Bytes)> {
    inbox.lock().unwrap().received.clone()
}

#[tokio::test]
async fn oauth_code_exchange_refresh_rotation_and_expiry() {
    let sim = start(ShopeeSimConfig::default()).await;
    let app = app(&sim, PARTNER_KEY);
    let client = client(Duration::from_secs(5));

    let pairs = authorize(&sim, "").await;
    assert_eq!(param(&pairs, "shop_id"), SHOP.to_string());
    let code = param(&pairs, "code");
    let grant = client
        .get_access_token(&app, code, AuthTarget::Shop(shop()))
        .await
        .unwrap();
    assert_eq!(
        (grant.expires, grant.shop_ids.clone()),
        (TokenExpiry::In(14400), vec![shop()])
    );
    // Codes are single-use.
    let (error, disposition) = api_error(client.get_access_token(&app, code, AuthTarget::Shop(shop())).await);
    assert_eq!((error.as_str(), disposition), ("invalid_code", Disposition::Fail));

    let old_access = grant.access_token.expose().to_owned();
    let refreshed = client
        .refresh_access_token(&app, grant.refresh_token.expose(), shop())
        .await
        .unwrap();
    assert_ne!(refreshed.access_token, grant.access_token);
    assert_ne!(refreshed.refresh_token, grant.refresh_token);
    assert_eq!(refreshed.shop_ids, vec![shop()]);
    // The old refresh token died with its use: the refresh API's documented "Invalid refresh_token.".
    let spent = client
        .refresh_access_token(&app, grant.refresh_token.expose(), shop())
        .await
        .unwrap_err();
    assert!(
        matches!(&spent, ShopeeError::Api { error, message, .. } if error == "error_auth" && message == "Invalid refresh_token."),
        "{spent:?}"
    );
    assert_eq!(spent.refresh_disposition(), Disposition::Reauthorize);

    // The old access token keeps working for 5 minutes, then stops; the new one goes on.
    let list = |token: String| {
        let (client, app) = (client.clone(), app.clone());
        async move {
            client
                .get_order_list(&app, shop(), &token, now() - 3600, now() + 3600, None)
                .await
        }
    };
    assert!(list(old_access.clone()).await.is_ok());
    sim.advance_clock(301);
    let (error, disposition) = api_error(list(old_access).await);
    assert_eq!(
        (error.as_str(), disposition),
        ("invalid_acceess_token", Disposition::RefreshToken)
    );
    assert!(list(refreshed.access_token.expose().to_owned()).await.is_ok());
    sim.advance_clock(4 * 3600);
    assert_eq!(
        api_error(list(refreshed.access_token.expose().to_owned()).await).1,
        Disposition::RefreshToken
    );

    sim.advance_clock(31 * 86400);
    let (error, disposition) = api_error(
        client
            .refresh_access_token(&app, refreshed.refresh_token.expose(), shop())
            .await,
    );
    assert_eq!(
        (error.as_str(), disposition),
        ("refresh_token_expired", Disposition::Reauthorize)
    );
}

#[tokio::test]
async fn main_account_authorization_and_the_approval_page() {
    let config = ShopeeSimConfig {
        auto_approve: false,
        main_accounts: vec![shoprelay_sim::shopee::SimMainAccount {
            main_account_id: 42,
            shop_ids: vec![SHOP],
            merchant_ids: vec![7],
        }],
        ..ShopeeSimConfig::default()
    };
    let sim = start(config).await;
    let client = client(Duration::from_secs(5));
    let pairs = authorize(&sim, "&sim_main_account_id=42").await;
    let grant = client
        .get_access_token(
            &app(&sim, PARTNER_KEY),
            param(&pairs, "code"),
            AuthTarget::MainAccount(42),
        )
        .await
        .unwrap();
    assert_eq!((grant.shop_ids, grant.merchant_ids), (vec![shop()], vec![7]));

    // Without auto-approval the link shows a page; its link approves.
    let link = client.auth_partner_url(&app(&sim, PARTNER_KEY), "http://127.0.0.1:9/cb", now());
    let page = reqwest::get(&link).await.unwrap().text().await.unwrap();
    let href = page
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let answer = no_redirects()
        .get(format!("{}{href}", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    assert!(answer.headers()["location"]
        .to_str()
        .unwrap()
        .contains(&format!("shop_id={SHOP}")));
}

#[tokio::test]
async fn signatures_and_timestamps_are_checked_like_shopee() {
    let sim = start(ShopeeSimConfig::default()).await;
    let client = client(Duration::from_secs(5));
    let wrong = app(&sim, "not-the-partner-key");
    let (error, disposition) = api_error(client.get_access_token(&wrong, "x", AuthTarget::Shop(shop())).await);
    assert_eq!((error.as_str(), disposition), ("error_sign", Disposition::Fail));
    let (access, _) = tokens(&sim).await;
    let (error, _) = api_error(
        client
            .get_order_detail(
                &wrong,
                shop(),
                &access,
                &[OrderSn::parse("X1").unwrap()],
                &FieldPolicy::minimal(),
            )
            .await,
    );
    assert_eq!(error, "error_sign");

    let stale = raw_get(&sim, "/api/v2/order/get_order_list", Some(&access), now() - 301, &[]).await;
    assert_eq!(
        (stale["error"].as_str(), stale["message"].as_str()),
        (Some("error_param"), Some("Timestamp is expired."))
    );
    let bad_token = raw_get(&sim, "/api/v2/order/get_order_list", Some("nope"), now(), &[]).await;
    assert_eq!(bad_token["error"], "error_auth");
    let (status, public_link) = raw_public(
        &sim,
        reqwest::Method::POST,
        "/api/v2/push/get_lost_push_message",
        json!({}),
    )
    .await;
    assert_eq!((status, public_link["error"].as_str()), (200, Some("-")));
}

#[tokio::test]
async fn order_detail_fields_and_order_list() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (access, _) = tokens(&sim).await;
    let app = app(&sim, PARTNER_KEY);
    let client = client(Duration::from_secs(5));
    let new = NewOrder {
        items: vec![
            NewItem {
                item_name: "Mug".into(),
                item_sku: "MUG".into(),
                model_name: "Blue".into(),
                model_sku: "MUG-B".into(),
                quantity: 2,
                price: 9.95,
                original_price: Some(12.5),
            },
            NewItem {
                item_name: "Sticker".into(),
                item_sku: "STK".into(),
                model_name: String::new(),
                model_sku: String::new(),
                quantity: 1,
                price: 4.0,
                original_price: None,
            },
        ],
        buyer_username: Some("buyer_ana".into()),
        ..NewOrder::default()
    };
    let created = sim.create_order(new).await.unwrap();
    let sn = OrderSn::parse(&created.order.order_sn).unwrap();
    assert_eq!(sn.as_str().len(), 14);
    sim.set_order_status(sn.as_str(), "READY_TO_SHIP").await.unwrap();

    let details = client
        .get_order_detail(
            &app,
            shop(),
            &access,
            std::slice::from_ref(&sn),
            &FieldPolicy::minimal(),
        )
        .await
        .unwrap();
    let snap = details[0].to_snapshot(&FieldPolicy::minimal()).unwrap();
    assert_eq!(
        snap.status,
        shoprelay_marketplaces::shopee::status::order_status("READY_TO_SHIP")
    );
    assert_eq!(snap.total_amount.map(|d| d.to_string()).as_deref(), Some("23.9"));
    assert_eq!(
        (snap.currency.as_deref(), snap.region.as_deref()),
        (Some("SGD"), Some("SG"))
    );
    assert_eq!(snap.buyer_username.as_deref(), Some("buyer_ana"));
    assert_eq!(snap.items.len(), 2);
    assert_eq!(
        (snap.items[0].sku.as_deref(), snap.items[0].quantity),
        (Some("MUG-B"), 2)
    );
    assert_eq!(snap.items[0].unit_price.map(|d| d.to_string()).as_deref(), Some("9.95"));
    assert_eq!(snap.items[1].sku.as_deref(), Some("STK"));
    assert!(snap.pay_time.is_some());
    assert_eq!(details[0].package_list.len(), 1);

    // Without response_optional_fields only the default fields come back.
    let bare = raw_get(
        &sim,
        "/api/v2/order/get_order_detail",
        Some(&access),
        now(),
        &[("order_sn_list", sn.as_str())],
    )
    .await;
    let order = &bare["response"]["order_list"][0];
    assert_eq!(order["order_status"], "READY_TO_SHIP");
    assert!(
        order.get("item_list").is_none()
            && order.get("total_amount").is_none()
            && order.get("buyer_username").is_none()
    );
    let many = vec!["X"; 51].join(",");
    let too_many = raw_get(
        &sim,
        "/api/v2/order/get_order_detail",
        Some(&access),
        now(),
        &[("order_sn_list", &many)],
    )
    .await;
    assert_eq!(too_many["error"], "error_param");

    // The client batches past Shopee's 50-per-call cap.
    let sns: Vec<OrderSn> = std::iter::repeat_n(sn.clone(), 51).collect();
    assert_eq!(
        client
            .get_order_detail(&app, shop(), &access, &sns, &FieldPolicy::minimal())
            .await
            .unwrap()
            .len(),
        51
    );

    let page = client
        .get_order_list(&app, shop(), &access, now() - 3600, now() + 60, None)
        .await
        .unwrap();
    assert_eq!(page.orders.len(), 1);
    assert_eq!(
        (page.orders[0].order_sn.clone(), page.orders[0].status.clone()),
        (
            sn,
            Some(shoprelay_marketplaces::shopee::status::order_status("READY_TO_SHIP"))
        )
    );
    assert!(!page.more);
    let wide = client
        .get_order_list(&app, shop(), &access, now() - 16 * 86400, now(), None)
        .await;
    assert_eq!(api_error(wide).0, "error_param");
    let paged = raw_get(
        &sim,
        "/api/v2/order/get_order_list",
        Some(&access),
        now(),
        &[
            ("time_range_field", "create_time"),
            ("time_from", &(now() - 60).to_string()),
            ("time_to", &(now() + 60).to_string()),
            ("page_size", "1"),
        ],
    )
    .await;
    assert_eq!(paged["response"]["order_list"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn pushes_arrive_signed_for_the_exact_callback_url() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    let verification = sim.set_push_target(None, &url).await;
    assert!(verification[0].delivered);

    let created = sim.create_order(NewOrder::default()).await.unwrap();
    let sn = created.order.order_sn.clone();
    sim.set_order_status(&sn, "READY_TO_SHIP").await.unwrap();
    sim.assign_tracking(&sn, "SPXSG0123456789").await.unwrap();

    let got = received(&inbox);
    assert_eq!(got.len(), 4);
    let mut parsed = Vec::new();
    for (auth, body) in &got {
        assert!(verify_push(PARTNER_KEY, &url, body, auth), "push does not verify");
        assert!(!verify_push(PARTNER_KEY, url.split('?').next().unwrap(), body, auth));
        parsed.push(ShopeePush::parse(body).unwrap());
    }
    assert!(matches!(parsed[0].body, PushBody::Verification { .. }));
    let raw: Value = serde_json::from_slice(&got[1].1).unwrap();
    assert_eq!(raw["data"]["ordersn"], sn.as_str());
    assert!(raw["data"].get("order_sn").is_none() && raw["msg_id"].is_string());
    assert!(matches!(
        &parsed[1].body,
        PushBody::OrderStatus { status, .. } if status.raw == "UNPAID"
    ));
    assert!(matches!(
        &parsed[2].body,
        PushBody::OrderStatus { status, .. } if status.raw == "READY_TO_SHIP"
    ));
    assert!(
        matches!(&parsed[3].body, PushBody::TrackingNumber { tracking_no, package_number: Some(_), .. } if tracking_no == "SPXSG0123456789")
    );
    assert!(sim
        .pushes()
        .iter()
        .all(|p| p.delivered && p.attempts[0].status == Some(200)));

    // A separate push key signs pushes when configured.
    let mut config = ShopeeSimConfig::default();
    config.partners[0].push_key = Some("live-push-key".into());
    let keyed = start(config).await;
    let (url2, inbox2) = receiver().await;
    keyed.set_push_target(Some(PARTNER_ID), &url2).await;
    let (auth, body) = &received(&inbox2)[0];
    assert!(verify_push("live-push-key", &url2, body, auth) && !verify_push(PARTNER_KEY, &url2, body, auth));
}

#[tokio::test]
async fn raw_pushes_for_other_codes() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    for body in [
        json!({"code": 1, "partner_id": PARTNER_ID, "timestamp": now(), "data": {"shop_id": SHOP, "success": 1}}),
        json!({"code": 2, "timestamp": now(), "data": {"shopid": SHOP}}),
        json!({"code": 10, "shop_id": SHOP, "timestamp": now(), "data": {"type": "message", "content": {"message_id": "1", "conversation_id": "2", "message_type": "text", "content": {"text": "hi"}}}}),
        json!({"code": 12, "timestamp": now(), "data": {"shop_expire_soon": [SHOP], "expire_before": now() + 86400}}),
        json!({"code": 99, "timestamp": now()}),
    ] {
        sim.send_raw_push(None, &body.to_string()).await;
    }
    sim.send_raw_push(None, "not json at all").await;
    let got = received(&inbox);
    assert_eq!(got.len(), 7);
    let codes: Vec<i64> = got[1..6]
        .iter()
        .map(|(_, b)| ShopeePush::parse(b).unwrap().code)
        .collect();
    assert_eq!(codes, vec![1, 2, 10, 12, 99]);
    assert!(got
        .iter()
        .all(|(auth, body)| verify_push(PARTNER_KEY, &url, body, auth)));
    assert_eq!(&got[6].1[..], b"not json at all");
}

#[tokio::test]
async fn failed_pushes_are_lost_until_retried_or_confirmed() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    inbox.lock().unwrap().answer_status = Some(StatusCode::SERVICE_UNAVAILABLE);
    let first = sim.create_order(NewOrder::default()).await.unwrap();
    let second = sim.create_order(NewOrder::default()).await.unwrap();
    assert!(!first.pushes[0].delivered && first.pushes[0].attempts[0].status == Some(503));

    let app = app(&sim, PARTNER_KEY);
    let client = client(Duration::from_secs(5));
    let lost = client.get_lost_push_message(&app).await.unwrap();
    assert_eq!(lost.push_message_list.len(), 2);
    assert!(!lost.has_next_page);
    let replayed = ShopeePush::parse(&lost.push_message_list[0].push_body()).unwrap();
    assert!(
        matches!(replayed.body, PushBody::OrderStatus { ref order_sn, .. } if order_sn.as_str() == first.order.order_sn)
    );

    // Confirming the first leaves the second; a successful retry delivers and un-loses it.
    let first_id = first.pushes[0].id;
    client.confirm_consumed_lost_push_message(&app, first_id).await.unwrap();
    assert_eq!(
        client
            .get_lost_push_message(&app)
            .await
            .unwrap()
            .push_message_list
            .len(),
        1
    );
    inbox.lock().unwrap().answer_status = None;
    let retried = sim.retry_failed_pushes().await;
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].id, second.pushes[0].id);
    assert!(retried[0].delivered && retried[0].attempts.len() == 2);
    assert!(client
        .get_lost_push_message(&app)
        .await
        .unwrap()
        .push_message_list
        .is_empty());
}

#[tokio::test]
async fn api_faults_on_demand() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (access, _) = tokens(&sim).await;
    let app = app(&sim, PARTNER_KEY);
    let sn = OrderSn::parse(&sim.create_order(NewOrder::default()).await.unwrap().order.order_sn).unwrap();
    let detail_path = "/api/v2/order/get_order_detail";

    sim.fail_next(Some(detail_path), 1, ApiFault::error_auth());
    let quick = client(Duration::from_secs(5));
    let minimal = FieldPolicy::minimal();
    let detail = || quick.get_order_detail(&app, shop(), &access, std::slice::from_ref(&sn), &minimal);
    assert_eq!(api_error(detail().await).1, Disposition::RefreshToken);
    assert_eq!(detail().await.unwrap().len(), 1);

    sim.fail_next(Some(detail_path), 1, ApiFault::Http500);
    let e = detail().await.unwrap_err();
    assert!(matches!(e, ShopeeError::Http { status: 500, .. }) && e.disposition() == Disposition::Retry);

    sim.fail_next(
        None,
        1,
        ApiFault::Error {
            error: "error_rate_limit".into(),
            message: String::new(),
        },
    );
    assert_eq!(api_error(detail().await).1, Disposition::Retry);

    sim.fail_next(Some(detail_path), 1, ApiFault::Timeout);
    let impatient = client(Duration::from_millis(300));
    let e = impatient
        .get_order_detail(
            &app,
            shop(),
            &access,
            std::slice::from_ref(&sn),
            &FieldPolicy::minimal(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ShopeeError::Transport { source } if source.is_timeout()),
        "{e:?}"
    );
    assert_eq!(e.disposition(), Disposition::Retry);
    assert!(
        !format!("{e:?}").contains(&access),
        "the access token leaked into an error"
    );

    let calls = sim.api_calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.error.as_deref() == Some("error_auth"))
            .count(),
        1
    );
}

#[tokio::test]
async fn duplicate_and_out_of_order_pushes() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;

    sim.set_faults(FaultsRequest {
        duplicate_pushes: Some(true),
        ..Default::default()
    });
    sim.create_order(NewOrder::default()).await.unwrap();
    let got = received(&inbox);
    assert_eq!(got.len(), 3);
    assert_eq!(got[1], got[2]);
    sim.reset_faults();

    sim.set_faults(FaultsRequest {
        reorder_pushes: Some(true),
        ..Default::default()
    });
    let a = sim.create_order(NewOrder::default()).await.unwrap();
    assert!(a.pushes[0].held && received(&inbox).len() == 3);
    let b = sim.create_order(NewOrder::default()).await.unwrap();
    let got = received(&inbox);
    let order_of = |body: &Bytes| {
        serde_json::from_slice::<Value>(body).unwrap()["data"]["ordersn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(order_of(&got[3].1), b.order.order_sn);
    assert_eq!(order_of(&got[4].1), a.order.order_sn);
    let c = sim.create_order(NewOrder::default()).await.unwrap();
    assert_eq!(received(&inbox).len(), 5);
    sim.flush_held_pushes().await;
    assert_eq!(order_of(&received(&inbox)[5].1), c.order.order_sn);
}

#[tokio::test]
async fn http_control_api() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();

    let pushes: Value = post("/sim/push-target", json!({ "app_id": PARTNER_ID, "url": url }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushes[0]["code"], 0);
    let created: Value = post(
        "/sim/orders",
        json!({ "items": [{"item_name": "Tee", "price": 10.5, "quantity": 2}], "currency": "SGD" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(created["order"]["total_amount"], 21.0);
    let sn = created["order"]["order_sn"].as_str().unwrap().to_owned();
    let moved: Value = post(
        &format!("/sim/orders/{sn}/status"),
        json!({ "status": "PROCESSED", "tracking_no": "T1" }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(moved["pushes"].as_array().unwrap().len(), 2);
    assert_eq!(received(&inbox).len(), 4);

    let bad = post(&format!("/sim/orders/{sn}/status"), json!({ "status": "TELEPORTED" }))
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let missing = post("/sim/orders/NOPE/status", json!({ "status": "SHIPPED" }))
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let faults: Value = post("/sim/faults", json!({ "api": [{ "fault": "http500", "times": 1 }] }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["api"].as_array().unwrap().len(), 1);
    let lost = client(Duration::from_secs(5))
        .get_lost_push_message(&app(&sim, PARTNER_KEY))
        .await;
    assert!(matches!(lost, Err(ShopeeError::Http { status: 500, .. })));
    let raw: Value = post("/sim/push/raw", json!({ "raw": "{\"code\":15}" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw[0]["code"], 15);
    let orders: Value = http
        .get(format!("{base}/sim/orders"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(orders.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_main_accounts_initial_refresh_token_is_spent_once_per_shop() {
    const SECOND: u64 = 727720656;
    let config = ShopeeSimConfig {
        main_accounts: vec![shoprelay_sim::shopee::SimMainAccount {
            main_account_id: 42,
            shop_ids: vec![SHOP, SECOND],
            merchant_ids: vec![],
        }],
        shops: vec![
            shoprelay_sim::shopee::SimShop {
                shop_id: SHOP,
                region: "SG".into(),
                name: "One".into(),
            },
            shoprelay_sim::shopee::SimShop {
                shop_id: SECOND,
                region: "SG".into(),
                name: "Two".into(),
            },
        ],
        ..ShopeeSimConfig::default()
    };
    let sim = start(config).await;
    let (app, client) = (app(&sim, PARTNER_KEY), client(Duration::from_secs(5)));
    let second = ShopId::new(SECOND).unwrap();
    let pairs = authorize(&sim, "&sim_main_account_id=42").await;
    let initial = client
        .get_access_token(&app, param(&pairs, "code"), AuthTarget::MainAccount(42))
        .await
        .unwrap();
    let one = client
        .refresh_access_token(&app, initial.refresh_token.expose(), shop())
        .await
        .unwrap();
    // The same initial token is good once more: for the other shop, which gets a pair of its own.
    let two = client
        .refresh_access_token(&app, initial.refresh_token.expose(), second)
        .await
        .unwrap();
    assert_ne!(one.refresh_token, two.refresh_token);
    let again = client
        .refresh_access_token(&app, initial.refresh_token.expose(), second)
        .await
        .unwrap_err();
    assert_eq!(again.refresh_disposition(), Disposition::Reauthorize, "{again:?}");
    // Each shop's own tokens act for that shop only.
    let foreign = client
        .refresh_access_token(&app, one.refresh_token.expose(), second)
        .await
        .unwrap_err();
    assert_eq!(foreign.refresh_disposition(), Disposition::Reauthorize, "{foreign:?}");
    let list = |token: String, shop: ShopId| {
        let (client, app) = (client.clone(), app.clone());
        async move {
            client
                .get_order_list(&app, shop, &token, now() - 3600, now(), None)
                .await
        }
    };
    assert!(list(one.access_token.expose().to_owned(), shop()).await.is_ok());
    assert!(list(two.access_token.expose().to_owned(), second).await.is_ok());
    let (error, _) = api_error(list(one.access_token.expose().to_owned(), second).await);
    assert_eq!(error, "invalid_acceess_token");
    // The initial access token stays good 5 minutes for shops that refreshed, then stops.
    assert!(list(initial.access_token.expose().to_owned(), second).await.is_ok());
    sim.advance_clock(301);
    let (error, _) = api_error(list(initial.access_token.expose().to_owned(), second).await);
    assert_eq!(error, "invalid_acceess_token");
}

#[tokio::test]
async fn the_current_authorization_page_echoes_state() {
    let sim = start(ShopeeSimConfig::default()).await;
    let link =
        shoprelay_marketplaces::shopee::open_auth_url(sim.base_url(), PARTNER_ID, "http://127.0.0.1:9/cb", "st4te");
    let answer = no_redirects().get(link).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:9/cb?code="), "{location}");
    assert!(
        location.ends_with(&format!("&shop_id={SHOP}&state=st4te")),
        "{location}"
    );
}

#[tokio::test]
async fn lost_pushes_come_in_the_documented_shape() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    inbox.lock().unwrap().answer_status = Some(StatusCode::SERVICE_UNAVAILABLE);
    let order = sim.create_order(NewOrder::default()).await.unwrap();
    let partner = json!({"code": 12, "timestamp": now(), "data": {"shop_expire_soon": [SHOP]}}).to_string();
    sim.send_raw_push(None, &partner).await;
    sim.send_raw_push(None, "not json").await;

    const PATH: &str = "/api/v2/push/get_lost_push_message";
    let (status, answer) = raw_public(&sim, reqwest::Method::POST, PATH, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    // The reference's success sample: "-" where other answers have "".
    for key in ["error", "message", "warning"] {
        assert_eq!(answer[key], "-", "{answer}");
    }
    let list = answer["response"]["push_message_list"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{answer}");
    let pushes = sim.pushes();
    let sent = |id: u64| pushes.iter().find(|p| p.id == id).unwrap().clone();
    let first = &order.pushes[0];
    // `data` is a JSON string holding the whole original body, byte for byte.
    assert_eq!(list[0]["data"].as_str(), Some(first.body.as_str()), "{answer}");
    assert_eq!(list[0]["shop_id"], SHOP);
    assert_eq!(list[0]["code"], 3);
    assert_eq!(list[0]["timestamp"], first.timestamp);
    let envelope: Value = serde_json::from_str(list[0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["data"]["ordersn"], order.order.order_sn.as_str());
    assert_eq!(envelope["code"], 3);
    // Partner-level codes have no shop_id.
    assert_eq!(list[1]["data"].as_str(), Some(partner.as_str()));
    assert!(list[1].get("shop_id").is_none(), "{answer}");
    assert_eq!(list[2]["data"], "not json");
    let last = answer["response"]["last_message_id"].as_u64().unwrap();
    assert_eq!(sent(last).body, "not json");
    assert_eq!(answer["response"]["has_next_page"], false);

    // The client reads the page and confirms through it, "-" and all.
    let client = client(Duration::from_secs(5));
    let page = client.get_lost_push_message(&app(&sim, PARTNER_KEY)).await.unwrap();
    assert_eq!(page.push_message_list.len(), 3);
    let (_, confirmed) = raw_public(
        &sim,
        reqwest::Method::POST,
        "/api/v2/push/confirm_consumed_lost_push_message",
        json!({ "last_message_id": last }),
    )
    .await;
    assert_eq!(confirmed["error"], "-", "{confirmed}");
    let (_, after) = raw_public(&sim, reqwest::Method::POST, PATH, json!({})).await;
    assert!(
        after["response"]["push_message_list"].as_array().unwrap().is_empty(),
        "{after}"
    );
}

#[tokio::test]
async fn the_lost_push_list_answers_get_only_in_legacy_mode() {
    const PATH: &str = "/api/v2/push/get_lost_push_message";
    let sim = start(ShopeeSimConfig::default()).await;
    let (status, _) = raw_public(&sim, reqwest::Method::GET, PATH, json!({})).await;
    assert_eq!(status, 405, "the reference lists it as POST");
    let legacy = start(ShopeeSimConfig {
        legacy_lost_push_get: true,
        ..ShopeeSimConfig::default()
    })
    .await;
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let (status, answer) = raw_public(&legacy, method, PATH, json!({})).await;
        assert_eq!((status, answer["error"].as_str()), (200, Some("-")), "{answer}");
    }
}

/// The simulator must not share a mistake with the client: its code never reaches into the client's
/// crates (tests may cross-check against them).
#[test]
fn the_simulators_sign_with_their_own_code() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for client in ["shoprelay_marketplaces", "shoprelay_wecom"] {
            assert!(
                !code.contains(client),
                "{} uses {client} outside its tests",
                file.display()
            );
        }
    }
}

const BUYER: u64 = 55501;

/// A shop-level signed POST by hand; returns the HTTP status and the body.
async fn shop_post(sim: &ShopeeSim, token: &str, path: &str, body: Value) -> (u16, Value) {
    let timestamp = now();
    let sign = api_sign(PARTNER_KEY, PARTNER_ID, path, timestamp, Some((token, SHOP)));
    let answer = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .query(&[
            ("partner_id", PARTNER_ID.to_string()),
            ("timestamp", timestamp.to_string()),
            ("sign", sign),
            ("access_token", token.to_owned()),
            ("shop_id", SHOP.to_string()),
        ])
        .json(&body)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

async fn send_text(sim: &ShopeeSim, token: &str, to: u64, text: &str) -> (u16, Value) {
    let body = json!({ "to_id": to, "message_type": "text", "content": { "text": text } });
    shop_post(sim, token, "/api/v2/sellerchat/send_message", body).await
}

fn chat_push(body: &Bytes) -> Value {
    let push: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(push["code"], 10, "{push}");
    assert_eq!(push["shop_id"], SHOP);
    assert_eq!(push["data"]["type"], "message");
    push["data"]["content"].clone()
}

#[tokio::test]
async fn a_buyer_writes_through_a_signed_code_10_push_in_shopees_shape() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;

    let first = sim.buyer_says(SHOP, BUYER, "ana", "Is it in stock?").await.unwrap();
    let second = sim.buyer_says(SHOP, BUYER, "ana", "Blue please").await.unwrap();
    let other = sim.buyer_says(SHOP, 55502, "ben", "Hello").await.unwrap();
    assert_eq!(
        sim.buyer_says(1, BUYER, "ana", "x").await,
        Err(SimError::UnknownShop(1))
    );

    let got = received(&inbox);
    assert_eq!(got.len(), 4, "verification and three chat pushes");
    assert!(got
        .iter()
        .all(|(auth, body)| verify_push(PARTNER_KEY, &url, body, auth)));
    let pushes: Vec<Value> = got[1..].iter().map(|(_, body)| chat_push(body)).collect();
    let c = &pushes[0];
    assert_eq!(c["message_id"], first.as_str());
    assert_eq!(
        (c["shop_id"].clone(), c["from_id"].clone(), c["to_id"].clone()),
        (json!(SHOP), json!(BUYER), json!(SHOP))
    );
    assert_eq!(
        (c["from_user_name"].as_str(), c["to_user_name"].as_str()),
        (Some("ana"), Some("Demo Shop SG"))
    );
    assert_eq!(c["message_type"], "text");
    assert_eq!(c["content"], json!({ "text": "Is it in stock?" }));
    assert_eq!(c["region"], "SG");
    assert!(c["created_timestamp"].as_i64().unwrap() > 1_600_000_000);
    assert!(c["conversation_id"]
        .as_str()
        .unwrap()
        .chars()
        .all(|ch| ch.is_ascii_digit()));
    // In the order written; one conversation per shop and buyer.
    assert_eq!(pushes[1]["message_id"], second.as_str());
    assert_eq!(pushes[2]["message_id"], other.as_str());
    assert_eq!(pushes[1]["conversation_id"], c["conversation_id"]);
    assert_ne!(pushes[2]["conversation_id"], c["conversation_id"]);
    assert!(first != second && second != other);
    // The client reads it as a chat push.
    assert_eq!(ShopeePush::parse(&got[1].1).unwrap().code, 10);

    let messages = sim.chat_messages();
    assert_eq!(messages.len(), 3);
    assert!(messages
        .iter()
        .all(|m| m.sender == ChatSender::Buyer && m.shop_id == SHOP));
    assert_eq!(messages[2].buyer_id, 55502);
}

#[tokio::test]
async fn the_sellers_answer_is_recorded_answered_in_shopees_shape_and_echoed_back() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    let (token, _) = tokens(&sim).await;
    sim.buyer_says(SHOP, BUYER, "ana", "Is it in stock?").await.unwrap();
    let conversation = sim.chat_messages()[0].conversation_id.clone();

    let (status, answer) = send_text(&sim, &token, BUYER, "Yes, ships today").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"], "");
    let r = &answer["response"];
    assert_eq!(r["to_id"], BUYER);
    assert_eq!(r["message_type"], "text");
    assert_eq!(r["content"], json!({ "text": "Yes, ships today" }));
    assert_eq!(r["conversation_id"], conversation.as_str());
    assert_eq!(r["region"], "SG");
    assert!(r["created_timestamp"].is_i64() && r["message_id"].is_string());

    let sent = sim.chat_messages().pop().unwrap();
    assert_eq!(sent.sender, ChatSender::Seller);
    assert_eq!(sent.message_id, r["message_id"].as_str().unwrap());
    assert_eq!(
        (sent.buyer_id, sent.content.clone()),
        (BUYER, json!({ "text": "Yes, ships today" }))
    );

    // The echo is sent after the answer; it is the seller's own message, from the shop.
    sim.chat_pushes_settled().await;
    let got = received(&inbox);
    assert_eq!(got.len(), 3);
    let (auth, body) = &got[2];
    assert!(verify_push(PARTNER_KEY, &url, body, auth));
    let echo = chat_push(body);
    assert_eq!(echo["message_id"], r["message_id"]);
    assert_eq!(
        (echo["from_id"].clone(), echo["to_id"].clone()),
        (json!(SHOP), json!(BUYER))
    );
    assert_eq!(
        (echo["from_user_name"].as_str(), echo["to_user_name"].as_str()),
        (Some("Demo Shop SG"), Some("ana"))
    );
    assert_eq!(echo["conversation_id"], conversation.as_str());
    assert_eq!(echo["content"], json!({ "text": "Yes, ships today" }));
    let record = sim.pushes().pop().unwrap();
    assert!(record.code == 10 && record.delivered);

    // Other message types take their own content; a bad body is Shopee's error_param.
    let item = json!({ "to_id": BUYER, "message_type": "item", "content": { "item_id": 100000 } });
    let (status, answer) = shop_post(&sim, &token, "/api/v2/sellerchat/send_message", item).await;
    assert_eq!((status, answer["error"].as_str()), (200, Some("")), "{answer}");
    for bad in [
        json!({ "to_id": BUYER, "message_type": "text", "content": {} }),
        json!({ "to_id": BUYER, "message_type": "voice", "content": { "text": "x" } }),
        json!({ "message_type": "text", "content": { "text": "x" } }),
    ] {
        let (_, answer) = shop_post(&sim, &token, "/api/v2/sellerchat/send_message", bad.clone()).await;
        assert_eq!(answer["error"], "error_param", "{bad}");
    }
    // Signed like every shop API: a wrong signature is refused before anything is recorded.
    let before = sim.chat_messages().len();
    let wrong = reqwest::Client::new()
        .post(format!("{}/api/v2/sellerchat/send_message", sim.base_url()))
        .query(&[
            ("partner_id", PARTNER_ID.to_string()),
            ("timestamp", now().to_string()),
            ("sign", "0".repeat(64)),
            ("access_token", token.clone()),
            ("shop_id", SHOP.to_string()),
        ])
        .json(&json!({ "to_id": BUYER, "message_type": "text", "content": { "text": "x" } }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(wrong["error"], "error_sign");
    assert_eq!(sim.chat_messages().len(), before);
}

#[tokio::test]
async fn sending_is_refused_off_the_whitelist_and_in_tw() {
    let config = ShopeeSimConfig {
        chat_not_whitelisted_shops: vec![SHOP],
        ..ShopeeSimConfig::default()
    };
    let sim = start(config).await;
    let (token, _) = tokens(&sim).await;
    let (_, answer) = send_text(&sim, &token, BUYER, "hi").await;
    assert_eq!(answer["error"], "error_api_permission", "{answer}");
    sim.set_chat_whitelisted(SHOP, true);
    assert_eq!(send_text(&sim, &token, BUYER, "hi").await.1["error"], "");
    sim.set_chat_whitelisted(SHOP, false);
    assert_eq!(
        send_text(&sim, &token, BUYER, "hi").await.1["error"],
        "error_api_permission"
    );
    assert_eq!(sim.chat_messages().len(), 1, "refused messages are not recorded");

    let mut tw = ShopeeSimConfig::default();
    tw.shops[0].region = "TW".into();
    let sim = start(tw).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    let (token, _) = tokens(&sim).await;
    let (_, answer) = send_text(&sim, &token, BUYER, "hi").await;
    assert_eq!(answer["error"], "error_param", "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("TW"));
    assert!(sim.chat_messages().is_empty());
    // Buyers in TW still write, and their messages still arrive.
    sim.buyer_says(SHOP, BUYER, "ana", "hi").await.unwrap();
    sim.chat_pushes_settled().await;
    assert_eq!(chat_push(&received(&inbox)[1].1)["region"], "TW");
    assert_eq!(received(&inbox).len(), 2, "no echo of a refused message");
}

#[tokio::test]
async fn chat_pushes_keep_their_order_under_the_out_of_order_fault() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    sim.set_faults(FaultsRequest {
        reorder_pushes: Some(true),
        ..Default::default()
    });
    let a = sim.buyer_says(SHOP, BUYER, "ana", "one").await.unwrap();
    let b = sim.buyer_says(SHOP, BUYER, "ana", "two").await.unwrap();
    let got = received(&inbox);
    assert_eq!(got.len(), 3);
    assert_eq!(chat_push(&got[1].1)["message_id"], a.as_str());
    assert_eq!(chat_push(&got[2].1)["message_id"], b.as_str());
    assert!(sim.pushes().iter().all(|p| !p.held));

    // A failing receiver: the chat push is lost until retried, with the 2 s chat timeout.
    inbox.lock().unwrap().answer_status = Some(StatusCode::SERVICE_UNAVAILABLE);
    sim.buyer_says(SHOP, BUYER, "ana", "three").await.unwrap();
    let lost = sim.pushes().pop().unwrap();
    assert!(lost.is_lost() && lost.code == 10);
    inbox.lock().unwrap().answer_status = None;
    let retried = sim.retry_failed_pushes().await;
    assert!(retried.iter().all(|p| p.delivered));
}

#[tokio::test]
async fn chat_over_the_http_control_api() {
    let sim = start(ShopeeSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    sim.set_push_target(None, &url).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let said: Value = http
        .post(format!("{base}/sim/chat/buyer"))
        .json(&json!({ "buyer_id": BUYER, "buyer_name": "ana", "text": "hello" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(said["message_id"].is_string());
    assert_eq!(said["pushes"][0]["code"], 10);
    assert_eq!(chat_push(&received(&inbox)[1].1)["message_id"], said["message_id"]);
    let messages: Value = http
        .get(format!("{base}/sim/chat/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(messages[0]["sender"], "buyer");
    assert_eq!(messages[0]["content"]["text"], "hello");
    let off = http
        .post(format!("{base}/sim/chat/whitelist"))
        .json(&json!({ "shop_id": SHOP, "whitelisted": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::NO_CONTENT);
    let (token, _) = tokens(&sim).await;
    assert_eq!(
        send_text(&sim, &token, BUYER, "x").await.1["error"],
        "error_api_permission"
    );
    let unknown = http
        .post(format!("{base}/sim/chat/buyer"))
        .json(&json!({ "shop_id": 1, "buyer_id": BUYER, "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
