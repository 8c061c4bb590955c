//! The TikTok Shop simulator over real HTTP, driven by a tiny signer of the test's own, on a manual clock.

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
use serde_json::Value;
use sha2::Sha256;
use shoprelay_clock::{ManualClock, UnixMs};
use shoprelay_sim::tiktok::{
    serve, ApiFault, NewOrder, PushState, TiktokSim, TiktokSimConfig, INVALID_SIGN, TOKEN_EXPIRED,
};

const APP_KEY: &str = "29a39d";
const SECRET: &str = "e59af819cc";
const OPEN_ID: &str = "7010736057180325637";
const SHOP: &str = "7494049642642441621";
/// 2023-11-14 22:13:20 UTC.
const START_MS: i64 = 1_700_000_000_000;

fn hmac_hex(key: &str, msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(msg);
    hex::encode(mac.finalize().into_bytes())
}

/// The test's own API signer: secret + path + sorted `name + value` without sign/access_token + body + secret.
fn sign(path: &str, query: &BTreeMap<String, String>) -> String {
    sign_body(path, query, "")
}

/// [`sign`] of a call with a body (a POST).
fn sign_body(path: &str, query: &BTreeMap<String, String>, body: &str) -> String {
    let mut base = format!("{SECRET}{path}");
    for (k, v) in query.iter().filter(|(k, _)| *k != "sign" && *k != "access_token") {
        base += k;
        base += v;
    }
    base += body;
    base += SECRET;
    hmac_hex(SECRET, base.as_bytes())
}

struct Env {
    sim: TiktokSim,
    clock: ManualClock,
    http: reqwest::Client,
}

async fn start() -> Env {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = serve(listener, TiktokSimConfig::default(), clock.shared()).await;
    Env {
        sim,
        clock,
        http: reqwest::Client::new(),
    }
}

impl Env {
    fn now(&self) -> i64 {
        use shoprelay_clock::Clock;
        self.clock.now().as_secs()
    }

