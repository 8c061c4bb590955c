//! The WeCom simulator playing the members: encrypted callbacks of their messages and card clicks,
//! WeCom's retries, and single-use response_codes for `update_template_card`. What the simulator sends
//! is opened with the product's own callback code (shoprelay-wecom), a cross-check: the simulator's
//! crypto itself is checked against the conformance vectors in its unit tests.

// A test fails by panicking: unwrap and expect are how it says what went wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use shoprelay_clock::{ManualClock, UnixMs};
use shoprelay_sim::wecom::{
    serve, CallbackError, CallbackEvent, CallbackRecord, SimApp, SimCallback, WeComSim, WeComSimConfig,
};
use shoprelay_wecom::callback::{open_callback, CallbackEnvelope, CallbackMessage};
use shoprelay_wecom::crypto::CallbackCrypto;
use tokio::net::TcpListener;

const CORP: &str = "ww1436e0e65a779aee";
const SECRET: &str = "secret-a";
const AGENT: i64 = 1000002;
const OTHER_AGENT: i64 = 1000003;
const TOKEN: &str = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo";
const AES_KEY: &str = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt";
/// 2023-11-14T22:13:20Z.
const START_MS: i64 = 1_700_000_000_000;

/// How the receiver answers one callback.
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Never answers: the simulator's timeout decides.
    Hang,
}

#[derive(Default)]
struct Receiver {
    /// (query string, body) of each request, in arrival order.
    got: Vec<(String, String)>,
    /// Answers for the next requests; 200 with an empty body after them.
    answers: VecDeque<Answer>,
}

type Shared = Arc<Mutex<Receiver>>;

/// A recording callback receiver on port 0; returns its URL (with a query of its own, kept by WeCom).
async fn receiver() -> (String, Shared) {
    async fn take(State(rx): State<Shared>, RawQuery(query): RawQuery, body: String) -> StatusCode {
        let answer = {
            let mut rx = rx.lock().unwrap();
            rx.got.push((query.unwrap_or_default(), body));
            rx.answers.pop_front().unwrap_or(Answer::Status(200))
        };
        match answer {
            Answer::Status(status) => StatusCode::from_u16(status).unwrap(),
            Answer::Hang => std::future::pending().await,
        }
    }
    let shared = Shared::default();
    let router = Router::new()
        .route("/wecom/callback/hq", post(take))
        .with_state(shared.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/wecom/callback/hq?tenant=a", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, shared)
}

fn callback(url: &str) -> SimCallback {
    SimCallback {
        agent_id: AGENT,
        url: url.to_owned(),
        token: TOKEN.into(),
        encoding_aes_key: AES_KEY.into(),
    }
}

fn config(callbacks: Vec<SimCallback>) -> WeComSimConfig {
    WeComSimConfig {
        corp_id: CORP.into(),
        apps: vec![
            SimApp {
                agent_id: AGENT,
                secret: SECRET.into(),
                name: "客服".into(),
            },
            SimApp {
                agent_id: OTHER_AGENT,
                secret: "secret-b".into(),
                name: String::new(),
            },
        ],
        users: vec!["Alice".into(), "bob".into()],
        callbacks,
        ..WeComSimConfig::default()
    }
}

async fn start(config: WeComSimConfig, clock: &ManualClock) -> WeComSim {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve(listener, config, clock.shared()).await.unwrap()
}

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(TOKEN, AES_KEY, CORP).unwrap()
}

/// Verifies and opens one received callback with the product's code.
fn open(query: &str, body: &str) -> CallbackMessage {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap();
    assert_eq!(param("tenant"), "a", "the URL's own query is kept");
    open_callback(
        &crypto(),
        &param("msg_signature"),
        &param("timestamp"),
        &param("nonce"),
        body,
    )
    .unwrap()
}

fn received(rx: &Shared) -> Vec<(String, String)> {
    rx.lock().unwrap().got.clone()
}

