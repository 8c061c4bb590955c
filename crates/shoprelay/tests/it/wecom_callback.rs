//! The WeCom callback endpoint against the published WXBizMsgCrypt vectors: URL verification, a member's
//! message stored once however often WeCom retries it, and hostile callbacks — forged, for another corp,
//! truncated, badly padded, oversized, entity-laden — refused, audited and never stored.

use serde_json::Value;
use sha1::{Digest, Sha1};
use shoprelay_store::AuditOutcome;
use shoprelay_store::{AuditFilter, AuditKind};

use crate::helpers::*;

/// A vector of ../../vectors/wecom-callback-crypto.json by name.
fn vector(name: &str) -> Value {
    let raw = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../vectors/wecom-callback-crypto.json"
    ))
    .unwrap();
    let all: Value = serde_json::from_str(&raw).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
        .clone()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap()
}

/// The official sample's app as `cs`, and the same keys under another corp as `elsewhere`.
fn apps(v: &Value) -> String {
    let entry = |id: &str, corp: &str| {
        format!(
            "\n[[wecom.apps]]\nid = \"{id}\"\ncorp_id = \"{corp}\"\nsecret = \"s\"\nagent_id = 1000002\n\
             callback_token = \"{}\"\nencoding_aes_key = \"{}\"\n",
            s(v, "token"),
            s(v, "encoding_aes_key")
        )
    };
    entry("cs", s(v, "receive_id")) + &entry("elsewhere", "wwsomeothercorp00001")
}

/// WeCom's msg_signature, computed here on its own: sha1 of the sorted four strings.
fn sign(token: &str, timestamp: &str, nonce: &str, encrypt: &str) -> String {
    let mut parts = [token, timestamp, nonce, encrypt];
    parts.sort_unstable();
    hex::encode(Sha1::digest(parts.concat().as_bytes()))
}

fn envelope(corp: &str, encrypt: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>\
         <AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
}

async fn post(app: &TestApp, id: &str, signature: &str, v: &Value, body: String) -> (u16, String) {
    let url = format!(
        "{}/wecom/callback/{id}?msg_signature={signature}&timestamp={}&nonce={}",
        app.base,
        s(v, "timestamp"),
        s(v, "nonce")
    );
    let answer = app.http.post(url).body(body).send().await.unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

#[tokio::test]
async fn the_callback_url_is_verified_with_the_decrypted_echostr() {
    let v = vector("official-sample-url-verification");
    let app = spawn_authorized_with_rules(apps(&v)).await;
    let url = |signature: &str| {
        format!(
            "{}/wecom/callback/cs?msg_signature={signature}&timestamp={}&nonce={}&echostr={}",
            app.base,
            s(&v, "timestamp"),
            s(&v, "nonce"),
            urlencode(s(&v, "encrypt"))
        )
    };
    let ok = app.http.get(url(s(&v, "msg_signature"))).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), s(&v, "plaintext"));
    let forged = app.http.get(url(&"0".repeat(40))).send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let body: Value = forged.json().await.unwrap();
    assert_eq!(body["code"], "wecom_callback.signature_invalid", "{body}");
    let unknown = app
        .http
        .get(format!(
            "{}/wecom/callback/nope?msg_signature=a&timestamp=1&nonce=2&echostr=x",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn a_members_message_is_stored_once_however_often_wecom_retries() {
    let v = vector("official-sample-post-text-message");
    let app = spawn_authorized_with_rules(apps(&v)).await;
    let body = || envelope(s(&v, "receive_id"), s(&v, "encrypt"));
    for _ in 0..3 {
        let (status, answer) = post(&app, "cs", s(&v, "msg_signature"), &v, body()).await;
        assert_eq!((status, answer.as_str()), (200, ""), "WeCom wants an empty 200");
    }
    let stored = app.server.engine.store().recent_callbacks(10).await.unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].kind, "text");
    assert_eq!(stored[0].dedupe_key, "msg:1456453720");
    assert!(stored[0].body.contains("你好") && stored[0].body.contains("ChenJiaShun"));
    let audit = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Callback),
            ..Default::default()
        })
        .await;
    let outcomes: Vec<&str> = audit.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "received").count(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|o| **o == "duplicate").count(),
        2,
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn hostile_callbacks_are_refused_audited_and_never_stored() {
    let v = vector("official-sample-post-text-message");
    let app = spawn_authorized_with_rules(apps(&v)).await;
    let (token, ts, nonce) = (s(&v, "token"), s(&v, "timestamp"), s(&v, "nonce"));
    let corp = s(&v, "receive_id");
    let encrypt = s(&v, "encrypt");

    // A wrong signature.
    let (status, answer) = post(&app, "cs", &"f".repeat(40), &v, envelope(corp, encrypt)).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("wecom_callback.signature_invalid"), "{answer}");
    // Correctly signed, but encrypted for another corp than the app's.
    let (status, answer) = post(&app, "elsewhere", s(&v, "msg_signature"), &v, envelope(corp, encrypt)).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("wecom_callback.wrong_receiver"), "{answer}");
    // Truncated ciphertext, signed as sent (so it reaches decryption).
    let truncated = &encrypt[..encrypt.len() - 8];
    let (status, answer) = post(
        &app,
        "cs",
        &sign(token, ts, nonce, truncated),
        &v,
        envelope(corp, truncated),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("wecom_callback.malformed"), "{answer}");
    // The last block altered: its padding (or what follows it) no longer checks out.
    let mut altered = encrypt.to_owned();
    let at = altered.len() - 6;
    let swapped = if &altered[at..=at] == "A" { "B" } else { "A" };
    altered.replace_range(at..=at, swapped);
    let (status, answer) = post(
        &app,
        "cs",
        &sign(token, ts, nonce, &altered),
        &v,
        envelope(corp, &altered),
    )
    .await;
    assert!(status == 400 || status == 401, "{status} {answer}");
    // Oversized.
    let huge = envelope(corp, &"A".repeat(70 * 1024));
    let (status, _) = post(&app, "cs", s(&v, "msg_signature"), &v, huge).await;
    assert_eq!(status, 413);
    // Entities: neither expanded nor fetched.
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\
         <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY x SYSTEM \"file:///etc/passwd\">]>\
         <xml><ToUserName>&c;&x;</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    );
    let (status, answer) = post(&app, "cs", s(&v, "msg_signature"), &v, laughs).await;
    assert_eq!(status, 400, "{answer}");
    assert!(!answer.contains("root:"), "{answer}");
    // No signature parameters at all.
    let bare = app
        .http
        .post(format!("{}/wecom/callback/cs", app.base))
        .body(envelope(corp, encrypt))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 400);

    assert!(app.server.engine.store().recent_callbacks(10).await.unwrap().is_empty());
    let audit = app
        .audit(AuditFilter {
            kind: Some(AuditKind::Callback),
            ..Default::default()
        })
        .await;
    assert_eq!(audit.len(), 7, "{audit:?}");
    assert!(audit.iter().all(|a| a.outcome == AuditOutcome::Rejected), "{audit:?}");
}

/// Percent-encodes what a query value cannot hold as it is (base64's `+`, `/`, `=`).
fn urlencode(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '+' => "%2B".to_owned(),
            '/' => "%2F".to_owned(),
            '=' => "%3D".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
