//! Signed webhooks to the seller's own systems: Standard Webhooks headers, a stable id across retries,
//! Retry-After honoured without spending attempts, 410 ending the delivery.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use shoprelay_core::secret::Secret;
use shoprelay_engine::webhook::{secret_key, signature};
use shoprelay_store::AuditFilter;
use shoprelay_store::AuditOutcome;

use crate::helpers::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An HTTP status and an optional Retry-After value.
type Answer = (u16, Option<&'static str>);
/// What the receiver saw: the webhook id, whether the signature verified, the body.
type Seen = (String, bool, serde_json::Value);

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Seen>>>,
    answers: Arc<Mutex<Vec<Answer>>>,
}

async fn start_receiver(answers: Vec<Answer>) -> (String, Receiver) {
    let receiver = Receiver {
        answers: Arc::new(Mutex::new(answers)),
        ..Receiver::default()
    };
    let state = receiver.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let key = secret_key(&Secret::new(SECRET)).unwrap();
                let ts: i64 = h("webhook-timestamp").parse().unwrap_or_default();
                let valid = signature(&key, &h("webhook-id"), ts, &body) == h("webhook-signature");
                let json = serde_json::from_slice(&body).unwrap_or_default();
                state.seen.lock().unwrap().push((h("webhook-id"), valid, json));
                let (status, retry_after) = state.answers.lock().unwrap().pop().unwrap_or((200, None));
                let mut response = StatusCode::from_u16(status).unwrap().into_response();
                if let Some(secs) = retry_after {
                    response.headers_mut().insert("retry-after", secs.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, receiver)
}

fn webhook_config(url: &str) -> String {
    format!(
        r#"
[[webhooks]]
id = "wms"
url = "{url}"
secret = "{SECRET}"
# The test's receiver listens on loopback.
allow_private_network = true

[[rules]]
id = "to-wms"
events = ["order_created"]
targets = [{{ type = "webhook", webhook = "wms" }}]
"#
    )
}

#[tokio::test]
async fn events_reach_the_sellers_system_signed_and_retry_after_is_honoured() {
    // Answers are popped from the end: first a 429 asking for a second, then 200.
    let (url, receiver) = start_receiver(vec![(200, None), (429, Some("1"))]).await;
    let app = spawn_authorized_with_rules(webhook_config(&url)).await;
    let sn = app.create_order("READY_TO_SHIP").await;
    app.dispatch().await;
    app.dispatch().await;
    assert_eq!(
        receiver.seen.lock().unwrap().len(),
        1,
        "nothing is sent again before the second Retry-After asked for"
    );
    app.clock.advance(Duration::from_millis(1_100));
    app.dispatch_until_settled().await;

    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "the 429, then the delivery");
    assert_eq!(
        seen[0].0, seen[1].0,
        "the same webhook-id on the retry, for the receiver to deduplicate"
    );
    assert!(seen.iter().all(|(_, valid, _)| *valid), "every request is signed");
    assert_eq!(seen[1].2["type"], "order_created");
    assert_eq!(seen[1].2["data"]["order_sn"], sn.as_str());
    let throttled = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Throttled),
            ..Default::default()
        })
        .await;
    assert_eq!(throttled[0].http_status, Some(429));
    let delivered = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Delivered),
            ..Default::default()
        })
        .await;
    let hook = delivered
        .iter()
        .find(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "webhook:wms"))
        .unwrap();
    assert_eq!(hook.attempt, Some(1), "slowing down is not a failed attempt");
}

#[tokio::test]
async fn a_gone_endpoint_ends_the_delivery_with_the_fix() {
    let (url, receiver) = start_receiver(vec![(410, None)]).await;
    let app = spawn_app_with(Options {
        extra_toml: webhook_config(&url),
        ..Options::default()
    })
    .await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(receiver.seen.lock().unwrap().len(), 1);
    let dead = app
        .audit(AuditFilter {
            outcome: Some(AuditOutcome::Dead),
            ..Default::default()
        })
        .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].http_status, Some(410));
    assert!(dead[0].detail.contains("fix the webhook URL"), "{}", dead[0].detail);
}