fn msg_id(record: &CallbackRecord) -> String {
    match &record.event {
        CallbackEvent::Text { msg_id, .. } => msg_id.clone(),
        other => panic!("not a text callback: {other:?}"),
    }
}

async fn token(sim: &WeComSim, secret: &str) -> String {
    let url = format!("{}/cgi-bin/gettoken?corpid={CORP}&corpsecret={secret}", sim.base_url());
    let reply: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    reply["access_token"].as_str().unwrap().to_owned()
}

async fn api(sim: &WeComSim, path: &str, token: &str, body: &Value) -> Value {
    let url = format!("{}{path}?access_token={token}", sim.base_url());
    let response = reqwest::Client::new().post(url).json(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn button_card(to: &str, task_id: &str) -> Value {
    json!({
        "touser": to,
        "msgtype": "template_card",
        "agentid": AGENT,
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "买家咨询", "desc": "Is it in stock?"},
            "task_id": task_id,
            "button_list": [
                {"text": "认领", "style": 1, "key": "claim"},
                {"type": 1, "text": "打开", "url": "https://example.com/c/1"}
            ]
        }
    })
}

fn update_body(response_code: &str) -> Value {
    json!({"userids": ["Alice"], "agentid": AGENT, "response_code": response_code, "button": {"replace_name": "已认领"}})
}

#[tokio::test]
async fn a_members_message_arrives_encrypted_and_signed_for_the_product() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, rx) = receiver().await;
    let sim = start(config(vec![callback(&url)]), &clock).await;

    let text = "还有货吗？ <b>]]> & more";
    let first = sim.member_says(AGENT, "alice", text).await.unwrap();
    assert!(first.delivered);
    assert_eq!(first.attempts.len(), 1);
    assert_eq!(first.attempts[0].status, Some(200));
    assert_eq!((first.agent_id, first.from_user.as_str()), (AGENT, "Alice"));
    assert_eq!(first.create_time, START_MS / 1000);

    let got = received(&rx);
    assert_eq!(got.len(), 1);
    let (query, body) = &got[0];
    assert_eq!(first.attempts[0].body, *body);
    let envelope = CallbackEnvelope::parse(body).unwrap();
    assert_eq!(envelope.to_user_name, CORP);
    assert_eq!(envelope.agent_id.as_deref(), Some("1000002"));
    assert_eq!(crypto().decrypt(&envelope.encrypt).unwrap(), first.plaintext);
    match open(query, body) {
        CallbackMessage::Text {
            from_user,
            content,
            msg_id,
            agent_id,
            create_time,
        } => {
            assert_eq!((from_user.as_str(), content.as_str()), ("Alice", text));
            assert_eq!(msg_id, self::msg_id(&first));
            assert_eq!((agent_id, create_time), (Some(AGENT), START_MS / 1000));
        }
        other => panic!("{other:?}"),
    }
    // The signature covers the ciphertext: tampering is caught by the product.
    let tampered = body.replacen("<Encrypt><![CDATA[", "<Encrypt><![CDATA[A", 1);
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap();
    assert!(open_callback(
        &crypto(),
        &param("msg_signature"),
        &param("timestamp"),
        &param("nonce"),
        &tampered
    )
    .is_err());

    clock.advance(Duration::from_secs(5));
    let second = sim.member_says(AGENT, "bob", "hello").await.unwrap();
    assert_ne!(msg_id(&second), msg_id(&first));
    assert_eq!(second.create_time, START_MS / 1000 + 5);
    assert_eq!(second.attempts[0].at_unix_ms, (START_MS + 5_000) as u64);
    assert_eq!(sim.callbacks(), vec![first, second]);
}

