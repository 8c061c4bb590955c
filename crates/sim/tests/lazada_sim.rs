//! The Lazada simulator over real HTTP, driven by a tiny signer of the test's own, on a manual clock.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use shoprelay_clock::{ManualClock, UnixMs};
use shoprelay_sim::lazada::{
    serve, ApiFault, CountryUserInfo, LazadaSim, LazadaSimConfig, NewItem, NewOrder, OrderUpdate, PushState, Region,
    SimSeller, MESSAGE_SELLER_STATUS, MESSAGE_TOKEN_EXPIRING,
};

const APP_KEY: &str = "123456";
const SECRET: &str = "helloworld";
const SELLER: &str = "1234567";
/// 2023-11-14 22:13:20 UTC.
const START_MS: i64 = 1_700_000_000_000;
const HALF_HOUR: Duration = Duration::from_secs(1800);

fn hmac_sha256(key: &str, msg: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

/// The test's own Lazada API signer: path, then sorted `name + value` pairs without `sign`, upper-case hex.
fn sign(secret: &str, path: &str, params: &BTreeMap<String, String>) -> String {
    let mut base = path.to_owned();
    for (k, v) in params.iter().filter(|(k, _)| *k != "sign") {
        base += k;
        base += v;
    }
    hex::encode_upper(hmac_sha256(secret, base.as_bytes()))
}

/// The test's own push signer: lower-case hex over `app_key + body`.
fn push_sign(app_key: &str, secret: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, &[app_key.as_bytes(), body].concat()))
}

struct Env {
    sim: LazadaSim,
    clock: ManualClock,
}

async fn start(config: LazadaSimConfig) -> Env {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = serve(listener, config, clock.shared()).await;
    Env { sim, clock }
}

/// How a call is sent.
#[derive(Clone, Copy)]
enum Via {
    Query,
    Form,
}

