//! Webhooks cannot be turned against the network shoprelay runs in: redirects are not followed, and
//! loopback, private, link-local and metadata addresses are refused — in `apply` for addresses written in
//! the URL, and at send time on the addresses a name resolves to — unless the webhook allows its private
//! network explicitly.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use shoprelay_core::error::UserFacing;
use shoprelay_engine::config::{parse_config, ConfigError};
use shoprelay_store::AuditFilter;
use shoprelay_store::AuditOutcome;

use crate::cli::bin;
use crate::helpers::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A receiver that records the paths it was asked for and answers `status` (with `location`, if any).
async fn receiver(status: u16, location: Option<String>) -> (u16, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let state = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |uri: axum::http::Uri| {
            let (state, location) = (state.clone(), location.clone());
            async move {
                state.lock().unwrap().push(uri.to_string());
                let mut response = StatusCode::from_u16(status).unwrap().into_response();
                if let Some(to) = location {
                    response.headers_mut().insert("location", to.parse().unwrap());
                }
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

fn webhook_toml(url: &str, allow: bool) -> String {
    let allow = if allow { "allow_private_network = true" } else { "" };
    format!(
        r#"
[[webhooks]]
id = "wms"
url = "{url}"
secret = "{SECRET}"
{allow}

[[rules]]
id = "to-wms"
events = ["order_created"]
targets = [{{ type = "webhook", webhook = "wms" }}]
"#
    )
}

async fn webhook_audit(app: &TestApp) -> Vec<shoprelay_store::AuditEntry> {
    app.audit(AuditFilter::default())
        .await
        .into_iter()
        .filter(|a| a.destination.as_ref().is_some_and(|d| d.to_string() == "webhook:wms"))
        .collect()
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_holds_the_webhook() {
    let (elsewhere, reached_elsewhere) = receiver(200, None).await;
    let (first, reached_first) = receiver(307, Some(format!("http://127.0.0.1:{elsewhere}/hook"))).await;
    let app = spawn_authorized_with_rules(webhook_toml(&format!("http://127.0.0.1:{first}/hook"), true)).await;
    app.create_order("READY_TO_SHIP").await;
    for _ in 0..3 {
        app.dispatch().await;
    }
    assert_eq!(reached_first.lock().unwrap().len(), 1, "one attempt, then held");
    assert!(
        reached_elsewhere.lock().unwrap().is_empty(),
        "the signed body went to the redirect's target"
    );
    let audit = webhook_audit(&app).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        audit[0].outcome,
        AuditOutcome::Held,
        "an admin must fix the URL; no attempt is spent"
    );
    assert_eq!(audit[0].http_status, Some(307));
    assert!(
        audit[0].detail.contains("webhook.redirect_refused") && audit[0].detail.contains("重定向"),
        "{}",
        audit[0].detail
    );
}

#[test]
fn apply_refuses_webhooks_on_loopback_private_link_local_and_metadata_addresses() {
    for host in [
        "169.254.169.254",
        "10.0.0.1",
        "127.0.0.1",
        "[::1]",
        "[fd00:ec2::254]",
        "100.100.100.200",
    ] {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:8080\"\n{}",
            webhook_toml(&format!("http://{host}/hook"), false)
        );
        let err = parse_config(&text).expect_err(host);
        let ConfigError::Invalid(problems) = &err else {
            panic!("{host}: {err:?}")
        };
        assert_eq!(problems.len(), 1, "{problems:?}");
        let p = &problems[0];
        assert_eq!(p.code, Some("webhook.address_refused"), "{host}");
        assert_eq!(p.line, Some(6), "{host}: the url's line");
        assert_eq!(p.path, "webhooks[0].url");
        assert!(
            p.message.contains("地址") && p.message.contains("address"),
            "{}",
            p.message
        );
        assert!(
            err.message_zh().contains("webhook.address_refused"),
            "{}",
            err.message_zh()
        );
    }
    // A public address and a name pass (the name is checked when sending); an allowed private one too.
    for (url, allow) in [
        ("https://93.184.216.34/hook", false),
        ("https://wms.example.com/hook", false),
        ("http://10.0.0.1/hook", true),
    ] {
        let text = webhook_toml(url, allow);
        assert!(parse_config(&text).is_ok(), "{url}: {:?}", parse_config(&text).err());
    }
    // Metadata addresses stay refused even when the private network is allowed.
    let err = parse_config(&webhook_toml("http://169.254.169.254/latest", true)).unwrap_err();
    assert!(err.to_string().contains("webhook.address_refused"), "{err}");
}

#[test]
fn the_apply_command_names_the_code_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shoprelay.toml");
    std::fs::write(&file, webhook_toml("http://169.254.169.254/latest/meta-data", false)).unwrap();
    let out = bin()
        .current_dir(dir.path())
        .args(["apply", "--dry-run", "-f"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 4: webhooks[0].url") && stderr.contains("webhook.address_refused"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_when_sending() {
    let (port, reached) = receiver(200, None).await;
    let app = spawn_authorized_with_rules(webhook_toml(&format!("http://localhost:{port}/hook"), false)).await;
    app.create_order("READY_TO_SHIP").await;
    for _ in 0..3 {
        app.dispatch().await;
    }
    assert!(reached.lock().unwrap().is_empty(), "localhost was reached");
    let audit = webhook_audit(&app).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(
        audit[0].outcome,
        AuditOutcome::Held,
        "held for the admin, no attempt spent"
    );
    assert!(
        audit[0].detail.contains("webhook.address_refused") && audit[0].detail.contains("loopback"),
        "{}",
        audit[0].detail
    );
    // The admins hear about it.
    app.dispatch().await;
    assert!(
        app.markdowns().iter().any(|m| m.contains("webhook:wms")),
        "{:?}",
        app.markdowns()
    );
}

#[tokio::test]
async fn an_allowed_private_host_is_delivered_to() {
    let (port, reached) = receiver(200, None).await;
    let app = spawn_authorized_with_rules(webhook_toml(&format!("http://localhost:{port}/hook"), true)).await;
    app.create_order("READY_TO_SHIP").await;
    app.dispatch_until_settled().await;
    assert_eq!(reached.lock().unwrap().len(), 1);
    let audit = webhook_audit(&app).await;
    assert_eq!(audit[0].outcome, AuditOutcome::Delivered, "{audit:?}");
}