#[tokio::test]
async fn a_callback_not_answered_200_is_sent_three_more_times_with_the_same_msg_id() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, rx) = receiver().await;
    let sim = start(
        WeComSimConfig {
            callback_timeout_ms: 300,
            ..config(vec![callback(&url)])
        },
        &clock,
    )
    .await;

    rx.lock().unwrap().answers = [Answer::Status(500), Answer::Hang, Answer::Status(200)].into();
    let record = sim.member_says(AGENT, "Alice", "在吗").await.unwrap();
    assert!(record.delivered);
    let statuses: Vec<Option<u16>> = record.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, vec![Some(500), None, Some(200)]);
    assert_eq!(record.attempts[0].error.as_deref(), Some("HTTP 500"));
    assert_eq!(record.attempts[1].error.as_deref(), Some("no answer within 300 ms"));
    let got = received(&rx);
    assert_eq!(got.len(), 3);
    let ids: Vec<String> = got
        .iter()
        .map(|(q, b)| match open(q, b) {
            CallbackMessage::Text { msg_id, .. } => msg_id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(ids.iter().all(|id| *id == msg_id(&record)), "{ids:?}");
    // Encrypted afresh each time: only the MsgId tells a retry apart.
    assert_ne!(got[0].1, got[2].1);

    rx.lock().unwrap().answers = vec![Answer::Status(503); 10].into();
    let failed = sim.member_says(AGENT, "Alice", "还在吗").await.unwrap();
    assert!(!failed.delivered);
    assert_eq!(failed.attempts.len(), 4, "one attempt and three retries");
    assert_eq!(received(&rx).len(), 7);
}

#[tokio::test]
async fn callbacks_need_a_known_app_member_and_setting() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, rx) = receiver().await;
    let sim = start(config(Vec::new()), &clock).await;
    assert_eq!(
        sim.member_says(AGENT, "Alice", "x").await,
        Err(CallbackError::NoCallback(AGENT))
    );
    assert_eq!(
        sim.member_says(42, "Alice", "x").await,
        Err(CallbackError::UnknownApp(42))
    );

    sim.set_callback(&callback(&url)).unwrap();
    assert_eq!(
        sim.member_says(AGENT, "carol", "x").await,
        Err(CallbackError::UnknownUser("carol".into()))
    );
    assert!(sim.member_says(AGENT, "Alice", "x").await.unwrap().delivered);
    assert_eq!(received(&rx).len(), 1);
    assert_eq!(
        sim.member_says(OTHER_AGENT, "Alice", "x").await,
        Err(CallbackError::NoCallback(OTHER_AGENT))
    );
    sim.remove_callback(AGENT);
    assert_eq!(
        sim.member_says(AGENT, "Alice", "x").await,
        Err(CallbackError::NoCallback(AGENT))
    );

    let bad_key = SimCallback {
        encoding_aes_key: "short".into(),
        ..callback(&url)
    };
    assert_eq!(sim.set_callback(&bad_key), Err(CallbackError::InvalidAesKey(AGENT)));
    let bad_url = SimCallback {
        url: "not a url".into(),
        ..callback(&url)
    };
    assert!(matches!(sim.set_callback(&bad_url), Err(CallbackError::InvalidUrl(_))));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = serve(listener, config(vec![bad_key]), clock.shared()).await;
    assert_eq!(refused.err().unwrap().kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn clicking_a_button_calls_back_with_a_response_code_that_updates_the_card_once() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, rx) = receiver().await;
    let sim = start(config(vec![callback(&url)]), &clock).await;
    let token = token(&sim, SECRET).await;

    let sent = api(&sim, "/cgi-bin/message/send", &token, &button_card("alice", "conv-1")).await;
    assert_eq!(sent["errcode"], 0, "{sent}");
    let send_code = sent["response_code"].as_str().unwrap().to_owned();

    let click = sim.click_button(AGENT, "ALICE", "conv-1", "claim").await.unwrap();
    assert!(click.delivered && click.from_user == "Alice");
    let CallbackEvent::TemplateCardEvent {
        task_id,
        event_key,
        card_type,
        response_code,
    } = click.event.clone()
    else {
        panic!("{:?}", click.event)
    };
    assert_eq!(
        (task_id.as_str(), event_key.as_str(), card_type.as_str()),
        ("conv-1", "claim", "button_interaction")
    );
    assert_ne!(response_code, send_code);
    let (query, body) = received(&rx).pop().unwrap();
    match open(&query, &body) {
        CallbackMessage::TemplateCardEvent {
            from_user,
            event_key,
            task_id,
            card_type,
            response_code: code,
            agent_id,
            create_time,
        } => {
            assert_eq!(
                (from_user.as_str(), event_key.as_str(), task_id.as_str()),
                ("Alice", "claim", "conv-1")
            );
            assert_eq!(
                (card_type.as_str(), code.as_str()),
                ("button_interaction", response_code.as_str())
            );
            assert_eq!((agent_id, create_time), (Some(AGENT), START_MS / 1000));
        }
        other => panic!("{other:?}"),
    }

    // The click's code updates the card once; a second use is refused and changes nothing.
    let update = "/cgi-bin/message/update_template_card";
    assert_eq!(
        api(&sim, update, &token, &update_body(&response_code)).await["errcode"],
        0
    );
    let again = api(&sim, update, &token, &update_body(&response_code)).await;
    assert_eq!(again["errcode"], 40058, "{again}");
    let updates = sim.card_updates();
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0].task_id.as_deref(), Some("conv-1"));
    assert_eq!(updates[0].replace_name.as_deref(), Some("已认领"));
    assert_eq!(
        (updates[0].userids.clone(), updates[0].agent_id),
        (vec!["Alice".to_owned()], AGENT)
    );
    // The send's own code is a separate, still unspent code, here replacing the whole card.
    let replacement = json!({"agentid": AGENT, "response_code": send_code, "atall": 1, "template_card": button_card("alice", "conv-1")["template_card"]});
    assert_eq!(api(&sim, update, &token, &replacement).await["errcode"], 0);
    assert!(sim.card_updates()[1].atall && sim.card_updates()[1].template_card.is_some());

    // Only callback buttons of cards a member received can be clicked.
    assert_eq!(
        sim.click_button(AGENT, "Alice", "conv-1", "https-button").await,
        Err(CallbackError::UnknownButton {
            task_id: "conv-1".into(),
            key: "https-button".into()
        })
    );
    assert!(matches!(
        sim.click_button(AGENT, "bob", "conv-1", "claim").await,
        Err(CallbackError::NotARecipient { .. })
    ));
    assert!(matches!(
        sim.click_button(AGENT, "Alice", "conv-404", "claim").await,
        Err(CallbackError::UnknownCard { .. })
    ));
    assert!(matches!(
        sim.click_button(OTHER_AGENT, "Alice", "conv-1", "claim").await,
        Err(CallbackError::UnknownCard { .. })
    ));
    // A URL button (type 1) calls nothing back even when it has a key.
    let mut card = button_card("bob", "conv-2");
    card["template_card"]["button_list"][1]["key"] = "open".into();
    api(&sim, "/cgi-bin/message/send", &token, &card).await;
    assert!(matches!(
        sim.click_button(AGENT, "bob", "conv-2", "open").await,
        Err(CallbackError::UnknownButton { .. })
    ));
    assert!(
        sim.click_button(AGENT, "bob", "conv-2", "claim")
            .await
            .unwrap()
            .delivered
    );
}