impl Env {
    /// The common parameters plus `extra`, signed (or with `sign` overridden by `extra`).
    fn params(&self, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
        let mut params: BTreeMap<String, String> = [
            ("app_key", APP_KEY.to_owned()),
            ("timestamp", self.clock_ms().to_string()),
            ("sign_method", "sha256".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(token) = token {
            params.insert("access_token".into(), token.into());
        }
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        if !params.contains_key("sign") {
            let sign = sign(SECRET, path, &params);
            params.insert("sign".into(), sign);
        }
        params
    }

    fn clock_ms(&self) -> i64 {
        use shoprelay_clock::Clock;
        self.clock.now().as_millis()
    }

    /// A signed call to `base` (a `…/rest` URL) + `path`; returns the HTTP status and the JSON body.
    async fn call_at(
        &self,
        base: &str,
        via: Via,
        path: &str,
        token: Option<&str>,
        extra: &[(&str, &str)],
    ) -> (u16, Value) {
        let params = self.params(path, token, extra);
        let client = reqwest::Client::new();
        let url = format!("{base}{path}");
        let request = match via {
            Via::Query => client.get(url).query(&params),
            Via::Form => client.post(url).form(&params),
        };
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn call(&self, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Value {
        let (status, body) = self.call_at(&self.sim.rest_url(), Via::Query, path, token, extra).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Authorizes `account` and exchanges the code: the token answer.
    async fn tokens(&self, account: &str) -> Value {
        let code = self.sim.authorize(account).unwrap();
        let body = self.call("/auth/token/create", None, &[("code", &code)]).await;
        assert_eq!(body["code"], "0", "{body}");
        body
    }

    async fn access_token(&self) -> String {
        self.tokens("seller@example.com").await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn code_of(body: &Value) -> &str {
    body["code"].as_str().unwrap()
}

/// What the push receiver answers.
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    /// Never answers: the simulator's 500 ms run out.
    Hang,
}

#[derive(Default)]
struct Inbox {
    received: Vec<(String, Bytes)>,
    /// Answers for the next pushes, in order; 200 once empty.
    script: VecDeque<Reply>,
}

type SharedInbox = Arc<Mutex<Inbox>>;

async fn receiver() -> (String, SharedInbox) {
    async fn take(State(inbox): State<SharedInbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let reply = {
            let mut inbox = inbox.lock().unwrap();
            inbox.received.push((auth, body));
            inbox.script.pop_front().unwrap_or(Reply::Status(200))
        };
        match reply {
            Reply::Status(code) => StatusCode::from_u16(code).unwrap(),
            Reply::Hang => std::future::pending().await,
        }
    }
    let inbox = SharedInbox::default();
    let router = Router::new()
        .route("/push/lazada", post(take))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push/lazada", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

fn two_country_seller() -> SimSeller {
    let entry = |country, seller_id: &str, user_id: &str, short_code: &str| CountryUserInfo {
        country,
        seller_id: seller_id.into(),
        user_id: user_id.into(),
        short_code: short_code.into(),
    };
    SimSeller {
        account: "cb@example.com".into(),
        country_user_info: vec![
            entry(Region::Sg, "2000001", "300001", "SG9A"),
            entry(Region::Th, "2000002", "300002", "TH9B"),
        ],
    }
}

#[test]
fn the_test_signer_reproduces_the_worked_examples() {
    let doc_example = "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256timestamp1517820392000";
    assert_eq!(
        hex::encode_upper(hmac_sha256(SECRET, doc_example.as_bytes())),
        "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
    );
    let params: BTreeMap<String, String> = [
        ("timestamp", "1517820392000"),
        ("access_token", "test"),
        ("sign_method", "sha256"),
        ("order_id", "1234"),
        ("app_key", "123456"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(
        sign(SECRET, "/order/get", &params),
        "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
    );
    let vectors: Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/marketplace-signatures.json"
    )))
    .unwrap();
    let push = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["platform"] == "lazada" && v["kind"] == "push")
        .unwrap();
    let body = push["raw_body"].as_str().unwrap().as_bytes();
    assert_eq!(
        push_sign(
            push["app_key"].as_str().unwrap(),
            push["app_secret"].as_str().unwrap(),
            body
        ),
        push["authorization"].as_str().unwrap()
    );
}

#[tokio::test]
async fn authorization_codes_tokens_and_refresh_rotation() {
    let env = start(LazadaSimConfig::default()).await;
    env.sim.add_seller(two_country_seller()).unwrap();
    let code = env.sim.authorize("cb@example.com").unwrap();

    let created = env.call("/auth/token/create", None, &[("code", &code)]).await;
    assert_eq!(code_of(&created), "0");
    assert!(created["request_id"].is_string());
    assert_eq!(created["country"], "sg");
    assert_eq!(created["account"], "cb@example.com");
    assert_eq!(created["expires_in"], 7 * 86400);
    assert_eq!(created["refresh_expires_in"], 30 * 86400);
    assert_eq!(
        created["country_user_info"],
        json!([
            {"country": "sg", "seller_id": "2000001", "user_id": "300001", "short_code": "SG9A"},
            {"country": "th", "seller_id": "2000002", "user_id": "300002", "short_code": "TH9B"},
        ])
    );

    // Single use.
    let again = env.call("/auth/token/create", None, &[("code", &code)]).await;
    assert_eq!((again["type"].as_str(), code_of(&again)), (Some("ISV"), "InvalidCode"));
    // Thirty minutes.
    let late = env.sim.authorize("cb@example.com").unwrap();
    env.clock.advance(Duration::from_secs(1801));
    let expired = env.call("/auth/token/create", None, &[("code", &late)]).await;
    assert_eq!(code_of(&expired), "InvalidCode");

    // Refresh over a form body: a new pair, the list under its other name, the old refresh token dead.
    let old_refresh = created["refresh_token"].as_str().unwrap();
    let (status, refreshed) = env
        .call_at(
            &env.sim.rest_url(),
            Via::Form,
            "/auth/token/refresh",
            None,
            &[("refresh_token", old_refresh)],
        )
        .await;
    assert_eq!((status, code_of(&refreshed)), (200, "0"), "{refreshed}");
    assert_eq!(refreshed["country_user_info_list"], created["country_user_info"]);
    assert!(refreshed.get("country_user_info").is_none());
    assert_ne!(refreshed["refresh_token"], created["refresh_token"]);
    assert_ne!(refreshed["access_token"], created["access_token"]);
    let reused = env
        .call("/auth/token/refresh", None, &[("refresh_token", old_refresh)])
        .await;
    assert_eq!(code_of(&reused), "IllegalRefreshToken");
    assert_eq!(reused["type"], "ISV");

    // Access tokens expire by the simulator's clock.
    let token = refreshed["access_token"].as_str().unwrap();
    let order = env
        .sim
        .create_order(NewOrder {
            seller_id: Some("2000001".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let id = order.order.order_id.to_string();
    assert_eq!(
        code_of(&env.call("/order/get", Some(token), &[("order_id", &id)]).await),
        "0"
    );
    env.clock.advance(Duration::from_secs(7 * 86400));
    let dead = env.call("/order/get", Some(token), &[("order_id", &id)]).await;
    assert_eq!(code_of(&dead), "IllegalAccessToken");
    // So do refresh tokens.
    env.clock.advance(Duration::from_secs(30 * 86400));
    let stale = refreshed["refresh_token"].as_str().unwrap();
    let expired = env.call("/auth/token/refresh", None, &[("refresh_token", stale)]).await;
    assert_eq!(code_of(&expired), "IllegalRefreshToken");
}

#[tokio::test]
async fn every_call_is_checked_for_signature_timestamp_and_token() {
    let env = start(LazadaSimConfig::default()).await;
    let token = env.access_token().await;
    let order = env.sim.create_order(NewOrder::default()).await.unwrap().order;
    let id = order.order_id.to_string();

    let wrong = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("sign", "0000")])
        .await;
    assert_eq!(wrong["type"], "ISV");
    assert_eq!(code_of(&wrong), "IncompleteSignature");
    assert!(wrong["message"].is_string() && wrong["request_id"].is_string());
    // Lower-case hex is not Lazada's signature.
    let params = env.params("/order/get", Some(&token), &[("order_id", &id)]);
    let lower = params["sign"].to_lowercase();
    let body = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("sign", &lower)])
        .await;
    assert_eq!(code_of(&body), "IncompleteSignature");
    // Signed by another secret, or with another method.
    let mut other = env.params("/order/get", Some(&token), &[("order_id", &id)]);
    other.remove("sign");
    let bad = sign("not-the-secret", "/order/get", &other);
    let body = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("sign", &bad)])
        .await;
    assert_eq!(code_of(&body), "IncompleteSignature");
    let body = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("sign_method", "md5")])
        .await;
    assert_eq!(code_of(&body), "IncompleteSignature");
    // A timestamp over two hours off the simulator's clock.
    let old = (env.clock_ms() - 7_201_000).to_string();
    let body = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("timestamp", &old)])
        .await;
    assert_eq!(code_of(&body), "InvalidTimestamp");
    let near = (env.clock_ms() - 7_000_000).to_string();
    let body = env
        .call("/order/get", Some(&token), &[("order_id", &id), ("timestamp", &near)])
        .await;
    assert_eq!(code_of(&body), "0");
    // Missing pieces.
    let body = env.call("/order/get", None, &[("order_id", &id)]).await;
    assert_eq!(code_of(&body), "MissingParameter");
    let body = env.call("/order/get", Some(&token), &[]).await;
    assert_eq!(code_of(&body), "MissingParameter");
    assert!(body["message"].as_str().unwrap().contains("order_id"));
    let body = env.call("/order/get", Some("not-a-token"), &[("order_id", &id)]).await;
    assert_eq!(code_of(&body), "IllegalAccessToken");
    let body = env.call("/order/nope", Some(&token), &[]).await;
    assert_eq!(code_of(&body), "InvalidApiPath");

    // The seller withdraws the app.
    env.sim.revoke_tokens(SELLER).unwrap();
    let body = env.call("/order/get", Some(&token), &[("order_id", &id)]).await;
    assert_eq!(code_of(&body), "IllegalAccessToken");
}