    /// A signed shop call at `timestamp`, with `token` in the header.
    async fn call_at(&self, path: &str, token: Option<&str>, extra: &[(&str, &str)], timestamp: i64) -> Value {
        let mut query: BTreeMap<String, String> =
            [("app_key", APP_KEY.to_owned()), ("timestamp", timestamp.to_string())]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        query.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        query.insert("sign".into(), sign(path, &query));
        let mut req = self.http.get(format!("{}{path}", self.sim.base_url())).query(&query);
        if let Some(token) = token {
            req = req.header("x-tts-access-token", token);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// A signed POST of `body` (signed as `signed_body`, to tamper with one of them).
    async fn post(&self, path: &str, token: &str, extra: &[(&str, &str)], body: &str, signed_body: &str) -> Value {
        let mut query: BTreeMap<String, String> =
            [("app_key", APP_KEY.to_owned()), ("timestamp", self.now().to_string())]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        query.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        query.insert("sign".into(), sign_body(path, &query, signed_body));
        self.http
            .post(format!("{}{path}", self.sim.base_url()))
            .query(&query)
            .header("x-tts-access-token", token)
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn call(&self, path: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Value {
        self.call_at(path, token, extra, self.now()).await
    }

    /// The token answer for a fresh code of the default seller.
    async fn tokens(&self) -> Value {
        let code = self.sim.authorize(OPEN_ID).unwrap();
        let url = format!("{}/api/v2/token/get", self.sim.base_url());
        let query = [
            ("app_key", APP_KEY),
            ("app_secret", SECRET),
            ("auth_code", code.as_str()),
            ("grant_type", "authorized_code"),
        ];
        self.http
            .get(url)
            .query(&query)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[test]
fn the_test_signer_reproduces_the_worked_example() {
    let query: BTreeMap<String, String> = [("app_key", "29a39d"), ("timestamp", "1623812664")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(
        sign("/authorization/202309/shops", &query),
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8"
    );
}

#[tokio::test]
async fn tokens_expire_at_absolute_times_and_refresh_rotates_the_pair() {
    let env = start().await;
    let answer = env.tokens().await;
    assert_eq!(answer["code"], 0, "{answer}");
    let data = &answer["data"];
    // Absolute unix times: a week and a year from the simulator's clock.
    assert_eq!(data["access_token_expire_in"], env.now() + 7 * 86_400);
    assert_eq!(data["refresh_token_expire_in"], env.now() + 365 * 86_400);
    assert_eq!(
        (data["open_id"].as_str(), data["seller_name"].as_str()),
        (Some(OPEN_ID), Some("Ana's Store"))
    );

    let refresh = |token: String| {
        let url = format!("{}/api/v2/token/refresh", env.sim.base_url());
        let query = [
            ("app_key", APP_KEY.to_owned()),
            ("app_secret", SECRET.to_owned()),
            ("refresh_token", token),
            ("grant_type", "refresh_token".to_owned()),
        ];
        let http = env.http.clone();
        async move {
            http.get(url)
                .query(&query)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let old = data["refresh_token"].as_str().unwrap().to_owned();
    let fresh = refresh(old.clone()).await;
    assert_eq!(fresh["code"], 0, "{fresh}");
    assert_ne!(fresh["data"]["refresh_token"], data["refresh_token"]);
    // The spent refresh token is dead.
    assert_eq!(refresh(old).await["code"], TOKEN_EXPIRED);
    // A code is single use.
    let code = env.sim.authorize(OPEN_ID).unwrap();
    let get = |code: String| {
        let url = format!("{}/api/v2/token/get", env.sim.base_url());
        let query = [
            ("app_key", APP_KEY.to_owned()),
            ("app_secret", SECRET.to_owned()),
            ("auth_code", code),
            ("grant_type", "authorized_code".to_owned()),
        ];
        let http = env.http.clone();
        async move {
            http.get(url)
                .query(&query)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(get(code.clone()).await["code"], 0);
    assert_ne!(get(code).await["code"], 0);
}

#[tokio::test]
async fn shop_calls_are_checked_for_signature_timestamp_token_and_cipher() {
    let env = start().await;
    let tokens = env.tokens().await;
    let token = tokens["data"]["access_token"].as_str().unwrap();
    let shops = env.call("/authorization/202309/shops", Some(token), &[]).await;
    assert_eq!(shops["code"], 0, "{shops}");
    let shop = &shops["data"]["shops"][0];
    assert_eq!(shop["id"], SHOP);
    let cipher = shop["cipher"].as_str().unwrap();

    // The window is 5 minutes back and 30 seconds ahead.
    let path = "/authorization/202309/shops";
    assert_eq!(env.call_at(path, Some(token), &[], env.now() - 300).await["code"], 0);
    assert_ne!(env.call_at(path, Some(token), &[], env.now() - 301).await["code"], 0);
    assert_eq!(env.call_at(path, Some(token), &[], env.now() + 30).await["code"], 0);
    assert_ne!(env.call_at(path, Some(token), &[], env.now() + 31).await["code"], 0);
    // A tampered query fails the signature; no or an unknown token is 105002.
    let url = format!(
        "{}{path}?app_key={APP_KEY}&timestamp={}&sign=00",
        env.sim.base_url(),
        env.now()
    );
    let bad: Value = env
        .http
        .get(url)
        .header("x-tts-access-token", token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["code"], INVALID_SIGN);
    assert_eq!(env.call(path, None, &[]).await["code"], TOKEN_EXPIRED);
    assert_eq!(env.call(path, Some("ROW_nope"), &[]).await["code"], TOKEN_EXPIRED);

    // Orders by id, only through the shop's own cipher.
    let order = env.sim.create_order(NewOrder::default()).await.unwrap().order;
    let id = order.id.to_string();
    let found = env
        .call(
            "/order/202309/orders",
            Some(token),
            &[("ids", &id), ("shop_cipher", cipher)],
        )
        .await;
    assert_eq!(found["code"], 0, "{found}");
    let o = &found["data"]["orders"][0];
    assert_eq!(
        (o["id"].as_str(), o["status"].as_str()),
        (Some(id.as_str()), Some("AWAITING_SHIPMENT"))
    );
    assert_eq!(o["payment"]["total_amount"], "12.50");
    assert_eq!(o["line_items"][0]["sale_price"], "12.50");
    let wrong = env
        .call(
            "/order/202309/orders",
            Some(token),
            &[("ids", &id), ("shop_cipher", "ROW_x")],
        )
        .await;
    assert_ne!(wrong["code"], 0);
    // The token dies with the clock.
    env.clock.advance(Duration::from_secs(7 * 86_400));
    assert_eq!(env.call(path, Some(token), &[]).await["code"], TOKEN_EXPIRED);
}

#[tokio::test]
async fn the_order_search_filters_by_update_time_pages_and_checks_the_body_signature() {
    let env = start().await;
    let tokens = env.tokens().await;
    let token = tokens["data"]["access_token"].as_str().unwrap().to_owned();
    let shops = env.call("/authorization/202309/shops", Some(&token), &[]).await;
    let cipher = shops["data"]["shops"][0]["cipher"].as_str().unwrap().to_owned();
    let start = env.now();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            env.sim
                .create_order(NewOrder::default())
                .await
                .unwrap()
                .order
                .id
                .to_string(),
        );
        env.clock.advance(Duration::from_secs(60));
    }
    // The first order moves last: by update time it comes last.
    env.sim
        .set_order_status(ids[0].parse().unwrap(), "IN_TRANSIT")
        .await
        .unwrap();
    let path = "/order/202309/orders/search";
    let body = format!(
        r#"{{"update_time_ge":{},"update_time_lt":{}}}"#,
        start + 60,
        env.now() + 1
    );
    let search = |page_token: Option<String>| {
        let (token, cipher, body) = (token.clone(), cipher.clone(), body.clone());
        let env = &env;
        async move {
            let mut extra = vec![
                ("shop_cipher", cipher),
                ("page_size", "1".to_owned()),
                ("sort_field", "update_time".to_owned()),
                ("sort_order", "ASC".to_owned()),
            ];
            extra.extend(page_token.map(|t| ("page_token", t)));
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            env.post(path, &token, &extra, &body, &body).await
        }
    };
    let mut seen = Vec::new();
    let mut page_token = None;
    for _ in 0..5 {
        let page = search(page_token.take()).await;
        assert_eq!(page["code"], 0, "{page}");
        assert_eq!(page["data"]["total_count"], 3, "{page}");
        for o in page["data"]["orders"].as_array().unwrap() {
            seen.push((
                o["id"].as_str().unwrap().to_owned(),
                o["status"].as_str().unwrap().to_owned(),
            ));
        }
        match page["data"]["next_page_token"].as_str().unwrap() {
            "" => break,
            next => page_token = Some(next.to_owned()),
        }
    }
    // The second and third orders (updated at creation), then the first (moved now); the first's creation
    // time is before the range, its update inside it.
    let expected = vec![
        (ids[1].clone(), "AWAITING_SHIPMENT".to_owned()),
        (ids[2].clone(), "AWAITING_SHIPMENT".to_owned()),
        (ids[0].clone(), "IN_TRANSIT".to_owned()),
    ];
    assert_eq!(seen, expected);
    // The signature covers the body: the same query with another body is refused.
    let extra = [("shop_cipher", cipher.as_str()), ("page_size", "10")];
    let tampered = env.post(path, &token, &extra, r#"{"update_time_ge":0}"#, &body).await;
    assert_eq!(tampered["code"], INVALID_SIGN, "{tampered}");
    // An unknown filter and a page size over 100 are refused.
    let typo = r#"{"updated_time_ge":0}"#;
    assert_ne!(env.post(path, &token, &extra, typo, typo).await["code"], 0);
    let big = [("shop_cipher", cipher.as_str()), ("page_size", "101")];
    assert_ne!(env.post(path, &token, &big, "{}", "{}").await["code"], 0);
}

/// What the push receiver answers, in order; 200 once the script is empty.
#[derive(Default)]
struct Inbox {
    received: Vec<(String, Bytes)>,
    script: VecDeque<u16>,
}

type SharedInbox = Arc<Mutex<Inbox>>;

async fn receiver() -> (String, SharedInbox) {
    async fn take(State(inbox): State<SharedInbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let auth = headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let mut inbox = inbox.lock().unwrap();
        inbox.received.push((auth, body));
        StatusCode::from_u16(inbox.script.pop_front().unwrap_or(200)).unwrap()
    }
    let inbox = SharedInbox::default();
    let router = Router::new().route("/push", post(take)).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, inbox)
}

async fn wait(sim: &TiktokSim, id: u64, attempts: usize) -> shoprelay_sim::tiktok::PushRecord {
    tokio::time::timeout(Duration::from_secs(10), sim.wait_for_attempts(id, attempts))
        .await
        .expect("the retry came once the clock reached it")
        .unwrap()
}

#[tokio::test]
async fn pushes_are_signed_in_tiktoks_shape_and_retried_at_2m_30m_3h_12h() {
    let env = start().await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    inbox.lock().unwrap().script = VecDeque::from(vec![500; 5]);
    let change = env.sim.create_order(NewOrder::default()).await.unwrap();
    let push = change.push.unwrap();
    let body: Value = serde_json::from_str(&push.body).unwrap();
    assert_eq!(body["type"], 1);
    assert_eq!(body["shop_id"], SHOP);
    assert_eq!(body["data"]["order_id"], change.order.id.to_string());
    assert_eq!(body["data"]["order_status"], "AWAITING_SHIPMENT");
    assert_eq!(body["tts_notification_id"], push.about.notification_id);
    let expected = hmac_hex(SECRET, &[APP_KEY.as_bytes(), push.body.as_bytes()].concat());
    assert_eq!(push.authorization, expected);

    // Retries 2 min, 30 min, 3 h, 12 h after the first attempt, then none.
    for (n, after) in [120_i64, 1800, 3 * 3600, 12 * 3600].into_iter().enumerate() {
        let due = START_MS + after * 1000;
        let current = env.sim.pushes().remove(0);
        assert_eq!(current.next_attempt_at_ms, Some(due), "retry {}", n + 1);
        // A second early, nothing happens; at the due time, the retry does.
        env.clock
            .advance(Duration::from_millis(u64::try_from(due - env_ms(&env) - 1000).unwrap()));
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(env.sim.pushes()[0].attempts.len(), n + 1, "retry {} came early", n + 1);
        env.clock.advance(Duration::from_secs(1));
        wait(&env.sim, push.id, n + 2).await;
    }
    let last = env.sim.pushes().remove(0);
    assert_eq!((last.state, last.attempts.len()), (PushState::GaveUp, 5));
    let received = inbox.lock().unwrap().received.clone();
    assert!(
        received.iter().all(|r| r == &received[0]),
        "every retry is the same signed body"
    );
}

fn env_ms(env: &Env) -> i64 {
    use shoprelay_clock::Clock;
    env.clock.now().as_millis()
}

#[tokio::test]
async fn faults_lost_pushes_and_revocation() {
    let env = start().await;
    let (url, inbox) = receiver().await;
    env.sim.set_push_target(Some(&url));
    env.sim.drop_next_pushes(1);
    let lost = env.sim.create_order(NewOrder::default()).await.unwrap().push.unwrap();
    assert_eq!(lost.state, PushState::Dropped);
    assert!(inbox.lock().unwrap().received.is_empty());

    let token = env.tokens().await["data"]["access_token"].as_str().unwrap().to_owned();
    env.sim
        .fail_next(Some("/authorization/202309/shops"), 1, ApiFault::Http { status: 503 });
    let url = format!("{}/authorization/202309/shops", env.sim.base_url());
    let status = env.http.get(&url).send().await.unwrap().status();
    assert_eq!(status, 503);
    assert_eq!(
        env.call("/authorization/202309/shops", Some(&token), &[]).await["code"],
        0
    );
    env.sim.revoke_tokens(SHOP).unwrap();
    assert_eq!(
        env.call("/authorization/202309/shops", Some(&token), &[]).await["code"],
        TOKEN_EXPIRED
    );
    let codes: Vec<i64> = env.sim.api_calls().iter().map(|c| c.code).collect();
    assert_eq!(&codes[codes.len() - 3..], [-503, 0, TOKEN_EXPIRED]);
}