#[tokio::test]
async fn response_codes_are_checked_like_wecom() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, _rx) = receiver().await;
    let sim = start(config(vec![callback(&url)]), &clock).await;
    let token_a = token(&sim, SECRET).await;
    let token_b = token(&sim, "secret-b").await;
    let update = "/cgi-bin/message/update_template_card";
    let code = |sent: Value| sent["response_code"].as_str().unwrap().to_owned();

    let first = code(api(&sim, "/cgi-bin/message/send", &token_a, &button_card("alice", "t1")).await);
    // Bad requests are refused without spending the code.
    assert_eq!(api(&sim, update, "", &update_body(&first)).await["errcode"], 41001);
    assert_eq!(
        api(&sim, update, &token_b, &update_body(&first)).await["errcode"],
        301002
    );
    let no_change = json!({"agentid": AGENT, "response_code": first});
    assert_eq!(api(&sim, update, &token_a, &no_change).await["errcode"], 40058);
    let bad_card = json!({"agentid": AGENT, "response_code": first, "template_card": {"card_type": "nope"}});
    assert_eq!(api(&sim, update, &token_a, &bad_card).await["errcode"], 40058);
    assert!(sim.card_updates().is_empty());
    // Another app cannot spend it either.
    let mut other = update_body(&first);
    other["agentid"] = OTHER_AGENT.into();
    assert_eq!(api(&sim, update, &token_b, &other).await["errcode"], 40058);
    // 72 hours by the simulator's clock: the last second still works, the next does not.
    clock.advance(Duration::from_secs(72 * 3600 - 1));
    assert_eq!(
        api(&sim, update, &token(&sim, SECRET).await, &update_body(&first)).await["errcode"],
        0
    );
    let token_a = token(&sim, SECRET).await;
    let second = code(api(&sim, "/cgi-bin/message/send", &token_a, &button_card("alice", "t2")).await);
    clock.advance(Duration::from_secs(72 * 3600));
    let token_a = token(&sim, SECRET).await;
    assert_eq!(
        api(&sim, update, &token_a, &update_body(&second)).await["errcode"],
        40058
    );
    assert_eq!(
        api(&sim, update, &token_a, &update_body("never-issued")).await["errcode"],
        40058
    );
    assert_eq!(sim.card_updates().len(), 1);

    // WeCom names no errcode for a spent code; the simulator can be told which to answer.
    let (url, _rx) = receiver().await;
    let strict = start(
        WeComSimConfig {
            invalid_response_code_errcode: 40029,
            ..config(vec![callback(&url)])
        },
        &clock,
    )
    .await;
    let token = token(&strict, SECRET).await;
    assert_eq!(api(&strict, update, &token, &update_body("x")).await["errcode"], 40029);
}