#[tokio::test]
async fn order_and_items_in_lazadas_shape() {
    let env = start(LazadaSimConfig::default()).await;
    env.sim.add_seller(two_country_seller()).unwrap();
    let token = env.tokens("cb@example.com").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let new = NewOrder {
        seller_id: Some("2000002".into()),
        status: Some("unpaid".into()),
        items: vec![NewItem {
            name: "Teapot".into(),
            sku: "TP-1".into(),
            price: 450.0,
            paid_price: Some(400.0),
            quantity: 2,
        }],
        customer_first_name: Some("Somchai".into()),
        payment_method: Some("COD".into()),
        ..Default::default()
    };
    let order = env.sim.create_order(new).await.unwrap().order;
    let id = order.order_id.to_string();

    let body = env.call("/order/get", Some(&token), &[("order_id", &id)]).await;
    assert_eq!(code_of(&body), "0", "{body}");
    let data = &body["data"];
    assert_eq!(data["order_id"], order.order_id);
    assert_eq!(data["order_number"], order.order_id);
    // START_MS in Thailand (+0700).
    assert_eq!(data["created_at"], "2023-11-15 05:13:20 +0700");
    assert_eq!(data["updated_at"], "2023-11-15 05:13:20 +0700");
    assert_eq!(data["statuses"], json!(["unpaid"]));
    assert_eq!(data["customer_first_name"], "Somchai");
    assert_eq!(data["price"], "900.00");
    assert_eq!(data["payment_method"], "COD");
    assert_eq!(data["items_count"], 2);
    let address = &data["address_shipping"];
    for field in [
        "first_name",
        "last_name",
        "phone",
        "address1",
        "address2",
        "address3",
        "address4",
        "address5",
        "city",
        "post_code",
    ] {
        assert!(address[field].is_string(), "address_shipping.{field}");
    }
    assert_eq!(address["country"], "Thailand");

    let body = env.call("/order/items/get", Some(&token), &[("order_id", &id)]).await;
    let items = body["data"].as_array().unwrap();
    assert_eq!(items.len(), 2, "one item per unit");
    assert_ne!(items[0]["order_item_id"], items[1]["order_item_id"]);
    for item in items {
        assert_eq!(item["sku"], "TP-1");
        assert!(item["shop_sku"].is_string());
        assert_eq!(item["name"], "Teapot");
        assert_eq!(
            (item["item_price"].as_f64(), item["paid_price"].as_f64()),
            (Some(450.0), Some(400.0))
        );
        assert_eq!(item["status"], "unpaid");
        assert_eq!(item["tracking_code"], "");
        assert!(item["shipment_provider"].is_string());
    }

    // One item moves: statuses lists both, and the tracking code shows.
    let first = order.items[0].order_item_id;
    let update = OrderUpdate {
        status: Some("ready_to_ship".into()),
        order_item_ids: vec![first],
        tracking_code: Some("TH0123456789".into()),
    };
    env.clock.advance(Duration::from_secs(65));
    env.sim.update_order(order.order_id, update).await.unwrap();
    let body = env.call("/order/get", Some(&token), &[("order_id", &id)]).await;
    assert_eq!(body["data"]["statuses"], json!(["ready_to_ship", "unpaid"]));
    assert_eq!(body["data"]["updated_at"], "2023-11-15 05:14:25 +0700");
    let body = env.call("/order/items/get", Some(&token), &[("order_id", &id)]).await;
    assert_eq!(body["data"][0]["tracking_code"], "TH0123456789");

    // Another seller's order, or none at all: Lazada's E016.
    let other = env
        .sim
        .create_order(NewOrder {
            seller_id: Some(SELLER.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let body = env
        .call(
            "/order/get",
            Some(&token),
            &[("order_id", &other.order.order_id.to_string())],
        )
        .await;
    assert_eq!(code_of(&body), "16");
    let body = env.call("/order/get", Some(&token), &[("order_id", "42")]).await;
    assert_eq!(
        (code_of(&body), body["message"].as_str()),
        ("16", Some("E016: \"42\" Invalid Order ID"))
    );
    // The Singapore host does not show the Thai order.
    let (_, body) = env
        .call_at(
            &env.sim.region_url(Region::Sg),
            Via::Query,
            "/order/get",
            Some(&token),
            &[("order_id", &id)],
        )
        .await;
    assert_eq!(code_of(&body), "16");
    let (_, body) = env
        .call_at(
            &env.sim.region_url(Region::Th),
            Via::Form,
            "/order/get",
            Some(&token),
            &[("order_id", &id)],
        )
        .await;
    assert_eq!(code_of(&body), "0");
}

#[tokio::test]
async fn orders_get_lists_changes_since_a_time_sorted_and_paged() {
    let env = start(LazadaSimConfig::default()).await;
    let token = env.access_token().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(env.sim.create_order(NewOrder::default()).await.unwrap().order.order_id);
        env.clock.advance(Duration::from_secs(60));
    }
    // 2023-11-14 22:15:20 UTC: the third order's creation.
    let since = "2023-11-15T06:15:20+08:00";
    let list = |extra: Vec<(&'static str, String)>| {
        let env = &env;
        let token = token.clone();
        async move {
            let mut params: Vec<(&str, &str)> = vec![("update_after", since)];
            params.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            env.call("/orders/get", Some(&token), &params).await
        }
    };
    let ids_of = |body: &Value| -> Vec<u64> {
        body["data"]["orders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["order_id"].as_u64().unwrap())
            .collect()
    };

    let body = list(vec![]).await;
    assert_eq!(code_of(&body), "0", "{body}");
    assert_eq!(body["data"]["countTotal"], 3);
    assert_eq!(body["data"]["count"], 3);
    assert_eq!(ids_of(&body), vec![ids[4], ids[3], ids[2]], "newest first by default");
    let first = &body["data"]["orders"][0];
    assert!(first["created_at"].as_str().unwrap().ends_with("+0800"));
    assert_eq!(first["statuses"], json!(["pending"]));

    // An old order changes: it is updated since, and sorts last by update time.
    env.sim.set_order_status(ids[0], "packed").await.unwrap();
    let page = |offset: &str| {
        vec![
            ("sort_by", "updated_at".to_owned()),
            ("sort_direction", "ASC".to_owned()),
            ("limit", "2".to_owned()),
            ("offset", offset.to_owned()),
        ]
    };
    let body = list(page("0")).await;
    assert_eq!(
        (body["data"]["countTotal"].as_u64(), body["data"]["count"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(ids_of(&body), vec![ids[2], ids[3]]);
    let body = list(page("2")).await;
    assert_eq!(ids_of(&body), vec![ids[4], ids[0]]);
    assert_eq!(body["data"]["orders"][1]["statuses"], json!(["packed"]));
    let body = list(page("4")).await;
    assert_eq!((body["data"]["count"].as_u64(), ids_of(&body)), (Some(0), vec![]));

    // Filters and bad parameters.
    let body = list(vec![("status", "packed".into())]).await;
    assert_eq!(ids_of(&body), vec![ids[0]]);
    let body = env
        .call(
            "/orders/get",
            Some(&token),
            &[("created_after", "2023-11-15T06:16:20+0800")],
        )
        .await;
    assert_eq!(ids_of(&body), vec![ids[4], ids[3]]);
    let body = env.call("/orders/get", Some(&token), &[("limit", "10")]).await;
    assert_eq!(code_of(&body), "MissingParameter");
    let body = list(vec![("limit", "101".into())]).await;
    assert_eq!(code_of(&body), "InvalidParameter");
    let body = env
        .call("/orders/get", Some(&token), &[("update_after", "yesterday")])
        .await;
    assert_eq!(code_of(&body), "InvalidParameter");
}

#[tokio::test]
async fn pushes_are_signed_in_lazadas_shape() {
    let env = start(LazadaSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    let change = env.sim.create_order(NewOrder::default()).await.unwrap();
    let order = change.order;
    assert_eq!(change.pushes.len(), 1);
    assert_eq!(change.pushes[0].state, PushState::Delivered);
    let attempt = &change.pushes[0].attempts[0];
    assert_eq!(
        (attempt.status, attempt.at_ms, attempt.error.as_deref()),
        (Some(200), START_MS, None)
    );

    env.clock.advance(Duration::from_secs(90));
    env.sim.set_order_status(order.order_id, "packed").await.unwrap();
    let received = inbox.lock().unwrap().received.clone();
    assert_eq!(received.len(), 2);
    let (auth, body) = &received[1];
    assert_eq!(
        auth,
        &push_sign(APP_KEY, SECRET, body),
        "lower-case hex over app_key + body"
    );
    let item = order.items[0].order_item_id;
    let expected = format!(
        "{{\"seller_id\":\"{SELLER}\",\"message_type\":0,\"data\":{{\"order_status\":\"packed\",\"trade_order_id\":\"{}\",\"trade_order_line_id\":\"{item}\",\"status_update_time\":{}}},\"timestamp\":{},\"site\":\"lazada_sg\"}}",
        order.order_id,
        START_MS / 1000 + 90,
        START_MS + 90_000,
    );
    assert_eq!(std::str::from_utf8(body).unwrap(), expected);

    // No change, no push.
    let same = env.sim.set_order_status(order.order_id, "packed").await.unwrap();
    assert!(same.pushes.is_empty());
    assert!(env.sim.set_order_status(order.order_id, "teleported").await.is_err());

    // Token expiring (8) and seller status (13), on the seller's site.
    let mut seller = two_country_seller();
    seller.account = "two@example.com".into();
    env.sim.add_seller(seller).unwrap();
    let expiring = env
        .sim
        .send_push("2000002", MESSAGE_TOKEN_EXPIRING, json!({"expire_time": 1}))
        .await
        .unwrap();
    let status = env
        .sim
        .send_push(SELLER, MESSAGE_SELLER_STATUS, json!({"status": "inactive"}))
        .await
        .unwrap();
    for (push, message_type, site) in [(expiring, 8, "lazada_th"), (status, 13, "lazada_sg")] {
        let body: Value = serde_json::from_str(&push.body).unwrap();
        assert_eq!(
            (body["message_type"].as_i64(), body["site"].as_str()),
            (Some(message_type), Some(site))
        );
        assert_eq!(push.state, PushState::Delivered);
        assert_eq!(push.authorization, push_sign(APP_KEY, SECRET, push.body.as_bytes()));
    }
}

#[tokio::test]
async fn failed_pushes_are_retried_every_half_hour_twelve_times_on_the_clock() {
    let env = start(LazadaSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    inbox.lock().unwrap().script = VecDeque::from([Reply::Status(500), Reply::Status(204)]);
    let push = env
        .sim
        .create_order(NewOrder::default())
        .await
        .unwrap()
        .pushes
        .remove(0);
    assert_eq!(push.state, PushState::Retrying);
    assert_eq!(push.attempts[0].status, Some(500));
    assert_eq!(push.next_attempt_at_ms, Some(START_MS + 1_800_000));

    // Nothing happens before the half hour; a 204 is not the 200 Lazada wants.
    env.clock.advance(HALF_HOUR - Duration::from_secs(1));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    let early = env.sim.pushes().remove(0);
    assert_eq!(
        (early.attempts.len(), early.next_attempt_at_ms),
        (1, Some(START_MS + 1_800_000))
    );
    env.clock.advance(Duration::from_secs(1));
    let push = wait(&env.sim, push.id, 2).await;
    assert_eq!(
        (push.attempts[1].status, push.attempts[1].at_ms),
        (Some(204), START_MS + 1_800_000)
    );
    assert_eq!(push.state, PushState::Retrying);
    env.clock.advance(HALF_HOUR);
    let push = wait(&env.sim, push.id, 3).await;
    assert_eq!(push.state, PushState::Delivered);
    let received = inbox.lock().unwrap().received.clone();
    assert_eq!(received.len(), 3);
    assert!(
        received.iter().all(|r| r == &received[0]),
        "retries resend the same signed body"
    );

    // A receiver that never says 200 gets 12 retries, then none.
    inbox.lock().unwrap().script = VecDeque::from(vec![Reply::Status(503); 13]);
    let push = env
        .sim
        .create_order(NewOrder::default())
        .await
        .unwrap()
        .pushes
        .remove(0);
    for attempts in 2..=13 {
        env.clock.advance(HALF_HOUR);
        wait(&env.sim, push.id, attempts).await;
    }
    let push = env.sim.pushes().into_iter().find(|p| p.id == push.id).unwrap();
    assert_eq!(
        (push.attempts.len(), push.state, push.next_attempt_at_ms),
        (13, PushState::GaveUp, None)
    );
    env.clock.advance(HALF_HOUR * 4);
    tokio::task::yield_now().await;
    assert_eq!(
        env.sim
            .pushes()
            .iter()
            .find(|p| p.id == push.id)
            .unwrap()
            .attempts
            .len(),
        13
    );
}

#[tokio::test]
async fn a_receiver_slower_than_500_ms_fails_the_attempt() {
    let env = start(LazadaSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    inbox.lock().unwrap().script = VecDeque::from([Reply::Hang]);
    let push = env
        .sim
        .create_order(NewOrder::default())
        .await
        .unwrap()
        .pushes
        .remove(0);
    let attempt = &push.attempts[0];
    assert_eq!(attempt.status, None);
    assert!(attempt.latency_ms >= 500, "{attempt:?}");
    assert!(attempt.error.as_deref().unwrap().contains("500 ms"));
    assert_eq!(push.state, PushState::Retrying);
}

#[tokio::test]
async fn a_dropped_push_is_found_only_by_reconciliation() {
    let env = start(LazadaSimConfig::default()).await;
    let token = env.access_token().await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    let order = env.sim.create_order(NewOrder::default()).await.unwrap().order;
    env.clock.advance(Duration::from_secs(600));
    env.sim.drop_next_pushes(1);
    let lost = env.sim.set_order_status(order.order_id, "canceled").await.unwrap();
    assert_eq!(lost.pushes[0].state, PushState::Dropped);
    assert!(lost.pushes[0].attempts.is_empty());
    assert_eq!(inbox.lock().unwrap().received.len(), 1, "only the creation arrived");
    // The next one goes through again.
    env.sim.set_order_status(order.order_id, "returned").await.unwrap();
    assert_eq!(inbox.lock().unwrap().received.len(), 2);

    let body = env
        .call(
            "/orders/get",
            Some(&token),
            &[("update_after", "2023-11-15T06:23:20+08:00")],
        )
        .await;
    assert_eq!(body["data"]["countTotal"], 1);
    assert_eq!(body["data"]["orders"][0]["order_id"], order.order_id);
}

#[tokio::test]
async fn api_faults_and_the_call_log() {
    let env = start(LazadaSimConfig::default()).await;
    let token = env.access_token().await;
    let since = [("update_after", "2023-11-15T00:00:00+08:00")];
    env.sim
        .fail_next(Some("/orders/get"), 1, ApiFault::Http { status: 503 });
    env.sim.fail_next(Some("/orders/get"), 1, ApiFault::service_timeout());
    let (status, body) = env
        .call_at(&env.sim.rest_url(), Via::Query, "/orders/get", Some(&token), &since)
        .await;
    assert_eq!((status, body), (503, Value::Null));
    let body = env.call("/orders/get", Some(&token), &since).await;
    assert_eq!((body["type"].as_str(), code_of(&body)), (Some("ISP"), "ServiceTimeout"));
    let body = env.call("/orders/get", Some(&token), &since).await;
    assert_eq!(code_of(&body), "0");

    let calls = env.sim.api_calls();
    let codes: Vec<(&str, &str)> = calls.iter().map(|c| (c.path.as_str(), c.code.as_str())).collect();
    assert_eq!(
        codes,
        vec![
            ("/auth/token/create", "0"),
            ("/orders/get", "HTTP 503"),
            ("/orders/get", "ServiceTimeout"),
            ("/orders/get", "0")
        ]
    );
    let last = calls.last().unwrap();
    assert_eq!(last.params["update_after"], "2023-11-15T00:00:00+08:00");
    assert_eq!(last.params["access_token"], token);
    assert_eq!((last.method.as_str(), last.region), ("GET", None));
}

#[tokio::test]
async fn the_http_control_api() {
    let env = start(LazadaSimConfig::default()).await;
    let (url, inbox) = receiver().await;
    let http = reqwest::Client::new();
    let sim = |path: &str| format!("{}/sim/{path}", env.sim.base_url());
    let post = |path: &str, body: Value| http.post(sim(path)).json(&body).send();

    assert_eq!(post("push-target", json!({"url": url})).await.unwrap().status(), 204);
    let seller = json!({"account": "my@example.com", "country_user_info": [
        {"country": "my", "seller_id": "5000001", "user_id": "1", "short_code": "MY1"}]});
    assert!(post("sellers", seller.clone()).await.unwrap().status().is_success());
    assert_eq!(post("sellers", seller).await.unwrap().status(), 409);
    let code: Value = post("authorize", json!({"account": "my@example.com"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tokens = env
        .call("/auth/token/create", None, &[("code", code["code"].as_str().unwrap())])
        .await;
    assert_eq!(tokens["country"], "my");

    let change: Value = post("orders", json!({"seller_id": "5000001"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = change["order"]["order_id"].as_u64().unwrap();
    assert_eq!(change["pushes"][0]["state"], "delivered");
    let moved = post(&format!("orders/{id}/status"), json!({"status": "shipped"}))
        .await
        .unwrap();
    assert!(moved.status().is_success());
    let unknown = post(&format!("orders/{id}/status"), json!({"status": "beamed"}))
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert!(post("push", json!({"seller_id": "5000001", "message_type": 13}))
        .await
        .unwrap()
        .status()
        .is_success());
    let pushes: Value = http.get(sim("pushes")).send().await.unwrap().json().await.unwrap();
    assert_eq!(pushes.as_array().unwrap().len(), 3);
    assert_eq!(inbox.lock().unwrap().received.len(), 3);

    let faults = json!({"api": [{"path": "/order/get", "fault": "http", "status": 502, "times": 1}]});
    assert!(post("faults", faults).await.unwrap().status().is_success());
    let token = tokens["access_token"].as_str().unwrap();
    let (status, _) = env
        .call_at(
            &env.sim.rest_url(),
            Via::Query,
            "/order/get",
            Some(token),
            &[("order_id", &id.to_string())],
        )
        .await;
    assert_eq!(status, 502);
    assert!(post("revoke", json!({"seller_id": "5000001"}))
        .await
        .unwrap()
        .status()
        .is_success());
    let body = env
        .call("/order/get", Some(token), &[("order_id", &id.to_string())])
        .await;
    assert_eq!(code_of(&body), "IllegalAccessToken");
    let calls: Value = http.get(sim("calls")).send().await.unwrap().json().await.unwrap();
    assert_eq!(calls.as_array().unwrap().len(), 3);
}

/// Waits (bounded) for push `id` to have had `attempts` attempts.
async fn wait(sim: &LazadaSim, id: u64, attempts: usize) -> shoprelay_sim::lazada::PushRecord {
    tokio::time::timeout(Duration::from_secs(10), sim.wait_for_attempts(id, attempts))
        .await
        .expect("the retry came once the clock reached it")
        .unwrap()
}