#[tokio::test]
async fn members_act_over_the_http_control_api() {
    let clock = ManualClock::new(UnixMs::from_millis(START_MS));
    let (url, rx) = receiver().await;
    let sim = start(config(Vec::new()), &clock).await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let post = |path: &str, body: Value| http.post(format!("{base}{path}")).json(&body).send();

    let set = post("/sim/callbacks/config", serde_json::to_value(callback(&url)).unwrap())
        .await
        .unwrap();
    assert_eq!(set.status(), StatusCode::NO_CONTENT);
    let bad = post(
        "/sim/callbacks/config",
        json!({"agent_id": AGENT, "url": url, "token": "t", "encoding_aes_key": "short"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let said: Value = post(
        "/sim/member-says",
        json!({"agent_id": AGENT, "userid": "bob", "text": "hi"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(said["event"]["kind"], "text");
    assert_eq!(said["delivered"], true);
    assert_eq!(received(&rx).len(), 1);

    let token = token(&sim, SECRET).await;
    api(&sim, "/cgi-bin/message/send", &token, &button_card("bob", "t9")).await;
    let clicked: Value = post(
        "/sim/click",
        json!({"agent_id": AGENT, "userid": "bob", "task_id": "t9", "key": "claim"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(clicked["event"]["kind"], "template_card_event");
    let code = clicked["event"]["response_code"].as_str().unwrap();
    api(
        &sim,
        "/cgi-bin/message/update_template_card",
        &token,
        &update_body(code),
    )
    .await;
    let missing = post(
        "/sim/click",
        json!({"agent_id": AGENT, "userid": "bob", "task_id": "t404", "key": "claim"}),
    )
    .await
    .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let callbacks: Value = get("/sim/callbacks").await.unwrap().json().await.unwrap();
    assert_eq!(callbacks.as_array().unwrap().len(), 2);
    let updates: Value = get("/sim/card-updates").await.unwrap().json().await.unwrap();
    assert_eq!(updates[0]["task_id"], "t9");
}
